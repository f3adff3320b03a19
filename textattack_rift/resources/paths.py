"""Where textattack-rift keeps what it builds or downloads (one cache root, overridable)."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "TEXTATTACK_RIFT_HOME"


def cache_root() -> Path:
    """``$TEXTATTACK_RIFT_HOME``, else ``$XDG_CACHE_HOME/textattack_rift``, else ``~/.cache/textattack_rift``."""
    explicit = os.environ.get(HOME_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "textattack_rift"


def nltk_data_dir() -> Path:
    return cache_root() / "nltk_data"


def datasets_dir() -> Path:
    return cache_root() / "datasets"


def downloads_dir() -> Path:
    return cache_root() / "downloads"
