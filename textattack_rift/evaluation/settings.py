"""The settings an attack actually ran with, read from the built ``Attack``: part of every record and
of the evaluation's identity.

Explicit options are not enough to tell two runs apart: ``encoder=auto`` resolves to whatever encoder
the machine can load, a threshold left at its default takes the calibrated constant of the installed
version, the LM named ``smollm2`` is whatever file is installed, and an upgrade of TextAttack,
transformers or torch can change a search or a model's numbers. So the settings are read from the
built attack: the recipe's resolved options (``rift_options``: encoder and threshold, LM, budgets),
every component's own settings as TextAttack describes them (``extra_repr_keys``: the search method's
population and iterations, each constraint's threshold and window, the goal function's budget), the
language model's identity (a digest of its files) and the versions of the packages that change
results. Resuming, adding records to a folder whose records were made with other settings is refused
(``differences`` names the keys).
"""

from __future__ import annotations

import json
import math
from typing import Mapping

# packages whose version can change an attack's outcome
RESULT_PACKAGES = ("textattack", "transformers", "torch", "tokenizers", "textattack-rift")


def package_versions() -> dict:
    from importlib import metadata

    out = {}
    for name in RESULT_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _plain(value):
    """A JSON value that is the same in every run for the same setting (never an object's address)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    try:  # numpy / torch scalars
        return _plain(value.item())
    except (AttributeError, TypeError, ValueError):
        pass
    return type(value).__module__ + "." + type(value).__qualname__


def describe(component) -> dict:
    """``{"class": ..., <each extra_repr_key>: value}`` of a TextAttack component."""
    out = {"class": type(component).__module__ + "." + type(component).__qualname__}
    try:
        keys = list(component.extra_repr_keys())
    except Exception:  # noqa: BLE001  (a component that cannot describe itself is named only)
        keys = []
    for key in keys:
        if isinstance(key, str) and hasattr(component, key):
            out[key] = _plain(getattr(component, key))
    return out


def attack_settings(name: str, attack) -> dict:
    """Everything ``attack`` (built as ``name``) runs with; JSON."""
    settings = {
        "recipe": name,
        "options": _plain(getattr(attack, "rift_options", None) or {}),
        "goal_function": describe(attack.goal_function),
        "search_method": describe(attack.search_method),
        "transformation": describe(attack.transformation),
        "constraints": [describe(c) for c in (*attack.pre_transformation_constraints, *attack.constraints)],
        "packages": package_versions(),
    }
    for constraint in attack.constraints:
        identity = getattr(constraint, "language_model_identity", None)
        if callable(identity):  # the LM filter: its files' digest, not only its name
            settings["language_model"] = _plain(identity())
    return settings


def flatten(settings: Mapping, prefix: str = "") -> dict:
    """``{"options.similarity": 0.86, "packages.torch": "2.3.0", "constraints.2.threshold": ...}``."""
    out = {}
    for key, value in settings.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, dotted + "."))
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            out[dotted + ".count"] = len(value)
            for i, item in enumerate(value):
                out.update(flatten(item, f"{dotted}.{i}."))
        else:
            out[dotted] = value
    return out


def differences(old: Mapping, new: Mapping) -> list[tuple[str, object, object]]:
    """``(key, old value, new value)`` for every flattened key whose values differ (missing: None)."""
    a, b = flatten(old), flatten(new)
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def _show(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def describe_differences(diffs, limit: int = 4) -> str:
    """``options.sentence_encoder (minilm, now use), packages.torch (2.2.0, now 2.3.0)``."""
    shown = ", ".join(f"{k} ({_show(a)}, now {_show(b)})" for k, a, b in diffs[:limit])
    more = len(diffs) - limit
    return shown + (f" and {more} more" if more > 0 else "")
