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
    from textattack_rift.integration import rift_train, textattack_args
    from textattack_rift.integration.train_command import RiftTrainModelCommand

    install_into_textattack()
    textattack_args.install()
    _register_threat_model_parts()
    rift_train.install()
    cli.TrainModelCommand = RiftTrainModelCommand
    from textattack_rift.attack_recipes import install_into_textattack as _install_recipes
    from textattack_rift.integration.attack_command import RiftAttackCommand

    _install_recipes()  # rift- recipes as TextAttack names; offline preflight of stock recipes
    cli.AttackCommand = RiftAttackCommand
    _registered = True


# name on the command line -> (TextAttack module the class is set on, class path in textattack_rift)
TRANSFORMATIONS = {
    "rift-synonym-swap": ("transformations", "textattack_rift.threat.transformation.ThreatModelWordSwap"),
}
CONSTRAINTS = {
    "rift-stopwords": ("constraints", "textattack_rift.threat.constraints.CaseInsensitiveStopwordModification"),
    "rift-perturbable-columns": ("constraints", "textattack_rift.threat.constraints.PerturbableColumnsModification"),
    "rift-pos": ("constraints", "textattack_rift.threat.constraints.WordNetPartOfSpeech"),
}


def _register_threat_model_parts() -> None:
    """Put our classes where TextAttack's ``eval`` of dotted names finds them (``--transformation``,
    ``--constraints``)."""
    import importlib

    import textattack
    from textattack import attack_args

    for table, entries in (
        (attack_args.BLACK_BOX_TRANSFORMATION_CLASS_NAMES, TRANSFORMATIONS),
        (attack_args.CONSTRAINT_CLASS_NAMES, CONSTRAINTS),
    ):
        for name, (ta_module, path) in entries.items():
            module_path, class_name = path.rsplit(".", 1)
            cls = getattr(importlib.import_module(module_path), class_name)
            setattr(getattr(textattack, ta_module), class_name, cls)
            table[name] = f"textattack.{ta_module}.{class_name}"


def is_registered() -> bool:
    return _registered
