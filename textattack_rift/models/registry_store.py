"""The model registry's file: where it is, reading it, and changing it safely.

``<cache_root()>/models/registry.json`` (or ``$TEXTATTACK_RIFT_REGISTRY``) holds ``models`` (name ->
absolute directory + metadata) and ``aliases`` (short name -> model name). Every change is a
read-modify-write under an exclusive file lock, written to a temporary file and renamed, so two trainers
finishing at once neither lose an entry nor leave a half-written file.

This module knows only the file; what the names mean is ``registry``'s job. The model card reads it
(to title a card with its registered name) without importing the registry, which writes cards.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Iterator

from textattack_rift.errors import RiftUserError
from textattack_rift.resources import atomic
from textattack_rift.resources.paths import cache_root

FORMAT = "textattack-rift/model-registry"
VERSION = 1
REGISTRY_ENV = "TEXTATTACK_RIFT_REGISTRY"


def registry_path() -> Path:
    """``$TEXTATTACK_RIFT_REGISTRY`` (a file path: e.g. a registry shared by a team), else
    ``<cache root>/models/registry.json``."""
    explicit = os.environ.get(REGISTRY_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return cache_root() / "models" / "registry.json"


def empty() -> dict:
    return {"format": FORMAT, "version": VERSION, "models": {}, "aliases": {}}


def read(path: Path) -> dict:
    """The registry at ``path`` (empty when the file does not exist); a broken file is one-line error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise RiftUserError(
            f"model registry {path} is not valid JSON ({err.msg} at line {err.lineno}): fix it or delete it "
            "(it only records where models are)"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RiftUserError(f"{path} is not a textattack-rift model registry: fix it or delete it")
    data.setdefault("models", {})
    data.setdefault("aliases", {})
    return data


def load() -> dict:
    """The current registry (read fresh each call: other processes may have changed it)."""
    return read(registry_path())


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Exclusive lock on ``registry.json.lock`` (POSIX); elsewhere atomic renames alone protect the file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def editing() -> Iterator[dict]:
    """The registry under the lock; what the block leaves in the dict is written back atomically."""
    path = registry_path()
    with _locked(path):
        data = read(path)
        yield data
        atomic.write_json(path, data)


def names_for_directory(directory: str | os.PathLike) -> list[str]:
    """Model names (not aliases) registered for ``directory``, oldest first."""
    resolved = str(Path(directory).resolve())
    models = load()["models"]
    found = [(entry.get("created", ""), name) for name, entry in models.items() if entry.get("path") == resolved]
    return [name for _, name in sorted(found)]
