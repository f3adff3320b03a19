"""The ASCC adversary (Dong et al. ICLR 2021) in the model's input-embedding space.

Each word's embedding is replaced by a convex combination of the embeddings of the word and its
candidates, weights ``w = softmax(logits)`` over the word's valid candidates, shared by all sub-tokens
of the word. The logits are optimised with Adam to maximise ``KL(p(y|x) || p(y|x_hat(w))) - alpha*H(w)``
(training) or ``CE(f(x_hat(w)), y) - alpha*H(w)`` (the ASCC attack, followed by an argmax per word).

Scale, as in the authors' released script (models/AdvPLM.py): it maximises
``sum_b KL_b - alpha * (sum over the batch and all positions of H) / (300*128)`` with alpha = 15 and
starts from Kaiming-normal logits of a ``[B, L, S, 1]`` tensor (fan-in ``L*S``). Here too: both terms
are summed over the batch (not averaged: Adam is scale-free only up to its epsilon, which matters where
the gradients are tiny), so the entropy of each word weighs ``alpha / 38400`` against its example's KL
as in the script, and the initial logits have std ``sqrt(2 / (W*K))`` for W word positions and K slots. A stronger
entropy weight (0.1.0.dev0 averaged H over the words, about 1,000x stronger) locks each word onto
the slot its initial noise favoured, and the adversary barely searches.

Tensor conventions (B examples, T tokens, K candidate slots, W words):
    candidate_ids [B,T,K]   slot 0 is the original token; for a word of k sub-tokens, candidate j's
                            i-th sub-token sits at the word's i-th position. Masked slots may hold any
                            in-vocabulary id (e.g. the pad id): they get weight exactly 0.
    candidate_mask [B,T,K]  bool; slot 0 True everywhere; identical across the positions of one word.
    word_index [B,T]        index of the word owning each token, -1 for special tokens and padding
                            (those keep their own embedding: slot 0 with weight 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textattack_rift.training.objectives import kl_divergence

# A finite "minus infinity" for masked logits: softmax gives exactly 0 there (exp underflows), while
# 0 * log_softmax stays 0 instead of 0 * -inf = nan in the entropy and its gradient.
_MASKED_LOGIT = -1e9
OBJECTIVES = ("kl", "ce")
# The released script's divisor of the batch-wide entropy sum (with alpha = 15: 15/38400 per word).
ENTROPY_DIVISOR = 300 * 128


@dataclass
class AdversaryResult:
    """What the adversary found; every tensor is detached.

    logits: final combination logits [B,W,K] float32 (what the warm-start store keeps).
    weights: w = masked softmax of ``logits`` [B,W,K]; rows sum to 1, exactly 0 on masked candidates.
    token_weights: ``weights`` gathered to tokens [B,T,K] (special tokens: one-hot on slot 0).
    word_mask: valid candidates per word [B,W,K].
    steps: Adam steps taken.
    history: the objective before each step, only when ``trace=True`` (each value costs a device sync).
    initial_logits: where the search started [B,W,K] (noise, or the warm start), for strength figures.
    """

    logits: Tensor
    weights: Tensor
    token_weights: Tensor
    word_mask: Tensor
    steps: int
    history: list[float] | None = None
    initial_logits: Tensor | None = None


@dataclass
class AsccAttackResult:
    """The discrete ASCC attack: one candidate slot per word and the resulting input.

    choices: chosen slot per word [B,W] (0 = keep the word).
    input_ids: the attacked input [B,T].
    clean_pred, adv_pred: predicted labels on the clean and attacked input [B].
    flipped: ``adv_pred != clean_pred`` [B].
    """

    choices: Tensor
    input_ids: Tensor
    clean_pred: Tensor
    adv_pred: Tensor
    flipped: Tensor


def check_candidates(input_ids: Tensor, candidate_ids: Tensor, candidate_mask: Tensor, word_index: Tensor) -> None:
    """Raise ValueError when the candidate tensors do not follow the conventions above."""
    if candidate_ids.dim() != 3 or candidate_ids.shape[:2] != input_ids.shape:
        raise ValueError(
            f"candidate_ids must be [B,T,K] with [B,T]={tuple(input_ids.shape)}, got {tuple(candidate_ids.shape)}"
        )
    if candidate_mask.shape != candidate_ids.shape or candidate_mask.dtype != torch.bool:
        raise ValueError(f"candidate_mask must be a bool tensor shaped like candidate_ids {tuple(candidate_ids.shape)}")
    if word_index.shape != input_ids.shape:
        raise ValueError(f"word_index must be [B,T]={tuple(input_ids.shape)}, got {tuple(word_index.shape)}")
    if not torch.equal(candidate_ids[..., 0], input_ids):
        raise ValueError("candidate_ids[..., 0] must be the original input_ids (slot 0 = the original token)")
    if not bool(candidate_mask[..., 0].all()):
        raise ValueError("candidate_mask[..., 0] must be True everywhere (slot 0 = the original token)")


def word_candidate_mask(candidate_mask: Tensor, word_index: Tensor, num_words: int | None = None) -> Tensor:
    """Per-word candidate mask [B,W,K] from the per-token one; slot 0 is always valid.

    Raises ValueError when the sub-tokens of one word disagree, or a special token (-1) has candidates.
    """
    batch, _, k = candidate_mask.shape
    if num_words is None:
        num_words = int(word_index.max().item()) + 1 if word_index.numel() else 0
    # Tokens of no word scatter into a spare row W, dropped afterwards.
    target = torch.where(word_index < 0, torch.full_like(word_index, num_words), word_index)
    mask = torch.zeros(batch, num_words + 1, k, dtype=torch.bool, device=candidate_mask.device)
    mask.scatter_(1, target.unsqueeze(-1).expand(-1, -1, k), candidate_mask)
    mask = mask[:, :num_words]
    mask[..., 0] = True
    back = tokens_from_words(mask, word_index, fill=True)
    if not torch.equal(back, candidate_mask):
        special = (word_index < 0) & candidate_mask[..., 1:].any(-1)
        if bool(special.any()):
            raise ValueError("candidate_mask gives candidates to a token with word_index -1 (special/padding)")
        raise ValueError("candidate_mask differs across the sub-tokens of one word (it must be identical)")
    return mask


def tokens_from_words(word_values: Tensor, word_index: Tensor, fill: float | bool = 1) -> Tensor:
    """Gather per-word rows [B,W,K] to tokens [B,T,K]; tokens with word_index -1 get ``fill`` on slot 0, 0 elsewhere."""
    batch, _, k = word_values.shape
    if word_values.shape[1] == 0:
        gathered = word_values.new_zeros(batch, word_index.shape[1], k)
    else:
        gathered = word_values.gather(1, word_index.clamp(min=0).unsqueeze(-1).expand(-1, -1, k))
    one_hot = torch.zeros(k, dtype=word_values.dtype, device=word_values.device)
    one_hot[0] = fill
    return torch.where((word_index < 0).unsqueeze(-1), one_hot, gathered)


def combination_weights(logits: Tensor, word_mask: Tensor) -> Tensor:
    """w = softmax over each word's valid candidates (float32); exactly 0 on masked ones."""
    masked = logits.float().masked_fill(~word_mask, _MASKED_LOGIT)
    return torch.softmax(masked, dim=-1) * word_mask


