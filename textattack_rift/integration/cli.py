"""The ``textattack-rift`` console script: every TextAttack subcommand plus ours.

Also holds the error policy shared with the literal ``textattack`` command: a user error
(``RiftUserError``) is printed as one line and the process exits with status 2.
"""

from __future__ import annotations

import argparse
import sys

from textattack_rift.errors import RiftUserError

_TEXTATTACK_COMMANDS = (
    "AttackCommand",
    "AttackResumeCommand",
    "AugmentCommand",
    "BenchmarkRecipeCommand",
    "EvalModelCommand",
    "ListThingsCommand",
    "TrainModelCommand",
    "PeekDatasetCommand",
)


def _fail(prog: str, err: BaseException) -> int:
    print(f"{prog}: error: {err}", file=sys.stderr)
    return 2


def run_textattack_main(original_main, *args, **kwargs):
    """Run TextAttack's own ``main`` after registering, with the one-line error policy."""
    try:
        from textattack_rift.integration.register import register

        register()
    except Exception as err:  # a broken extension must leave stock TextAttack usable
        print(f"textattack-rift: extension not registered ({type(err).__name__}: {err})", file=sys.stderr)
    try:
        return original_main(*args, **kwargs)
    except RiftUserError as err:
        sys.exit(_fail("textattack", err))


def build_parser() -> argparse.ArgumentParser:
    from textattack_rift.integration.register import register

    register()
    import textattack.commands.textattack_cli as ta_cli

    from textattack_rift.integration import commands

    parser = argparse.ArgumentParser(
        "textattack-rift",
        usage="textattack-rift <command> [<args>]",
        description="TextAttack with RIFT robust fine-tuning and offline resources. "
        "Every `textattack` command is available, plus the textattack-rift ones.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    subparsers = parser.add_subparsers(help="commands")
    for name in _TEXTATTACK_COMMANDS:
        getattr(ta_cli, name).register_subcommand(subparsers)
    commands.register_all(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not hasattr(args, "func"):
            parser.print_help()
            return 1
        func = args.func
        del args.func
        result = func.run(args)
        return result if isinstance(result, int) else 0
    except RiftUserError as err:
        return _fail("textattack-rift", err)


if __name__ == "__main__":
    sys.exit(main())
