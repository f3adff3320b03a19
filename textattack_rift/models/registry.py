"""Named models: names that say how a model was made, mapped to trained model directories.

Default names are ``<method>-<base>-<dataset>``: ``rift-minilm-rotten_tomatoes``,
``ascc-minilm-rotten_tomatoes``, ``standard-minilm-rotten_tomatoes``, so models of different methods
trained on the same data never take each other's name.

- method: how the model was trained (``standard``, ``ascc``, ``rift``, ``rift-unconditional``), given
  to ``register_model`` or read from the model card the trainer writes; a model whose card names no
  method gets a name without a method part (``bert-rotten_tomatoes``).
- base: the base model's short alias (``minilm``), else the last part of its hub id, lowercased
  (``bert-base-uncased``), else the architecture (``config.model_type``, e.g. ``bert``).
- dataset: letters, digits, ``_`` and ``.`` kept, anything else becomes ``-`` (``glue^sst2`` ->
  ``glue-sst2``, ``stanfordnlp/imdb`` -> ``stanfordnlp-imdb``); a local data file gives its file
  name without the extension (``data/reviews.csv`` -> ``reviews``).

The alias ``rift-<architecture>`` follows the newest model trained by a RIFT method (``rift`` or
``rift-...``) of that architecture: ``rift-bert`` is a RIFT-trained BERT-architecture encoder (BERT, or
MiniLM, whose ``model_type`` is ``bert``), never a standard or ASCC model. A name given without its
method part (``minilm-rotten_tomatoes``) resolves when one method has it and is a one-line error naming
the candidates when several do. Registering a name that already exists replaces it and says so in one
line. Registering only records where a directory is; removing a name never deletes the directory.
The file itself (location, locking) is ``registry_store``'s.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

from textattack_rift.errors import ResourceMissing, RiftUserError
from textattack_rift.models import registry_store as store
from textattack_rift.resources.hub_models import MODEL_ALIASES, hub_id_for, short_alias
from textattack_rift.models.registry_store import FORMAT, REGISTRY_ENV, VERSION, registry_path  # noqa: F401

PREFIX = "rift-"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_LOCAL_DATA_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json")


def is_rift_method(method: str | None) -> bool:
    """``rift`` and its variants (``rift-unconditional``): the methods the ``rift-*`` aliases follow."""
    return bool(method) and (method == "rift" or str(method).startswith("rift-"))


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


def base_label(base_model: str | None, architecture: str) -> str:
    """The base part of a default name: ``minilm``, a hub id's last part, else the architecture."""
    if base_model:
        base = str(base_model)
        alias = short_alias(hub_id_for(base))
        if alias:
            return alias
        looks_like_hub_id = not os.path.isabs(base) and not base.startswith((".", "~")) and not os.path.exists(base)
        if looks_like_hub_id:
            return _sanitize(base.rsplit("/", 1)[-1].lower())
    return architecture


def default_model_name(
    model_dir_or_config, dataset_name: str | None, *, method: str | None = None, base_model: str | None = None
) -> str:
    """``<method>-<base>-<dataset>`` (``rift-minilm-rotten_tomatoes``); no method part when it is unknown."""
    stem = f"{base_label(base_model, architecture_of(model_dir_or_config))}-{dataset_label(dataset_name)}"
    return f"{_sanitize(method)}-{stem}" if method else stem


def alias_for(architecture: str) -> str:
    """The short name that follows the newest RIFT-trained model of an architecture (``rift-bert``)."""
    return f"{PREFIX}{architecture}"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise RiftUserError(
            f"model name {name!r} is not usable: use letters, digits, '.', '_' and '-' (e.g. rift-minilm-rotten_tomatoes)"
        )
    if name in MODEL_ALIASES:
        raise RiftUserError(f"model name {name!r} is a built-in alias; choose another name")
    return name


def _stem(name: str, method: str | None) -> str | None:
    """The name without its method part, when it has one."""
    if method and name.startswith(f"{method}-") and len(name) > len(method) + 1:
        return name[len(method) + 1:]
    return None


