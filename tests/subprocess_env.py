"""The environment of a literal command run offline from a test (imported by test modules)."""

from __future__ import annotations

import os


def offline_env(**extra) -> dict:
    """This process's environment with every offline switch on, plus ``extra``; a stock-strict setting
    of the caller's shell is dropped (tests say what they want)."""
    env = dict(os.environ)
    env.update(TEXTATTACK_RIFT_OFFLINE="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.pop("TEXTATTACK_RIFT_STOCK_STRICT", None)
    env.update(extra)
    return env
