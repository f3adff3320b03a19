"""The feature the MI term reads from an encoder's last layer: S(x_hat) from the student, T(x) from the teacher.

One function for both, so S and T are always the same kind of feature (``RiftArgs.feature``).
"""

from __future__ import annotations

from torch import Tensor, nn

from textattack_rift.training.args import FEATURES


def pool_features(last_hidden: Tensor, attention_mask: Tensor, feature: str, encoder: nn.Module | None = None) -> Tensor:
    """[B,T,H] last-layer states -> [B,H] by ``feature`` (see ``RiftArgs.feature``).

    ``mean`` averages over the positions ``attention_mask`` marks (special tokens included, as
    sentence-transformers' mean pooling does); ``pooler`` applies ``encoder.pooler`` (BERT's dense+tanh
    on the first token), which an encoder built without one (e.g. RoBERTa inside its classifier) lacks.
    """
    if feature == "cls":
        return last_hidden[:, 0]
    if feature == "mean":
        mask = attention_mask.unsqueeze(-1).to(last_hidden.dtype)
        return (last_hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)
    if feature == "pooler":
        pooler = getattr(encoder, "pooler", None)
        if pooler is None:
            name = type(encoder).__name__ if encoder is not None else "this encoder"
            raise ValueError(f"feature 'pooler': {name} has no pooler layer; use feature 'cls' or 'mean'")
        return pooler(last_hidden)
    raise ValueError(f"unknown feature {feature!r}; use one of {FEATURES}")


def has_pooler(encoder: nn.Module) -> bool:
    return getattr(encoder, "pooler", None) is not None
