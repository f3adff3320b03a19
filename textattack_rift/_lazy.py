"""Lazy public names for packages whose modules import heavy libraries (torch, TextAttack)."""

from __future__ import annotations

import importlib
import sys
from typing import Callable


def lazy_exports(package: str, table: dict[str, str]) -> tuple[Callable[[str], object], Callable[[], list]]:
    """``(__getattr__, __dir__)`` for ``package``: each name in ``table`` (name -> defining module) is
    imported on first access and then cached on the package."""

    def __getattr__(name: str):
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list:
        return sorted(getattr(sys.modules[package], "__all__", table))

    return __getattr__, __dir__
