"""FreeLB++ (Li et al. EMNLP 2021, TextDefender): FreeLB's K-step perturbation of the input embeddings.

FreeLB (Zhu et al. ICLR 2020, Algorithm 1) trains on ``(1/K) sum_k L(f(x + delta_k), y)`` for
k = 0..K-1: each pass back-propagates ``L_k / K`` into the parameters' ``.grad`` (the parameter
gradients of the K passes accumulate, the "free" part), and delta_{k+1} is one normalised gradient
ascent step from delta_k, projected back into the norm ball. The optimizer then steps once on the sum.
FreeLB++ is TextDefender's configuration of it, the strongest training-only defence of its benchmark.
Here it is one more training method of the same trainer (``RiftArgs.adversary = "freelb"``, preset
``freelb``): same batches, budget, optimizer and model selection as the other methods.

What we take from RockyLzy/TextDefender (commit 06a5068; ``trainer/freelb.py`` = ``FreeLBTrainer``,
``trainer/gradient.py`` = ``EmbeddingLevelGradientTrainer``, whose ``delta_initial`` / ``delta_update``
it uses):

    setting                      ours                          TextDefender
    K (passes per batch)         freelb_steps = 10             --adv-steps, code default 5 (freelb.py:28);
                                                               FreeLB++ is the 10-step setting of the paper
                                                               (as quoted in TextDefender issue #7)
    ascent step size             freelb_lr = 0.03              --adv-learning-rate 0.03 (freelb.py:30)
    random start magnitude       freelb_init_mag = 0.05        --adv-init-mag 0.05 (freelb.py:32)
    norm bound                   freelb_max_norm = 0 (none)    --adv-max-norm 0.0, "0 means unlimited" (freelb.py:34)
    norm                         freelb_norm = "l2"            --adv-norm-type l2 (freelb.py:36)

- The perturbation is added to the WORD embeddings (``get_input_embeddings()(input_ids)``, freelb.py:50),
  passed as ``inputs_embeds``; position and token-type embeddings and the embedding LayerNorm apply
  after it, inside the model. The word embeddings are looked up again for every pass (freelb.py:76), so
  the embedding matrix gets the gradient of all K passes.
- Start (gradient.py:59-73): l2: ``U(-1, 1)`` per coordinate, zeroed where ``attention_mask`` is 0, times
  ``init_mag / sqrt(n * H)`` with n the example's unpadded length (special tokens included) and H the
  hidden size, so ``||delta_0||_2 <= init_mag``; linf: ``U(-init_mag, init_mag)``, masked; init_mag 0:
  delta_0 = 0 (then the first pass is the clean input).
- Loss (freelb.py:62-66): the batch-mean CE of each pass divided by K, backward at once; the logged
  ``loss`` is their sum (TextDefender's ``total_loss``). There is no separate clean term: the first pass,
  at delta_0, stands in for it (as in FreeLB). ``ce_weight`` multiplies it (1 = TextDefender's).
- Update (gradient.py:77-92): delta's gradient divided by its per-example norm over all positions and
  dimensions (l2, or linf for "linf"; floor 1e-8), times the step size, added to delta; then, when
  max_norm > 0, l2: examples whose ||delta||_2 exceeds max_norm are rescaled onto the sphere, linf:
  clamped elementwise to [-max_norm, max_norm]. With max_norm 0 (FreeLB++'s default) each step still
  moves delta by exactly lr in its norm, so ``||delta_k|| <= init_mag + k * lr`` (0.32 for the defaults).
- The last pass takes no update (freelb.py:68-69). Every pass runs in train mode with its own dropout
  masks (TextDefender's ``model.train()``, base.py:58).

Where we differ, and why:
- Padding is masked in every update (delta's gradient is zeroed there before it is normalised, and delta
  after the step), not only at the start. For BERT-style models delta's gradient at padded positions is
  exactly 0 (masked keys get no attention weight and the classifier reads no padded position), so this
  changes nothing there; for any model it guarantees no perturbation on padding, and a step and bound
  measured on the perturbation actually applied.
- No gradient clipping: TextDefender clips the accumulated gradient to norm 1.0 before its optimizer step
  (freelb.py:78, base.py:45). Our trainer clips for no method, so FreeLB does not either: the compared
  methods share one optimizer and budget. The learning rate, schedule and weight decay are likewise the
  trainer's, not TextDefender's (2e-5, weight decay 1e-6).
- Original FreeLB's code reuses one dropout mask across the K passes; TextDefender, followed here, does not.
- Randomness comes from torch's global RNG, which the trainer reseeds per micro-batch (same seed, same run).

Logs: ``ce`` (mean CE of the K passes), ``loss`` (ce_weight * ce), ``clean_acc`` (accuracy of the FIRST
pass, at delta_0, in train mode: the clean input up to the start noise), ``adv_acc`` (accuracy of the
last pass), ``adv_steps`` (K), ``delta_norm`` (largest per-example norm, in freelb_norm, of any delta a
pass used).
"""

from __future__ import annotations

import contextlib
import math
from typing import Callable, ContextManager

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textattack_rift.training.adversary import forward_embeds
from textattack_rift.training.args import FREELB_NORMS, RiftArgs
from textattack_rift.training.distributed import unsynced
from textattack_rift.training.objectives import NonFiniteLossError
from textattack_rift.training.teacher import unwrap_model

# TextDefender's floor under the gradient's norm (gradient.py:79), so a zero gradient gives a zero step.
GRAD_NORM_FLOOR = 1e-8


def _padding_mask(attention_mask: Tensor, like: Tensor) -> Tensor:
    """[B,T,1]: 1 on real tokens (special tokens included), 0 on padding; dtype of ``like``."""
    return attention_mask.to(like.dtype).unsqueeze(-1)