def word_entropy(logits: Tensor, word_mask: Tensor) -> Tensor:
    """H(w) per example [B]: the entropies (nats) of the example's words, summed over its words.

    A word with one valid candidate (and padding) has entropy 0, so the sum runs over the perturbable
    words; this is the script's sum over positions.
    """
    log_w = torch.log_softmax(logits.float().masked_fill(~word_mask, _MASKED_LOGIT), dim=-1)
    per_word = -(log_w.exp() * log_w * word_mask).sum(-1)
    return per_word.sum(-1)


def sparsity_penalty(logits: Tensor, word_mask: Tensor, alpha: float) -> Tensor:
    """alpha * (sum over the batch of H(w)) / 38400: the released script's sparsity term."""
    return alpha / ENTROPY_DIVISOR * word_entropy(logits, word_mask).sum()


def init_combination_logits(
    shape: tuple[int, int, int], mode: str, device: torch.device, generator: torch.Generator | None = None
) -> Tensor:
    """Initial logits [B,W,K]: "random" is He-normal noise with the script's fan-in, W word positions
    times K slots (std sqrt(2/(W*K))); "zeros" gives uniform weights."""
    if mode == "zeros":
        return torch.zeros(shape, device=device)
    if mode != "random":
        raise ValueError(f"unknown adversary init {mode!r}; use 'random' or 'zeros'")
    gen_device = generator.device if generator is not None else device
    noise = torch.randn(shape, generator=generator, device=gen_device)
    return noise.to(device) * math.sqrt(2.0 / max(shape[1] * shape[2], 1))


def embed_candidates(model: nn.Module, candidate_ids: Tensor) -> Tensor:
    """E[candidate_ids] -> [B,T,K,H] through the model's own embedding module (keeps padding_idx)."""
    return model.get_input_embeddings()(candidate_ids)


