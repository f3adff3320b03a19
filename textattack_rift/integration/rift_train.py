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
from textattack_rift.training.schedule import LR_SCHEDULES
from textattack_rift.integration.threat_args import THREAT_DESTS, add_threat_model_arguments, threat_model_from_args
from textattack_rift.training.args import (
    ADV_INITS, ADVERSARIES, FEATURES, FREELB_NORMS, MI_ANCHORS, PRESETS, SELECT_BY, RiftArgs,
)

_CHOICES = {"select_by": SELECT_BY, "adv_init": ADV_INITS, "mi_anchor": MI_ANCHORS, "adversary": ADVERSARIES,
            "freelb_norm": FREELB_NORMS, "feature": FEATURES}
_OWN = ("rift", "rift_method", "rift_max_steps", "rift_eval_steps", "rift_max_candidates", "rift_bf16",
        "rift_name", "rift_no_register", "resume", "rift_lr_schedule")
# --num-warmup-steps on the --rift path when not given: the recipes' ratio, not TextAttack's 500 steps
# (a run of 500 steps or fewer would warm up for its whole length and never decay).
RIFT_WARMUP = 0.1


def _field_dest(name: str) -> str:
    return "rift_" + name


def _field_dests() -> tuple[str, ...]:
    return tuple(_field_dest(f.name) for f in dataclasses.fields(RiftArgs))


def add_arguments(group) -> None:
    group.add_argument("--rift", action="store_true", help="train with RIFT (textattack-rift's loop) instead of the stock trainer")
    group.add_argument(
        "--rift-method", choices=tuple(PRESETS), default="rift",
        help="preset of a compared method: standard (CE only), ascc (gamma 0), rift, rift-unconditional, "
        "freelb (FreeLB++: CE under a K-step embedding perturbation, --rift-freelb-*)",
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
    group.add_argument("--rift-bf16", choices=("auto", "on", "off"), default="auto", help="bf16 autocast: auto = on CUDA when supported, off on a CPU; on = also on a CPU")
    group.add_argument(
        "--rift-lr-schedule", choices=LR_SCHEDULES, default="linear",
        help="linear: warm up, then decay to 0 (TextAttack's); constant: warm up, then stay (the released script's)",
    )
    group.add_argument("--rift-name", default=None, help="name in the local model registry (default <method>-<base>-<dataset>)")
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
        if extra.get("rift_lr_schedule") not in (None, "linear"):
            used.append("rift_lr_schedule")
        if used:
            raise RiftUserError(f"--{used[0].replace('_', '-')} needs --rift (the stock trainer has no such option)")
        if extra.get("synonyms") not in (None, "wordnet") or extra.get("max_word_ratio") is not None:
            raise RiftUserError("--synonyms/--max-word-ratio need --rift (for --attack, pick the threat model in the recipe)")
        return False
    from textattack.training_args import CommandLineTrainingArgs

    from textattack_rift.integration.model_argument import check_model_argument
    from textattack_rift.training.reproducibility import seed_everything
    from textattack_rift.training.trainer import RiftTrainer

    rift_args = rift_args_from(extra)
    if extra.get("resume"):
        args.output_dir = extra["resume"]
    if args.num_warmup_steps is None:
        args.num_warmup_steps = RIFT_WARMUP
    threat_model = threat_model_from_args(Namespace(**{d: extra.get(d) for d in THREAT_DESTS}))
    training_args = CommandLineTrainingArgs(**vars(args))
    if training_args.dataset and not training_args.dataset_from_file and not training_args.dataset_eval_split:
        training_args.dataset_eval_split = _validation_split(training_args.dataset)
    # A base encoder without a head gets a new one drawn here: seed first, from the training seed.
    check_model_argument(training_args.model_name_or_path)
    seed_everything(training_args.random_seed)
    model_wrapper = CommandLineTrainingArgs._create_model_from_args(training_args)
    try:
        train_dataset, eval_dataset = CommandLineTrainingArgs._create_dataset_from_args(training_args)
    except AssertionError as err:  # TextAttack checks label counts with assert
        raise RiftUserError(" ".join(str(err).split())) from err
    except KeyError as err:  # TextAttack reports a missing split as a KeyError chain
        if isinstance(err, RiftUserError):
            raise
        raise RiftUserError(" ".join(str(err).strip("'\"").split())) from None
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
        lr_schedule=extra.get("rift_lr_schedule") or "linear",
        register_name=register,
        run_description={
            "dataset": training_args.dataset,
            "train_split": training_args.dataset_train_split,
            "eval_split": training_args.dataset_eval_split,
        },
    )
    trainer.train()
    return True


# Model selection reads one of these when --dataset-eval-split is not given; never the test split,
# which TextAttack's own probe falls back to (selecting on test is a fault of the released script).
VALIDATION_SPLITS = ("validation", "dev", "eval")


def _validation_split(dataset: str) -> str:
    from textattack_rift.data import load_dataset
    from textattack_rift.data.splits import UnknownSplit

    for split in VALIDATION_SPLITS:
        try:
            load_dataset(dataset, split=split)
        except UnknownSplit:
            continue
        return split
    raise RiftUserError(
        f"--rift selects the best model on a validation split, and dataset {dataset} has none "
        f"(tried {', '.join(VALIDATION_SPLITS)}): pass one, e.g. --dataset-train-split 'train[:90%]' "
        "--dataset-eval-split 'train[90%:]'"
    )


def _refuse_attack(name: str):
    raise RiftUserError(
        f"--attack {name} with --rift: RIFT trains against its embedding-space adversary; run TextAttack's "
        "discrete adversarial training as its own baseline, without --rift"
    )


def install() -> None:
    from textattack_rift.integration.train_command import add_train_extension

    add_train_extension(add_arguments, DESTS, run)