def _check_norm(norm: str) -> None:
    if norm not in FREELB_NORMS:
        raise ValueError(f"FreeLB norm must be one of {FREELB_NORMS}, got {norm!r}")


def delta_norms(delta: Tensor, norm: str = "l2") -> Tensor:
    """Each example's norm of delta over all its positions and dimensions [B] (float32)."""
    _check_norm(norm)
    flat = delta.detach().float().flatten(1)
    return flat.norm(dim=1) if norm == "l2" else flat.abs().amax(dim=1)


def initial_delta(embeds: Tensor, attention_mask: Tensor, init_mag: float, norm: str = "l2") -> Tensor:
    """delta_0 [B,T,H] for word embeddings ``embeds``: TextDefender's random start, 0 on padding.

    l2: ``U(-1,1) * init_mag / sqrt(n*H)`` (n = the example's unpadded length), so ||delta_0||_2 <= init_mag;
    linf: ``U(-init_mag, init_mag)``. init_mag 0 gives zeros. Draws from torch's global RNG.
    """
    _check_norm(norm)
    embeds = embeds.detach()
    if init_mag <= 0:
        return torch.zeros_like(embeds)
    mask = _padding_mask(attention_mask, embeds)
    noise = torch.empty_like(embeds).uniform_(-1.0, 1.0) * mask
    if norm == "linf":
        return noise * init_mag
    dims = attention_mask.sum(1).to(embeds.dtype).clamp(min=1) * embeds.shape[-1]
    return noise * (init_mag / dims.sqrt()).view(-1, 1, 1)


def ascent_step(
    delta: Tensor, grad: Tensor, attention_mask: Tensor, *, lr: float, max_norm: float = 0.0, norm: str = "l2"
) -> Tensor:
    """delta_{k+1} = project(delta_k + lr * grad / ||grad||), 0 on padding; a new detached tensor.

    ``||grad||`` is per example, over all unpadded positions and dimensions, in ``norm`` (floor 1e-8). With
    ``max_norm`` > 0 the projection keeps each example's ||delta|| <= max_norm: l2 rescales the examples
    beyond it onto the sphere, linf clamps each coordinate; max_norm 0 leaves delta unbounded.
    """
    _check_norm(norm)
    # Padding is masked first, so the step and the bound are those of the perturbation actually applied.
    mask = _padding_mask(attention_mask, grad.float())
    grad = grad.detach().float() * mask
    scale = delta_norms(grad, norm).clamp(min=GRAD_NORM_FLOOR).view(-1, 1, 1)
    moved = (delta.detach().float() + lr * grad / scale) * mask
    if max_norm > 0:
        if norm == "l2":
            norms = delta_norms(moved, "l2").view(-1, 1, 1)
            moved = moved * torch.where(norms > max_norm, max_norm / norms, torch.ones_like(norms))
        else:
            moved = moved.clamp(-max_norm, max_norm)
    return moved.to(delta.dtype)



def freelb_backward(
    model: nn.Module,
    batch,
    args: RiftArgs,
    *,
    scale: float = 1.0,
    autocast: Callable[[], ContextManager] = contextlib.nullcontext,
) -> dict[str, float]:
    """Run FreeLB's K passes on ``batch`` (a ``step.RiftBatch``), back-propagating ``scale * ce_weight * CE_k / K``
    into the parameters' ``.grad`` at each; returns the logs (module docstring).

    ``model`` is the (possibly DDP-wrapped) classifier in train mode; every backward but the last runs
    inside ``no_sync``, so DDP all-reduces once, after the last pass. ``autocast`` wraps the forward
    passes. The candidate tensors of ``batch`` are not used. Raises NonFiniteLossError on a NaN/inf CE.
    """
    bare = unwrap_model(model)
    embedding = bare.get_input_embeddings()
    steps = args.freelb_steps
    weight = scale * args.ce_weight / steps
    delta = None
    ce_values: list[float] = []
    norms: list[Tensor] = []
    first_logits = last_logits = None
    for k in range(steps):
        last = k == steps - 1
        with contextlib.nullcontext() if last else unsynced(model):
            embeds = embedding(batch.input_ids)  # a new lookup per pass: the last backward freed the old graph
            if delta is None:
                delta = initial_delta(embeds, batch.attention_mask, args.freelb_init_mag, args.freelb_norm)
            norms.append(delta_norms(delta, args.freelb_norm).max())
            delta.requires_grad_()
            with autocast():
                logits = forward_embeds(
                    model, embeds + delta.to(embeds.dtype), batch.attention_mask, batch.token_type_ids
                ).logits
            ce = F.cross_entropy(logits.float(), batch.labels)
            value = float(ce.detach())
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"FreeLB cross-entropy is {value} at pass {k + 1} of {steps}; check the inputs, learning rate, "
                    "precision and freelb_lr"
                )
            ce_values.append(value)
            (ce * weight).backward()
        if k == 0:
            first_logits = logits.detach()
        if last:
            last_logits = logits.detach()
            break
        delta = ascent_step(
            delta, delta.grad, batch.attention_mask,
            lr=args.freelb_lr, max_norm=args.freelb_max_norm, norm=args.freelb_norm,
        )
    ce_mean = sum(ce_values) / steps
    return {
        "ce": ce_mean,
        "loss": args.ce_weight * ce_mean,
        "clean_acc": _accuracy(first_logits, batch.labels),
        "adv_acc": _accuracy(last_logits, batch.labels),
        "adv_steps": float(steps),
        "delta_norm": float(torch.stack(norms).max()),
    }


def _accuracy(logits: Tensor, labels: Tensor) -> float:
    return float((logits.argmax(-1) == labels).float().mean())
