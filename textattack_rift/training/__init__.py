"""RIFT training parts: arguments, the ASCC adversary, the objectives, class-balanced sampling.

Names load lazily (importing this package does not import torch).
"""

from __future__ import annotations

from textattack_rift._lazy import lazy_exports

_LAZY = {
    "RiftArgs": "textattack_rift.training.args",
    "AdversaryResult": "textattack_rift.training.adversary",
    "AsccAttackResult": "textattack_rift.training.adversary",
    "ascc_adversary": "textattack_rift.training.adversary",
    "ascc_attack": "textattack_rift.training.adversary",
    "soft_embeddings": "textattack_rift.training.adversary",
    "kl_divergence": "textattack_rift.training.objectives",
    "info_nce": "textattack_rift.training.objectives",
    "conditional_info_nce": "textattack_rift.training.objectives",
    "pooled_features": "textattack_rift.training.objectives",
    "ProjectionHeads": "textattack_rift.training.objectives",
    "rift_loss": "textattack_rift.training.objectives",
    "NonFiniteLossError": "textattack_rift.training.objectives",
    "ClassBalancedBatchSampler": "textattack_rift.training.sampler",
    "WarmStartStore": "textattack_rift.training.store",
    "make_teacher": "textattack_rift.training.teacher",
    "teacher_features": "textattack_rift.training.teacher",
    "RiftBatch": "textattack_rift.training.step",
    "run_adversary": "textattack_rift.training.step",
    "make_store": "textattack_rift.training.step",
    "rift_training_loss": "textattack_rift.training.step",
    "training_backward": "textattack_rift.training.step",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
