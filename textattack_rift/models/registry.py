"""Named models: a small registry in the user's cache that maps names to trained model directories.

``<cache_root()>/models/registry.json`` (or ``$TEXTATTACK_RIFT_REGISTRY``) holds ``models`` (name -> absolute directory + metadata) and
``aliases`` (``rift-<architecture>`` -> the model registered last with that architecture). Every change
is a read-modify-write under an exclusive file lock, written to a temporary file and renamed, so two
trainers finishing at once neither lose an entry nor leave a half-written file.

Names: ``rift-<architecture>-<dataset>`` by default (``rift-bert-rotten_tomatoes``; the MiniLM encoder's
``model_type`` is ``bert``). The dataset part keeps letters, digits, ``_`` and ``.``; anything else
becomes ``-`` (``glue^sst2`` -> ``glue-sst2``, ``stanfordnlp/imdb`` -> ``stanfordnlp-imdb``), and a
local data file contributes its file name without the extension (``data/reviews.csv`` -> ``reviews``).
Registering only records where a directory is; removing a name never deletes the directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Mapping

from textattack_rift.errors import ResourceMissing, RiftUserError
from textattack_rift.resources import atomic
from textattack_rift.resources.paths import cache_root

FORMAT = "textattack-rift/model-registry"
VERSION = 1
PREFIX = "rift-"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_LOCAL_DATA_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json")


REGISTRY_ENV = "TEXTATTACK_RIFT_REGISTRY"


def registry_path() -> Path:
    """``$TEXTATTACK_RIFT_REGISTRY`` (a file path: e.g. a registry shared by a team), else
    ``<cache root>/models/registry.json``."""
    explicit = os.environ.get(REGISTRY_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return cache_root() / "models" / "registry.json"


# -- names ---------------------------------------------------------------------------------------
def _sanitize(part: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.]+", "-", part.strip()).strip("-.")
    return cleaned or "data"


def dataset_label(dataset_name: str | None) -> str:
    """The dataset part of a default name (documented in the module docstring)."""
    if not dataset_name or not str(dataset_name).strip():
        return "custom"
    name = str(dataset_name).strip()
    if name.lower().endswith(_LOCAL_DATA_SUFFIXES) or os.path.isfile(name):
        name = Path(name).stem
    return _sanitize(name)


def architecture_of(model_dir_or_config) -> str:
    """``config.model_type`` of a model directory, a config object or a config dict."""
    config = model_dir_or_config
    if isinstance(config, (str, os.PathLike)):
        path = Path(config)
        file = path / "config.json" if path.is_dir() else path
        try:
            config = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise RiftUserError(f"cannot read the model config at {file}: {err}") from None
    model_type = config.get("model_type") if isinstance(config, Mapping) else getattr(config, "model_type", None)
    if not model_type:
        raise RiftUserError(f"model config {model_dir_or_config!r} has no model_type: is it a transformers model?")
    return _sanitize(str(model_type).lower())


def default_model_name(model_dir_or_config, dataset_name: str | None) -> str:
    """``rift-<architecture>-<dataset>``, e.g. ``rift-bert-rotten_tomatoes``."""
    return f"{PREFIX}{architecture_of(model_dir_or_config)}-{dataset_label(dataset_name)}"


def alias_for(architecture: str) -> str:
    """The short name that follows the latest model of an architecture (``rift-bert``)."""
    return f"{PREFIX}{architecture}"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise RiftUserError(
            f"model name {name!r} is not usable: use letters, digits, '.', '_' and '-' (e.g. rift-bert-rotten_tomatoes)"
        )
    from textattack_rift.models.names import MODEL_ALIASES

    if name in MODEL_ALIASES:
        raise RiftUserError(f"model name {name!r} is a built-in alias; choose another name")
    return name


# -- the file ------------------------------------------------------------------------------------
def _empty() -> dict:
    return {"format": FORMAT, "version": VERSION, "models": {}, "aliases": {}}


def _read(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _empty()
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
def _editing() -> Iterator[dict]:
    path = registry_path()
    with _locked(path):
        data = _read(path)
        yield data
        atomic.write_json(path, data)


def _load() -> dict:
    return _read(registry_path())


def known_names(data: dict | None = None) -> list[str]:
    data = _load() if data is None else data
    return sorted({*data["models"], *data["aliases"]})


def _unknown(name: str, data: dict) -> RiftUserError:
    known = known_names(data)
    listed = ", ".join(known) if known else "none yet (train one with `textattack train --rift`, or register_model)"
    return RiftUserError(f"unknown model name {name!r}; registered models: {listed}")


# -- public API ----------------------------------------------------------------------------------
def register_model(
    directory: str | os.PathLike,
    *,
    name: str | None = None,
    dataset: str | None = None,
    metadata: Mapping | None = None,
) -> list[str]:
    """Register ``directory`` as ``name`` (default ``default_model_name``) and point the alias
    ``rift-<architecture>`` at it. Returns the names registered (the name, then the alias)."""
    path = Path(directory).expanduser().resolve()
    if not (path / "config.json").is_file():
        raise ResourceMissing(f"cannot register {path}: it has no config.json (save the model there first)")
    architecture = architecture_of(path)
    name = check_name(name or default_model_name(path, dataset))
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    entry = {
        "path": str(path),
        "architecture": architecture,
        "dataset": dataset,
        # transformers leaves id2label out of config.json for its default of 2 labels
        "num_labels": len(config.get("id2label") or {}) or config.get("num_labels") or 2,
        "created": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
        "threat_fingerprint": _threat_fingerprint(path),
    }
    for key, value in (metadata or {}).items():
        entry[str(key)] = value
    json.dumps(entry)  # metadata must be JSON: fail here, not with a half-updated registry
    alias = alias_for(architecture)
    names = [name]
    with _editing() as data:
        data["aliases"].pop(name, None)  # a model name beats an alias of the same spelling
        data["models"][name] = entry
        if alias != name and alias not in data["models"]:
            data["aliases"][alias] = name
            names.append(alias)
    _retitle_card(path, name)
    return names


def _retitle_card(path: Path, name: str) -> None:
    """A card written before registering (the trainer writes it first) gets the name in its title."""
    card = path / "README.md"
    try:
        if card.is_file() and "<!-- textattack-rift:header -->" in card.read_text(encoding="utf-8"):
            from textattack_rift.models.card import write_model_card

            write_model_card(path, name=name)
    except OSError:
        pass  # a read-only card keeps its old title; the registry entry is what matters


def _threat_fingerprint(path: Path) -> str | None:
    file = path / "threat_model.json"
    try:
        return json.loads(file.read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, json.JSONDecodeError, AttributeError):
        return None


def is_registry_name(name: str | None) -> bool:
    """True for a registered name or any ``rift-*`` name (those always go through the registry)."""
    if not name:
        return False
    name = str(name)
    if name.startswith(PREFIX) and not os.path.isdir(name):
        return True
    data = _load()
    return name in data["models"] or name in data["aliases"]


def lookup(name: str) -> dict | None:
    """The entry for ``name`` (an alias gives its target's entry) with ``name``, or None."""
    data = _load()
    target = data["aliases"].get(name, name)
    entry = data["models"].get(target)
    return None if entry is None else {"name": target, **entry}


def require(name: str) -> dict:
    """``lookup(name)``, or an error listing the registered names."""
    entry = lookup(name)
    if entry is None:
        raise _unknown(name, _load())
    return entry


def resolve_registered(name: str) -> Path | None:
    """The directory registered as ``name``; None for a name that is not ours. An unregistered
    ``rift-*`` name (that is not a directory) is an error listing the known names."""
    name = str(name)
    data = _load()
    target = data["aliases"].get(name, name)
    entry = data["models"].get(target)
    if entry is None:
        if name.startswith(PREFIX) and not os.path.isdir(name):
            raise _unknown(name, data)
        return None
    path = Path(entry["path"])
    if not (path / "config.json").is_file():
        raise ResourceMissing(
            f"model {name!r} is registered at {path}, which no longer holds a model; "
            f"`textattack-rift models remove {name}` forgets it"
        )
    return path


def list_models() -> list[dict]:
    """Every registered model: its entry plus ``name``, ``aliases`` (names pointing at it) and
    ``exists`` (whether its directory still holds a model), sorted by name."""
    data = _load()
    out = []
    for name, entry in sorted(data["models"].items()):
        aliases = sorted(a for a, target in data["aliases"].items() if target == name)
        exists = (Path(entry["path"]) / "config.json").is_file()
        out.append({"name": name, **entry, "aliases": aliases, "exists": exists})
    return out


def remove_model(name: str) -> list[str]:
    """Forget ``name`` (the directory stays). Removing an alias removes only the alias; removing a
    model moves its aliases to the newest remaining model of that architecture, or drops them.
    Returns the names that no longer resolve."""
    with _editing() as data:
        if name in data["aliases"]:
            del data["aliases"][name]
            return [name]
        if name not in data["models"]:
            raise _unknown(name, data)
        entry = data["models"].pop(name)
        gone = [name]
        for alias, target in list(data["aliases"].items()):
            if target != name:
                continue
            same = [(e.get("created", ""), n) for n, e in data["models"].items() if e.get("architecture") == entry.get("architecture")]
            if same:
                data["aliases"][alias] = max(same)[1]
            else:
                del data["aliases"][alias]
                gone.append(alias)
        return gone
