"""What every ``rift-`` recipe shares: the threat model, checked options, and the labels on the Attack.

A recipe is a composition of TextAttack parts (goal function, search method) with the threat model's
transformation and constraints plus, for some recipes, a sentence encoder or a language model. The
returned ``textattack.Attack`` carries ``rift_recipe`` (canonical name), ``rift_threat_model`` (its
``.fingerprint`` goes into results) and ``rift_options`` (the options in effect, ``lm_filter`` among them).
"""

from __future__ import annotations

from typing import Callable, ClassVar, Mapping

from textattack import Attack
from textattack.attack_recipes import AttackRecipe
from textattack.goal_functions import UntargetedClassification

from textattack_rift.attack_recipes import context
from textattack_rift.errors import RiftUserError


def positive_int(name: str) -> Callable:
    def parse(value):
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise RiftUserError(f"recipe option {name} must be a positive integer, got {value!r}") from None
        if number < 1 or (isinstance(value, float) and value != number):
            raise RiftUserError(f"recipe option {name} must be a positive integer, got {value!r}")
        return number

    return parse


def optional_positive_int(name: str) -> Callable:
    strict = positive_int(name)

    def parse(value):
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "inf")):
            return None
        return strict(value)

    return parse


def positive_float(name: str) -> Callable:
    def parse(value):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise RiftUserError(f"recipe option {name} must be a positive number, got {value!r}") from None
        if not number > 0:
            raise RiftUserError(f"recipe option {name} must be a positive number, got {value!r}")
        return number

    return parse


def non_negative_float(name: str) -> Callable:
    def parse(value):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise RiftUserError(f"recipe option {name} must be a number >= 0, got {value!r}") from None
        if not number >= 0:
            raise RiftUserError(f"recipe option {name} must be a number >= 0, got {value!r}")
        return number

    return parse


def text(name: str) -> Callable:
    def parse(value):
        if not isinstance(value, str) or not value.strip():
            raise RiftUserError(f"recipe option {name} must be a non-empty string, got {value!r}")
        return value.strip()

    return parse


def resolve_threat_model(threat_model):
    """A ThreatModel from ``threat_model`` (a ThreatModel, a synonym-set spec, or None: the active one)."""
    if threat_model is None:
        return context.active_threat_model()
    from textattack_rift.threat.threat_model import ThreatModel

    if isinstance(threat_model, ThreatModel):
        return threat_model
    if isinstance(threat_model, str):
        return ThreatModel(threat_model)
    raise RiftUserError(f"threat_model must be a ThreatModel or a synonym-set name, got {type(threat_model).__name__}")


class RiftRecipe(AttackRecipe):
    """Base of the ``rift-`` recipes. Subclasses set ``name``, ``OPTIONS`` and ``compose``."""

    name: ClassVar[str] = ""
    # option -> (default, parser); ``query_budget`` is added for every recipe
    OPTIONS: ClassVar[dict] = {}

    @classmethod
    def option_table(cls) -> dict:
        return {"query_budget": (None, optional_positive_int("query_budget")), **cls.OPTIONS}

    @classmethod
    def resolve_options(cls, explicit: Mapping) -> dict:
        """Defaults, then the active options this recipe knows, then ``explicit`` (unknown ones are errors)."""
        table = cls.option_table()
        unknown = sorted(set(explicit) - set(table))
        if unknown:
            raise RiftUserError(
                f"recipe {cls.name} has no option {', '.join(unknown)}; its options: {', '.join(sorted(table))}"
            )
        chosen = {k: v for k, v in context.recipe_options().items() if k in table}
        chosen.update({k: v for k, v in explicit.items() if v is not None})
        return {k: (parse(chosen[k]) if k in chosen else default) for k, (default, parse) in table.items()}

    @classmethod
    def check_resources(cls, explicit: Mapping | None = None) -> None:
        """Fail at once, loading nothing, when the recipe with these options (resolved as ``build``
        resolves them) needs something missing here: for callers that load a model and data first
        (``evaluate``, ``run``), so that the error comes before that work. Default: nothing to check."""
        cls.resolve_options(dict(explicit or {}))

    @classmethod
    def build(cls, model_wrapper, threat_model=None, **options) -> Attack:
        threat_model = resolve_threat_model(threat_model)
        resolved = cls.resolve_options(options)
        attack, record = cls.compose(model_wrapper, threat_model, resolved)
        if resolved["query_budget"] is not None:
            attack.goal_function.query_budget = resolved["query_budget"]
        return label_attack(attack, cls.name, threat_model, {"lm_filter": None, **resolved, **record})

    @classmethod
    def compose(cls, model_wrapper, threat_model, options: dict) -> tuple[Attack, dict]:
        """Return the Attack and extra entries for ``rift_options`` (e.g. ``lm_filter``)."""
        raise NotImplementedError

    @staticmethod
    def goal_function(model_wrapper):
        return UntargetedClassification(model_wrapper)


def label_attack(attack: Attack, recipe: str, threat_model, options: dict) -> Attack:
    attack.rift_recipe = recipe
    attack.rift_threat_model = threat_model
    attack.rift_options = dict(options)
    return attack
