"""``textattack train`` with textattack-rift's options added; stock flags and behaviour unchanged.

Each extension contributes an argument group and a runner. When none of an extension's flags is
used, the stock TextAttack training path runs exactly as before.
"""

from __future__ import annotations

from argparse import ArgumentParser, Namespace
from typing import Callable

from textattack.commands.train_model_command import TrainModelCommand

# Extensions: (add_arguments(group), dests it owns, run(args, extra) -> bool handled).
TrainExtension = tuple[Callable[[object], None], tuple[str, ...], Callable[[Namespace, dict], bool]]
_EXTENSIONS: list[TrainExtension] = []


def add_train_extension(add_arguments, dests, run) -> None:
    """Register an extension once (by its ``add_arguments`` function)."""
    if all(ext[0] is not add_arguments for ext in _EXTENSIONS):
        _EXTENSIONS.append((add_arguments, tuple(dests), run))


class RiftTrainModelCommand(TrainModelCommand):
    """TextAttack's train command plus the registered extensions' flags."""

    def run(self, args):
        extra = {}
        for _, dests, _ in _EXTENSIONS:
            for dest in dests:
                extra[dest] = getattr(args, dest, None)
                if hasattr(args, dest):
                    delattr(args, dest)  # CommandLineTrainingArgs rejects unknown keys
        for _, _, run in _EXTENSIONS:
            if run(args, extra):
                return
        # TextAttack seeds inside Trainer.train, after the model (and a new head) was drawn: seed first.
        from textattack_rift.integration.model_argument import check_model_argument
        from textattack_rift.training.reproducibility import seed_everything

        check_model_argument(getattr(args, "model_name_or_path", None))
        seed_everything(getattr(args, "random_seed", 786))
        if getattr(args, "num_warmup_steps", 0) is None:
            args.num_warmup_steps = 500  # TextAttack's default, as if the flag had its stock default
        super().run(args)

    @staticmethod
    def register_subcommand(main_parser: ArgumentParser):
        TrainModelCommand.register_subcommand(main_parser)
        parser = main_parser.choices["train"]
        if _EXTENSIONS:
            group = parser.add_argument_group("textattack-rift")
            for add_arguments, _, _ in _EXTENSIONS:
                add_arguments(group)
        # None = not given: --rift then warms up for 10% of its steps, the stock trainer for TextAttack's 500.
        parser.set_defaults(func=RiftTrainModelCommand(), num_warmup_steps=None)