# -- reading the registry ------------------------------------------------------------------------
def known_names(data: dict | None = None) -> list[str]:
    data = store.load() if data is None else data
    return sorted({*data["models"], *data["aliases"]})


def _unknown(name: str, data: dict) -> RiftUserError:
    known = known_names(data)
    listed = ", ".join(known) if known else "none yet (train one with `textattack train --rift`, or register_model)"
    return RiftUserError(f"unknown model name {name!r}; registered models: {listed}")


def _find(name: str, data: dict) -> str | None:
    """The model name that ``name`` means: itself, an alias's target, or the one model registered
    under that name with a method prefix. Several methods under one such name is an error."""
    target = data["aliases"].get(name, name)
    if target in data["models"]:
        return target
    matches = sorted(n for n, entry in data["models"].items() if entry.get("stem") == name)
    if len(matches) > 1:
        raise RiftUserError(f"model name {name!r} exists for several methods: {', '.join(matches)}; give the full name")
    return matches[0] if matches else None


def _method(entry: Mapping) -> str | None:
    """An entry's method; entries written before methods were recorded ask the model card."""
    if "method" in entry:
        return entry["method"]
    from textattack_rift.models.card import card_facts

    return card_facts(entry.get("path", "")).get("method")


def _refresh_alias(data: dict, architecture: str) -> None:
    """Point ``rift-<architecture>`` at the newest RIFT-trained model of that architecture, or drop it."""
    alias = alias_for(architecture)
    if alias in data["models"]:
        return  # a model name beats an alias of the same spelling
    candidates = [
        (entry.get("created", ""), name)
        for name, entry in data["models"].items()
        if entry.get("architecture") == architecture and is_rift_method(_method(entry))
    ]
    if candidates:
        data["aliases"][alias] = max(candidates)[1]
    else:
        data["aliases"].pop(alias, None)


# -- public API ----------------------------------------------------------------------------------
def register_model(
    directory: str | os.PathLike,
    *,
    name: str | None = None,
    dataset: str | None = None,
    method: str | None = None,
    metadata: Mapping | None = None,
) -> list[str]:
    """Register ``directory`` as ``name`` (default ``default_model_name``; the method, base model and
    dataset not given are read from the model card). Returns the names now pointing at it: the name,
    then the ``rift-<architecture>`` alias when this is the newest RIFT-trained model of its architecture."""
    from textattack_rift.models.card import card_facts

    path = Path(directory).expanduser().resolve()
    if not (path / "config.json").is_file():
        raise ResourceMissing(f"cannot register {path}: it has no config.json (save the model there first)")
    architecture = architecture_of(path)
    facts = card_facts(path)
    method = method or (metadata or {}).get("method") or facts.get("method")
    dataset = dataset or facts.get("dataset")
    name = check_name(name or default_model_name(path, dataset, method=method, base_model=facts.get("base_model")))
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    entry = {
        "path": str(path),
        "architecture": architecture,
        "method": method,
        "stem": _stem(name, method),
        "dataset": dataset,
        "base_model": facts.get("base_model"),
        # transformers leaves id2label out of config.json for its default of 2 labels
        "num_labels": len(config.get("id2label") or {}) or config.get("num_labels") or 2,
        "created": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
        "threat_fingerprint": _threat_fingerprint(path),
    }
    for key, value in (metadata or {}).items():
        entry[str(key)] = value
    json.dumps(entry)  # metadata must be JSON: fail here, not with a half-updated registry
    with store.editing() as data:
        previous = data["models"].get(name)
        old_architecture = (previous or {}).get("architecture")
        data["aliases"].pop(name, None)  # a model name beats an alias of the same spelling
        data["models"][name] = entry
        for arch in {architecture, old_architecture} - {None}:
            _refresh_alias(data, arch)
        names = [name] + sorted(a for a, target in data["aliases"].items() if target == name)
    if previous is not None:
        was = "the same directory" if previous.get("path") == entry["path"] else previous.get("path")
        print(
            f"textattack-rift: model name {name} replaced: it was registered for {was} "
            f"({previous.get('method') or 'method unknown'}, {str(previous.get('created', ''))[:19]})",
            file=sys.stderr,
        )
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


