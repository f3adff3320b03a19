"""An NLTK data directory that works offline: our stop-word list and, where Debian's WordNet is
installed, a copy of WordNet 3.0 with the ``lexnames`` file NLTK needs.

TextAttack calls ``nltk.download`` at import and then needs ``corpora/stopwords/english``; offline the
downloads fail, so the directory must be on NLTK's path before ``import textattack``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from textattack_rift.resources import atomic, paths
from textattack_rift.resources.stopwords import english_stopwords

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


def ensure_stopwords(root: Path | None = None) -> Path:
    target = stopwords_path(root)
    if not target.is_file():
        atomic.write_text(target, "\n".join(english_stopwords()) + "\n")
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


def bootstrap(root: Path | None = None) -> Path:
    """Idempotent: build what is missing (cheap after the first call) and put it on NLTK's path."""
    root = root or paths.nltk_data_dir()
    try:
        ensure_stopwords(root)
        ensure_wordnet(root)
    except OSError as err:  # a read-only home must not break imports; doctor reports it
        print(f"textattack-rift: could not prepare NLTK data in {root}: {err}", file=sys.stderr)
    put_on_nltk_path(root)
    return root
