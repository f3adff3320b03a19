"""The frozen pre-trained encoder T of RIFT's MI term (and the reference theta_0 of the L2 ablation)."""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn


def unwrap_model(model: nn.Module) -> nn.Module:
    """The bare module inside a DistributedDataParallel (or DataParallel) wrapper; else the model itself."""
    while hasattr(model, "module") and isinstance(getattr(model, "module"), nn.Module):
        model = model.module
    return model


def encoder_of(model: nn.Module) -> nn.Module:
    """The encoder of a Hugging Face sequence-classification model (``base_model``, e.g. BertModel)."""
    model = unwrap_model(model)
    return getattr(model, "base_model", model)


def make_teacher(model: nn.Module) -> nn.Module:
    """A frozen copy of the classifier's encoder: eval mode, no gradients. Take it before the first update."""
    teacher = copy.deepcopy(encoder_of(model))
    teacher.requires_grad_(False)
    return teacher.eval()


def teacher_features(
    teacher: nn.Module,
    input_ids: Tensor,
    attention_mask: Tensor,
    token_type_ids: Tensor | None = None,
    feature: str = "cls",
) -> Tensor:
    """T(x): the frozen encoder's ``feature`` (``RiftArgs.feature``) on the clean input, one no-grad pass, [B,H]."""
    from textattack_rift.training.features import pool_features

    if teacher.training:  # a trainer's model.train() must not turn dropout on in T
        teacher.eval()
    kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
    if token_type_ids is not None:
        kwargs["token_type_ids"] = token_type_ids
    with torch.no_grad():
        return pool_features(teacher(**kwargs).last_hidden_state, attention_mask, feature, teacher)
