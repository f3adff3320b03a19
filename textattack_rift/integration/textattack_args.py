"""How TextAttack's argument classes reach our names.

TextAttack resolves ``--model`` / ``--model-from-huggingface`` / ``--model-name-or-path`` and
``--dataset-from-huggingface`` inside classmethods; we wrap them so that aliases, offline copies and
(later) registered RIFT model names resolve first, and everything else keeps its stock behaviour.
"""

from __future__ import annotations

import os

from textattack_rift.errors import ResourceMissing
from textattack_rift.models.names import MODEL_ALIASES, OFFLINE_COPIES, resolve_model_name

_ORIGINAL = {}


def _is_ours(name: str | None) -> bool:
    if not name:
        return False
    if name in MODEL_ALIASES or name in OFFLINE_COPIES or os.path.isdir(name):
        return True
    from textattack_rift.models.registry import is_registry_name

    return is_registry_name(name)  # registered names and every rift-* name (unknown ones fail listing the known)


def _attack_create_model(original):
    def create(cls, args):
        import textattack

        from textattack_rift.models.loading import load_model

        name = args.model or args.model_from_huggingface
        if _is_ours(name):
            if os.path.isdir(name) and not os.path.isfile(os.path.join(name, "config.json")):
                return original(args)  # TextAttack's own LSTM/CNN/T5 folders
            return load_model(name)
        if args.model and args.model not in textattack.model_args.HUGGINGFACE_MODELS and (
            args.model not in textattack.model_args.TEXTATTACK_MODELS
        ):
            raise ResourceMissing(
                f"unknown model {args.model!r}: not a directory, an alias ({', '.join(sorted(MODEL_ALIASES))}) "
                "or a TextAttack model name (textattack attack --help lists them)"
            )
        return original(args)

    return classmethod(create)


def _train_create_model(original):
    def create(cls, args):
        name = args.model_name_or_path
        if name not in ("lstm", "cnn"):
            args.model_name_or_path = resolve_model_name(name)
        return original(args)

    return classmethod(create)


def _registered_dataset(args) -> None:
    """A registered model attacked without a dataset flag: use the dataset it was trained on, test split
    (as TextAttack does for its own pretrained names)."""
    import sys

    if getattr(args, "dataset_from_huggingface", None) or getattr(args, "dataset_from_file", None):
        return
    name = getattr(args, "model", None) or getattr(args, "model_from_huggingface", None)
    if not name or os.path.isdir(name):
        return
    from textattack_rift.models.registry import is_registry_name, lookup

    entry = lookup(name) if is_registry_name(name) else None
    if not entry or not entry.get("dataset"):
        return
    args.dataset_from_huggingface = entry["dataset"]
    if not getattr(args, "dataset_split", None):
        args.dataset_split = "test"
    print(
        f"textattack-rift: {name} was trained on {entry['dataset']}; attacking its {args.dataset_split} split "
        "(--dataset-from-huggingface / --dataset-split choose another)",
        file=sys.stderr,
    )


def _attack_create_dataset(original):
    """Registered models default to their training dataset; and TextAttack 0.3.11 crashes on
    ``name^subset`` with ``--dataset-split`` (it adds a tuple to a list)."""

    def create(cls, args):
        from textattack.shared.utils import ARGS_SPLIT_TOKEN

        _registered_dataset(args)
        spec = args.dataset_from_huggingface
        if isinstance(spec, str) and ARGS_SPLIT_TOKEN in spec:
            args.dataset_from_huggingface = tuple(spec.split(ARGS_SPLIT_TOKEN))
        return original(args)

    return classmethod(create)


def install() -> None:
    """Wrap TextAttack's model and dataset factories (idempotent)."""
    import textattack

    targets = {
        (textattack.model_args.ModelArgs, "_create_model_from_args"): _attack_create_model,
        (textattack.dataset_args.DatasetArgs, "_create_dataset_from_args"): _attack_create_dataset,
        (textattack.training_args.CommandLineTrainingArgs, "_create_model_from_args"): _train_create_model,
    }
    for (owner, attr), make in targets.items():
        if (owner, attr) in _ORIGINAL:
            continue
        original = getattr(owner, attr)  # bound classmethod
        _ORIGINAL[(owner, attr)] = owner.__dict__.get(attr)
        setattr(owner, attr, make(original))
    for alias, hub_id in MODEL_ALIASES.items():
        textattack.model_args.HUGGINGFACE_MODELS.setdefault(alias, hub_id)


def uninstall() -> None:
    for (owner, attr), raw in list(_ORIGINAL.items()):
        if raw is None:
            delattr(owner, attr)
        else:
            setattr(owner, attr, raw)
        del _ORIGINAL[(owner, attr)]