def combine(candidate_embeds: Tensor, token_weights: Tensor) -> Tensor:
    """sum_j w_j * E[c_j] -> [B,T,H], computed in the embedding's dtype even under autocast.

    A batched matmul under autocast would round both operands to bf16 every step; the combination is
    cheap and keeping it exact leaves the precision choice to the encoder.
    """
    with torch.autocast(device_type=candidate_embeds.device.type, enabled=False):
        weights = token_weights.to(candidate_embeds.dtype).unsqueeze(-2)
        return torch.matmul(weights, candidate_embeds).squeeze(-2)


def soft_embeddings(model: nn.Module, candidate_ids: Tensor, weights_per_token: Tensor) -> Tensor:
    """x_hat's input embeddings sum_j w_j * E[candidate_ids[..., j]] -> [B,T,H].

    Gradients flow into the embedding matrix E (and into the weights if they require grad).
    """
    return combine(embed_candidates(model, candidate_ids), weights_per_token)


def forward_embeds(
    model: nn.Module,
    inputs_embeds: Tensor,
    attention_mask: Tensor,
    token_type_ids: Tensor | None = None,
    output_hidden_states: bool = False,
):
    """Run a Hugging Face model on ``inputs_embeds`` (position/type embeddings and LayerNorm apply as usual)."""
    kwargs = {"inputs_embeds": inputs_embeds, "attention_mask": attention_mask}
    if token_type_ids is not None:
        kwargs["token_type_ids"] = token_type_ids
    if output_hidden_states:
        kwargs["output_hidden_states"] = True
    return model(**kwargs)


def _forward_ids(model: nn.Module, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor | None) -> Tensor:
    kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
    if token_type_ids is not None:
        kwargs["token_type_ids"] = token_type_ids
    return model(**kwargs).logits


