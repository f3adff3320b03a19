"""``textattack train --rift``: the RIFT flags of TextAttack's train command and what they run.

Every ``RiftArgs`` field is a ``--rift-<field>`` flag (generated, so the dataclass stays the one
definition); ``--rift-method`` picks the compared method's preset and the other flags override it.
Without ``--rift`` the stock TextAttack trainer runs unchanged.
"""

from __future__ import annotations

import argparse
import dataclasses
from argparse import Namespace

from textattack_rift.errors import RiftUserError
from textattack_rift.integration.threat_args import THREAT_DESTS, add_threat_model_arguments, threat_model_from_args
from textattack_rift.training.args import ADV_INITS, PRESETS, SELECT_BY, RiftArgs

_CHOICES = {"select_by": SELECT_BY, "adv_init": ADV_INITS}
_OWN = ("rift", "rift_method", "rift_max_steps", "rift_eval_steps", "rift_max_candidates", "rift_bf16",
        "rift_name", "rift_no_register", "resume")


def _field_dest(name: str) -> str:
    return "rift_" + name


def _field_dests() -> tuple[str, ...]:
    return tuple(_field_dest(f.name) for f in dataclasses.fields(RiftArgs))


def add_arguments(group) -> None:
    group.add_argument("--rift", action="store_true", help="train with RIFT (textattack-rift's loop) instead of the stock trainer")
    group.add_argument(
        "--rift-method", choices=tuple(PRESETS), default="rift",
        help="preset of a compared method: standard (CE only), ascc (gamma 0), rift, rift-unconditional",
    )
    defaults = RiftArgs()
    for f in dataclasses.fields(RiftArgs):
        flag = "--rift-" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        kwargs = {"dest": _field_dest(f.name), "default": None, "help": f"RiftArgs.{f.name} (default {default!r})"}
        if isinstance(default, bool):
            group.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
        elif f.name in _CHOICES:
            group.add_argument(flag, choices=_CHOICES[f.name], **kwargs)
        elif isinstance(default, (int, float)):
            group.add_argument(flag, type=type(default), **kwargs)
        else:
            group.add_argument(flag, type=str, **kwargs)
    group.add_argument("--rift-max-steps", type=int, default=None, help="stop after this many optimizer steps")
    group.add_argument("--rift-eval-steps", type=int, default=None, help="also select the best model every N steps")
    group.add_argument("--rift-max-candidates", type=int, default=9, help="K: candidate slots per word, the word included")
    group.add_argument("--rift-bf16", choices=("auto", "on", "off"), default="auto", help="bf16 autocast on CUDA")
    group.add_argument("--rift-name", default=None, help="name in the local model registry (default rift-<arch>-<dataset>)")
    group.add_argument("--rift-no-register", action="store_true", help="do not add the trained model to the registry")
    group.add_argument("--resume", default=None, metavar="DIR", help="continue the --rift run in DIR from its last checkpoint")
    add_threat_model_arguments(group)


DESTS = (*_OWN, *_field_dests(), *THREAT_DESTS)


def rift_args_from(extra: dict) -> RiftArgs:
    overrides = {f.name: extra[_field_dest(f.name)] for f in dataclasses.fields(RiftArgs) if extra.get(_field_dest(f.name)) is not None}
    try:
        return RiftArgs.preset(extra.get("rift_method") or "rift", **overrides)
    except ValueError as err:
        raise RiftUserError(str(err)) from err


def run(args: Namespace, extra: dict) -> bool:
    """Run the RIFT trainer when ``--rift`` is given; return False to let the stock trainer run."""
    if not extra.get("rift"):
        used = [d for d in (*_field_dests(), "resume", "rift_max_steps", "rift_eval_steps", "rift_name") if extra.get(d) is not None]
        if used:
            raise RiftUserError(f"--{used[0].replace('_', '-')} needs --rift (the stock trainer has no such option)")
        if extra.get("synonyms") not in (None, "wordnet") or extra.get("max_word_ratio") is not None:
            raise RiftUserError("--synonyms/--max-word-ratio need --rift (for --attack, pick the threat model in the recipe)")
        return False
    from textattack.training_args import CommandLineTrainingArgs

    from textattack_rift.training.trainer import RiftTrainer

    rift_args = rift_args_from(extra)
    if extra.get("resume"):
        args.output_dir = extra["resume"]
    threat_model = threat_model_from_args(Namespace(**{d: extra.get(d) for d in THREAT_DESTS}))
    training_args = CommandLineTrainingArgs(**vars(args))
    model_wrapper = CommandLineTrainingArgs._create_model_from_args(training_args)
    try:
        train_dataset, eval_dataset = CommandLineTrainingArgs._create_dataset_from_args(training_args)
    except AssertionError as err:  # TextAttack checks label counts with assert
        raise RiftUserError(" ".join(str(err).split())) from err
    bf16 = {"auto": None, "on": True, "off": False}[extra.get("rift_bf16") or "auto"]
    register = False if extra.get("rift_no_register") else extra.get("rift_name")
    trainer = RiftTrainer(
        model_wrapper,
        training_args.task_type,
        None if training_args.attack is None else _refuse_attack(training_args.attack),
        train_dataset,
        eval_dataset,
        training_args,
        rift_args=rift_args,
        threat_model=threat_model,
        max_steps=extra.get("rift_max_steps"),
        eval_interval_steps=extra.get("rift_eval_steps"),
        resume=bool(extra.get("resume")),
        bf16=bf16,
        base_model_name=args.model_name_or_path,
        max_candidates=extra.get("rift_max_candidates") or 9,
        register_name=register,
        run_description={
            "dataset": training_args.dataset,
            "train_split": training_args.dataset_train_split,
            "eval_split": training_args.dataset_eval_split,
        },
    )
    trainer.train()
    return True


def _refuse_attack(name: str):
    raise RiftUserError(
        f"--attack {name} with --rift: RIFT trains against its embedding-space adversary; run TextAttack's "
        "discrete adversarial training as its own baseline, without --rift"
    )


def install() -> None:
    from textattack_rift.integration.train_command import add_train_extension

    add_train_extension(add_arguments, DESTS, run)
