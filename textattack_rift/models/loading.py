"""Load a sequence classifier by name (alias, hub id or directory) as a TextAttack model wrapper, on
the device TextAttack attacks on.

TextAttack keeps its device in ``textattack.shared.utils.device`` (``$TA_DEVICE``, else ``cuda`` when
CUDA is available, else ``cpu``); its ``Attacker`` moves an attack's models there with
``Attack.cuda_()``, but an ``Attack.attack()`` called directly (as ``evaluate`` does) moves nothing, and
a model left on the CPU would run every query at CPU speed on a GPU machine. So the loader puts the
model there itself.
"""

from __future__ import annotations

from textattack_rift.models.names import resolve_model_name


def attack_device():
    """TextAttack's device as a ``torch.device`` (read at call time: ``$TA_DEVICE`` may name a string)."""
    import textattack
    import torch

    return torch.device(textattack.shared.utils.device)


def place_on_device(model_wrapper, device=None):
    """Move the wrapper's model to ``device`` (None: ``attack_device()``); returns the wrapper."""
    import torch

    target = attack_device() if device is None else torch.device(device)
    model_wrapper.model.to(target)
    return model_wrapper


def load_model(name: str, num_labels: int | None = None, device=None):
    """Return a ``PaddedHuggingFaceModelWrapper`` around ``AutoModelForSequenceClassification``, in eval
    mode, on ``device`` (None: TextAttack's device, see the module docstring).

    ``num_labels`` is only used for a bare encoder (a new, untrained classification head).
    """
    import transformers

    from textattack_rift.resources.model_files import check_model_dir
    from textattack_rift.models.wrapper import PaddedHuggingFaceModelWrapper

    path = resolve_model_name(name)
    check_model_dir(path)
    kwargs = {"num_labels": num_labels} if num_labels else {}
    model = transformers.AutoModelForSequenceClassification.from_pretrained(path, **kwargs)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, use_fast=True)
    model.eval()
    return place_on_device(PaddedHuggingFaceModelWrapper(model, tokenizer), device)