class _EvalMode:
    """Put every submodule in eval mode and restore each one's own previous mode on exit."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.modes: list[tuple[nn.Module, bool]] = []

    def __enter__(self) -> nn.Module:
        self.modes = [(m, m.training) for m in self.model.modules()]
        self.model.eval()
        return self.model

    def __exit__(self, *exc) -> None:
        for module, training in self.modes:
            module.training = training


def adversary_objective(
    model: nn.Module,
    logits: Tensor,
    word_mask: Tensor,
    word_index: Tensor,
    candidate_embeds: Tensor,
    attention_mask: Tensor,
    token_type_ids: Tensor | None,
    *,
    target: Tensor,
    objective: str = "kl",
    entropy_weight: float = 15.0,
) -> Tensor:
    """What the adversary maximises at ``logits`` [B,W,K]: sum_b D_b - alpha * sum_b H_b(w) / 38400 (the script's).

    D_b is KL(p(y|x_b) || p(y|x_hat_b)) with ``target`` the clean logits (``objective="kl"``), or
    CE(f(x_hat_b), y_b) with ``target`` the labels (``"ce"``). ``candidate_embeds`` [B,T,K,H] are the
    candidates' input embeddings (``embed_candidates``).
    """
    weights = tokens_from_words(combination_weights(logits, word_mask), word_index)
    embeds = combine(candidate_embeds, weights)
    adv_logits = forward_embeds(model, embeds, attention_mask, token_type_ids).logits.float()
    if objective == "kl":
        divergence = kl_divergence(target, adv_logits) * adv_logits.shape[0]
    else:
        divergence = F.cross_entropy(adv_logits, target, reduction="sum")
    return divergence - sparsity_penalty(logits, word_mask, entropy_weight)


def ascc_adversary(
    model: nn.Module,
    input_ids: Tensor,
    attention_mask: Tensor,
    candidate_ids: Tensor,
    candidate_mask: Tensor,
    word_index: Tensor,
    *,
    token_type_ids: Tensor | None = None,
    clean_logits: Tensor | None = None,
    labels: Tensor | None = None,
    objective: str = "kl",
    steps: int = 10,
    lr: float = 1.0,
    entropy_weight: float = 15.0,
    init: str = "random",
    init_logits: Tensor | None = None,
    init_found: Tensor | None = None,
    generator: torch.Generator | None = None,
    trace: bool = False,
) -> AdversaryResult:
    """Optimise per-word combination logits to maximise D(x, x_hat(w)) - alpha * H(w) with Adam.

    D is KL(p(y|x) || p(y|x_hat)) for ``objective="kl"`` (target: ``clean_logits``, computed here in
    eval mode without gradient when not given) or CE(f(x_hat), labels) for ``objective="ce"``.
    ``entropy_weight`` is alpha, at the script's scale (``sparsity_penalty``). Only the gradient with respect to the logits is computed: parameter
    ``.grad`` is never touched. Pass the bare module, not a DistributedDataParallel wrapper. The model
    runs in eval mode (no dropout) and every submodule's mode is restored afterwards. ``init_logits``
    [B,W,K] with ``init_found`` [B] bool warm-starts the examples marked True.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown adversary objective {objective!r}; use one of {OBJECTIVES}")
    if objective == "ce" and labels is None:
        raise ValueError("the 'ce' adversary objective (ASCC attack) needs labels")
    if steps < 0:
        raise ValueError(f"adversary steps must be >= 0, got {steps}")
    check_candidates(input_ids, candidate_ids, candidate_mask, word_index)
    word_mask = word_candidate_mask(candidate_mask, word_index)
    shape = tuple(word_mask.shape)
    logits = init_combination_logits(shape, init, input_ids.device, generator)
    if init_logits is not None:
        if tuple(init_logits.shape) != shape:
            raise ValueError(f"init_logits must be [B,W,K]={shape}, got {tuple(init_logits.shape)}")
        found = torch.ones(shape[0], dtype=torch.bool, device=logits.device) if init_found is None else init_found
        logits = torch.where(found.view(-1, 1, 1), init_logits.to(logits.device, torch.float32), logits)
    start = logits.detach().clone()
    logits = logits.detach().requires_grad_(True)
    history: list[float] | None = [] if trace else None

    with _EvalMode(model), torch.enable_grad():
        with torch.no_grad():
            candidate_embeds = embed_candidates(model, candidate_ids)
            if objective == "kl" and steps > 0:
                if clean_logits is None:
                    clean_logits = _forward_ids(model, input_ids, attention_mask, token_type_ids)
                clean_logits = clean_logits.detach()
        optimizer = torch.optim.Adam([logits], lr=lr, maximize=True)
        target = clean_logits if objective == "kl" else labels
        for _ in range(steps):
            value = adversary_objective(
                model, logits, word_mask, word_index, candidate_embeds, attention_mask, token_type_ids,
                target=target, objective=objective, entropy_weight=entropy_weight,
            )
            if history is not None:
                history.append(float(value.detach()))
            # Gradient w.r.t. the logits only: the engine skips every parameter's gradient.
            (grad,) = torch.autograd.grad(value, logits)
            logits.grad = grad
            optimizer.step()

    logits = logits.detach()
    weights = combination_weights(logits, word_mask)
    return AdversaryResult(
        logits=logits,
        weights=weights,
        token_weights=tokens_from_words(weights, word_index),
        word_mask=word_mask,
        steps=steps,
        history=history,
        initial_logits=start,
    )


def ascc_attack(
    model: nn.Module,
    input_ids: Tensor,
    attention_mask: Tensor,
    candidate_ids: Tensor,
    candidate_mask: Tensor,
    word_index: Tensor,
    labels: Tensor,
    *,
    token_type_ids: Tensor | None = None,
    steps: int = 10,
    lr: float = 1.0,
    entropy_weight: float = 15.0,
    init: str = "random",
    generator: torch.Generator | None = None,
) -> AsccAttackResult:
    """The ASCC attack: the adversary with CE to the true label, then the argmax candidate per word.

    Returns the discrete choice per word, the attacked input_ids and whether the prediction flipped.
    """
    result = ascc_adversary(
        model,
        input_ids,
        attention_mask,
        candidate_ids,
        candidate_mask,
        word_index,
        token_type_ids=token_type_ids,
        labels=labels,
        objective="ce",
        steps=steps,
        lr=lr,
        entropy_weight=entropy_weight,
        init=init,
        generator=generator,
    )
    # Masked slots have weight exactly 0, so push them below any valid one before the argmax.
    choices = result.weights.masked_fill(~result.word_mask, -1.0).argmax(-1)
    token_choice = tokens_from_words(choices.unsqueeze(-1), word_index, fill=0).squeeze(-1)
    adv_ids = candidate_ids.gather(-1, token_choice.unsqueeze(-1)).squeeze(-1)
    with _EvalMode(model), torch.no_grad():
        clean_pred = _forward_ids(model, input_ids, attention_mask, token_type_ids).argmax(-1)
        adv_pred = _forward_ids(model, adv_ids, attention_mask, token_type_ids).argmax(-1)
    return AsccAttackResult(
        choices=choices, input_ids=adv_ids, clean_pred=clean_pred, adv_pred=adv_pred, flipped=adv_pred != clean_pred
    )
