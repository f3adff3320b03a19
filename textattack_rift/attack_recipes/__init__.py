"""Attack recipes over the shared threat model, and one way to build any recipe by name.

``build_attack(name, model_wrapper, threat_model=None, **options)`` builds a ``rift-`` recipe (see
``RECIPES``; ``rift-ga`` is an alias of ``rift-genetic``) or any stock TextAttack recipe (checked first
for resources that cannot be reached here; textfooler, alzantot and faster-alzantot get named offline
stand-ins, see ``stock_offline``). The Attack it returns carries ``rift_recipe``, ``rift_threat_model``
(None for a stock recipe, whose candidates are its own; the threat model when stand-ins supply them)
and ``rift_options`` (``stand_ins`` lists the stand-ins of a stock recipe, empty when stock).
"""

from __future__ import annotations

from textattack_rift.attack_recipes.context import (
    active_threat_model,
    recipe_options,
    set_active_threat_model,
    set_recipe_options,
)
from textattack_rift.attack_recipes.ascc import RiftASCC
from textattack_rift.attack_recipes.genetic import RiftGenetic
from textattack_rift.attack_recipes.pwws import RiftPWWS
from textattack_rift.attack_recipes.textfooler import RiftTextFooler
from textattack_rift.errors import RiftUserError

RECIPES = {cls.name: cls for cls in (RiftPWWS, RiftTextFooler, RiftGenetic, RiftASCC)}
ALIASES = {"rift-ga": "rift-genetic"}
RECIPES.update({alias: RECIPES[target] for alias, target in ALIASES.items() if target in RECIPES})

__all__ = [
    "RECIPES",
    "ALIASES",
    "build_attack",
    "install_into_textattack",
    "canonical_name",
    "set_active_threat_model",
    "active_threat_model",
    "set_recipe_options",
    "recipe_options",
]


def canonical_name(name: str) -> str:
    """``rift-ga`` -> ``rift-genetic``; other names unchanged."""
    return ALIASES.get(name, name)


def build_attack(name: str, model_wrapper, threat_model=None, **options):
    """Build the recipe ``name`` against ``model_wrapper``.

    ``threat_model`` None means the active one (``context.active_threat_model()``). Options of the
    ``rift-`` recipes: ``query_budget`` (all), ``lm``/``pop_size``/``max_iters``/``selection``/``seed`` (rift-genetic),
    ``encoder``/``similarity`` (rift-textfooler), ``max_candidates``/``steps``/``lr``/``entropy_weight``/``seed``
    (rift-ascc). A stock recipe
    takes only ``query_budget``.
    """
    if not isinstance(name, str) or not name.strip():
        raise RiftUserError("give an attack recipe name, e.g. rift-pwws")
    name = name.strip()
    recipe = RECIPES.get(name)
    if recipe is not None:
        return recipe.build(model_wrapper, threat_model=threat_model, **options)
    from textattack_rift.attack_recipes import stock

    if stock.stock_recipe_class(name) is None or name.startswith("rift-"):
        known = sorted(set(RECIPES) | _stock_names())
        raise RiftUserError(f"unknown attack recipe {name!r}; known: {', '.join(known)}")
    unknown = sorted(set(options) - {"query_budget"})
    if unknown:
        raise RiftUserError(f"stock recipe {name} takes no option {', '.join(unknown)} (only query_budget)")
    attack = stock.build_stock(name, model_wrapper, threat_model=threat_model)
    if options.get("query_budget") is not None:
        attack.goal_function.query_budget = int(options["query_budget"])
    attack.rift_recipe = name
    stand_ins = list(attack.rift_stand_ins)
    # stock candidates are the recipe's own; a stand-in's come from the threat model
    attack.rift_threat_model = getattr(attack, "rift_stand_in_threat_model", None) if stand_ins else None
    attack.rift_options = {"lm_filter": None, "query_budget": options.get("query_budget"), "stand_ins": stand_ins}
    return attack


def install_into_textattack() -> None:
    """Make the ``rift-`` recipes TextAttack recipe names (``--recipe``, ``list attack-recipes``,
    ``train --attack``) and put the offline preflight in front of the stock recipes (idempotent).

    TextAttack ``eval``s ``"textattack.attack_recipes.<Class>"``, so each class is set on that module too.
    """
    import textattack.attack_recipes as ta_recipes
    from textattack.attack_args import ATTACK_RECIPE_NAMES

    from textattack_rift.attack_recipes import stock

    for name, cls in RECIPES.items():
        setattr(ta_recipes, cls.__name__, cls)
        ATTACK_RECIPE_NAMES[name] = f"textattack.attack_recipes.{cls.__name__}"
    stock.install_preflight()


def _stock_names() -> set:
    from textattack.attack_args import ATTACK_RECIPE_NAMES

    return {n for n in ATTACK_RECIPE_NAMES if not n.startswith("rift-")}
