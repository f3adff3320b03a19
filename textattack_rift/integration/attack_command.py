"""``textattack attack`` with the threat-model flags and ``rift-`` recipe options added.

The flags set the active threat model and recipe options (``attack_recipes.context``) before TextAttack
builds the recipe with ``Recipe.build(model_wrapper)``, so ``--recipe rift-pwws --synonyms counterfitted``
attacks under that threat model. Without ``--synonyms``, a model directory's own ``threat_model.json``
(written by training) is used, else the default WordNet set. A stock Hugging Face wrapper is swapped for
the batch-longest padding wrapper (same outputs, much faster); everything else is stock.
"""

from __future__ import annotations

import os
from argparse import ArgumentParser, Namespace

from textattack.commands.attack_command import AttackCommand

from textattack_rift.integration.threat_args import THREAT_DESTS, add_threat_model_arguments, threat_model_from_args

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
        help="rift-textfooler's similarity constraint: auto (USE when reachable, else MiniLM), minilm, use, none",
    )


def _model_threat_model(args: Namespace):
    """The ``threat_model.json`` saved beside the attacked model, if any."""
    name = getattr(args, "model", None) or getattr(args, "model_from_huggingface", None)
    if not name:
        return None
    try:
        from textattack_rift.models.names import resolve_model_name

        path = resolve_model_name(name)
    except Exception:  # not ours: TextAttack resolves (or rejects) it later
        return None
    if not os.path.isfile(os.path.join(str(path), "threat_model.json")):
        return None
    from textattack_rift.threat import ThreatModel

    return ThreatModel.load(path)


def apply_rift_arguments(args: Namespace) -> None:
    """Remove our flags from ``args`` (TextAttack's argument dataclass rejects unknown keys) and make
    them the active threat model and recipe options."""
    from textattack_rift.attack_recipes import context

    ours = {dest: getattr(args, dest, None) for dest in (*THREAT_DESTS, *RECIPE_OPTION_DESTS)}
    for dest in ours:
        if hasattr(args, dest):
            delattr(args, dest)
    threat_model = None
    if ours["synonyms"] is None and not ours["max_word_ratio"] and not ours["pos_check"]:
        threat_model = _model_threat_model(args)
    if threat_model is None:
        threat_model = threat_model_from_args(Namespace(**{d: ours[d] for d in THREAT_DESTS}))
    context.set_active_threat_model(threat_model)
    context.set_recipe_options({RECIPE_OPTION_DESTS[d]: ours[d] for d in RECIPE_OPTION_DESTS})


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

        apply_rift_arguments(args)
        attack_args = CommandLineAttackArgs(**vars(args))
        if attack_args.attack_recipe:
            preflight(attack_args.attack_recipe)  # before the dataset and model load: fail at once
        dataset = DatasetArgs._create_dataset_from_args(attack_args)
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
        parser.set_defaults(func=RiftAttackCommand(), synonyms=None)
