"""One idempotent entry point that plugs textattack-rift into TextAttack's registries.

TextAttack has no plugin system: names live in module-level dicts resolved with ``eval`` of dotted
strings, and commands are module globals of ``textattack.commands.textattack_cli``. ``register()``
edits those in place. The Python API and both CLIs call it.
"""

from __future__ import annotations

_registered = False


def register() -> None:
    """Add our datasets, model names and extended commands to TextAttack (safe to call repeatedly)."""
    global _registered
    if _registered:
        return
    import textattack_rift  # noqa: F401  (offline NLTK data before TextAttack loads)
    import textattack.commands.textattack_cli as cli

    from textattack_rift.data import install_into_textattack
    from textattack_rift.integration import textattack_args
    from textattack_rift.integration.train_command import RiftTrainModelCommand

    install_into_textattack()
    textattack_args.install()
    cli.TrainModelCommand = RiftTrainModelCommand
    _registered = True


def is_registered() -> bool:
    return _registered
