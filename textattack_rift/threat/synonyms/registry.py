"""Synonym sets by spec (``counterfitted``, ``wordnet`` or a path), loaded once per process."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from textattack_rift.errors import RiftUserError
from textattack_rift.threat.synonyms import counterfitted, wordnet
from textattack_rift.threat.synonyms.base import SynonymSet
from textattack_rift.threat.synonyms.table import load_table

NAMED = (counterfitted.NAME, wordnet.NAME)

_LOADED: dict[tuple, SynonymSet] = {}
_LOCK = threading.Lock()


def _freeze(settings: dict) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in settings.items()))


def build_synonym_set(spec: str | os.PathLike | SynonymSet = wordnet.NAME, **settings) -> SynonymSet:
    """``counterfitted`` | ``wordnet`` | a path to a JSON table. Settings go to that set's loader.

    Sets are kept for the life of the process (a table is tens of MB of Python objects), keyed by spec,
    settings and, for files, their modification time and size.
    """
    if isinstance(spec, SynonymSet):
        return spec
    text = str(spec).strip() if spec is not None else ""
    if not text:
        raise RiftUserError("empty synonym set name: use counterfitted, wordnet or a path to a JSON table")
    name = text.lower()
    if name in NAMED:
        key = (name, _freeze(settings))
        loader = counterfitted.load if name == counterfitted.NAME else wordnet.load
        label = name
    else:
        path = Path(text).expanduser()
        if settings:
            raise RiftUserError(f"synonym table {path} takes no settings (got {sorted(settings)})")
        stat = path.stat() if path.is_file() else None
        key = ("path", str(path.resolve()), stat and (stat.st_mtime_ns, stat.st_size))
        loader = lambda: load_table(path)  # noqa: E731
        label = None
    with _LOCK:
        found = _LOADED.get(key)
        if found is None:
            found = loader(**settings) if label else loader()
            _LOADED[key] = found
    return found


def clear_cache() -> None:
    with _LOCK:
        _LOADED.clear()


def describe_synonym_sets() -> list[dict]:
    """For ``doctor``, one dict per named set: name, available, size (None when unknown without a long
    build or a download), where, and reason (why it is not usable or not sized). Never downloads or builds."""
    return [counterfitted.describe(), wordnet.describe()]
