"""The threat model and recipe options that a recipe built without arguments uses.

TextAttack builds a recipe as ``Recipe.build(model_wrapper)`` with nothing else, so the threat model
given on the command line (``textattack attack --recipe rift-pwws --synonyms counterfitted``) has to
reach the recipe another way: the attack command sets it here before the recipe is built. A recipe
built with an explicit ``threat_model`` or option ignores what is set here.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Mapping

_threat_model = None
_options: dict = {}


def set_active_threat_model(threat_model) -> None:
    """Make ``threat_model`` (a ThreatModel, a synonym-set spec string, or None for the default) active."""
    global _threat_model
    if threat_model is not None and not hasattr(threat_model, "fingerprint"):
        from textattack_rift.threat.threat_model import ThreatModel

        threat_model = ThreatModel(threat_model)
    _threat_model = threat_model


def active_threat_model():
    """The active threat model; ``ThreatModel("wordnet")`` unless one was set (built once, then kept)."""
    global _threat_model
    if _threat_model is None:
        from textattack_rift.threat.threat_model import ThreatModel

        _threat_model = ThreatModel("wordnet")
    return _threat_model


def set_recipe_options(options: Mapping | None = None, **more) -> None:
    """Replace the active recipe options (e.g. ``lm="none"``); None values are dropped."""
    global _options
    merged = {**dict(options or {}), **more}
    _options = {k: v for k, v in merged.items() if v is not None}


def recipe_options() -> dict:
    """A copy of the active recipe options."""
    return dict(_options)


def reset() -> None:
    """Back to the defaults (the WordNet threat model, no options)."""
    global _threat_model, _options
    _threat_model, _options = None, {}


@contextlib.contextmanager
def active(threat_model=None, **options) -> Iterator[None]:
    """Temporarily set the active threat model and options (restored on exit)."""
    global _threat_model, _options
    saved = (_threat_model, _options)
    try:
        if threat_model is not None:
            set_active_threat_model(threat_model)
        if options:
            set_recipe_options({**_options, **options})
        yield
    finally:
        _threat_model, _options = saved
