"""Load a sequence classifier by name (alias, hub id or directory) as a TextAttack model wrapper."""

from __future__ import annotations

from textattack_rift.models.names import resolve_model_name


def load_model(name: str, num_labels: int | None = None):
    """Return a ``PaddedHuggingFaceModelWrapper`` around ``AutoModelForSequenceClassification``.

    ``num_labels`` is only used for a bare encoder (a new, untrained classification head).
    """
    import transformers

    from textattack_rift.models.wrapper import PaddedHuggingFaceModelWrapper

    path = resolve_model_name(name)
    kwargs = {"num_labels": num_labels} if num_labels else {}
    model = transformers.AutoModelForSequenceClassification.from_pretrained(path, **kwargs)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, use_fast=True)
    model.eval()
    return PaddedHuggingFaceModelWrapper(model, tokenizer)