def _threat_model_file(path: Path) -> dict | None:
    try:
        data = json.loads((path / "threat_model.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _threat_fingerprint(path: Path) -> str | None:
    return (_threat_model_file(path) or {}).get("fingerprint")


def is_registry_name(name: str | None) -> bool:
    """True for a registered name (with or without its method part) or any ``rift-*`` name (those
    always go through the registry)."""
    if not name:
        return False
    name = str(name)
    if name.startswith(PREFIX) and not os.path.isdir(name):
        return True
    data = store.load()
    if name in data["models"] or name in data["aliases"]:
        return True
    return any(entry.get("stem") == name for entry in data["models"].values())


def lookup(name: str) -> dict | None:
    """The entry for ``name`` (an alias or a name without its method gives its target's entry) with
    ``name``, or None."""
    data = store.load()
    target = _find(name, data)
    return None if target is None else {"name": target, **data["models"][target]}


def require(name: str) -> dict:
    """``lookup(name)``, or an error listing the registered names."""
    entry = lookup(name)
    if entry is None:
        raise _unknown(name, store.load())
    return entry


def resolve_registered(name: str) -> Path | None:
    """The directory registered as ``name``; None for a name that is not ours. An unregistered
    ``rift-*`` name (that is not a directory) is an error listing the known names."""
    name = str(name)
    data = store.load()
    target = _find(name, data)
    if target is None:
        if name.startswith(PREFIX) and not os.path.isdir(name):
            raise _unknown(name, data)
        return None
    path = Path(data["models"][target]["path"])
    if not (path / "config.json").is_file():
        raise ResourceMissing(
            f"model {name!r} is registered at {path}, which no longer holds a model; "
            f"`textattack-rift models remove {target}` forgets it"
        )
    return path


def list_models() -> list[dict]:
    """Every registered model, sorted by name: its entry plus ``name``, ``aliases`` (names pointing at
    it), ``exists`` (its directory still holds a model), ``method``, ``threat_model`` (the synonym
    set, constraints and fingerprint of its ``threat_model.json``, or None) and ``robustness`` (the
    evaluations its model card records, see ``card.robustness_results``)."""
    from textattack_rift.models.card import robustness_results

    data = store.load()
    out = []
    for name, entry in sorted(data["models"].items()):
        path = Path(entry["path"])
        aliases = sorted(a for a, target in data["aliases"].items() if target == name)
        exists = (path / "config.json").is_file()
        threat = _threat_model_file(path) if exists else None
        threat_summary = None
        if threat is not None:
            synonyms = threat.get("synonyms") or {}
            threat_summary = {
                "synonyms": synonyms.get("name"),
                "words": synonyms.get("size"),
                "max_word_ratio": threat.get("max_word_ratio"),
                "pos_check": threat.get("pos_check"),
                "fingerprint": threat.get("fingerprint"),
            }
        out.append({
            "name": name,
            **entry,
            "method": _method(entry),
            "aliases": aliases,
            "exists": exists,
            "threat_model": threat_summary,
            "robustness": robustness_results(path) if exists else [],
        })
    return out


def remove_model(name: str) -> list[str]:
    """Forget ``name`` (the directory stays). Removing an alias removes only the alias; removing a
    model moves its alias to the newest remaining RIFT-trained model of that architecture, or drops
    it. Returns the names that no longer resolve."""
    with store.editing() as data:
        if name in data["aliases"]:
            del data["aliases"][name]
            return [name]
        target = _find(name, data)
        if target is None:
            raise _unknown(name, data)
        entry = data["models"].pop(target)
        before = {a for a, t in data["aliases"].items() if t == target}
        if entry.get("architecture"):
            _refresh_alias(data, entry["architecture"])
        for alias in before:
            if data["aliases"].get(alias) == target:  # an alias of another architecture pointing here
                del data["aliases"][alias]
        return [target] + sorted(a for a in before if a not in data["aliases"])
