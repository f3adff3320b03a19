"""The released RIFT script's training step, expressed with this package's parts: a BENCHMARK REFERENCE.

This is not a training option and no trainer uses it. ``textattack-rift bench train-step`` times it
against ``step.rift_training_loss`` to show what the script's choices cost (RIFT-SPEC section 5). It
computes the same loss (same adversary, same objectives) in the script's way:

1. the adversary's inner loop back-propagates into every weight: the parameters require gradients, the
   candidates are looked up through the embedding matrix at every step, and ``backward()`` fills every
   parameter's ``.grad``, which is then thrown away (here: restored to what it was before);
2. the outer loss runs separate forward passes for the clean and the adversarial input, and the encoder
   once more on the adversarial input for the MI term's student feature;
3. batches are padded to the maximum length (64 in the reference condition): the caller pads them
   (``train_data.pad_batch``), since padding is a property of the batch, not of the step.

The adversary's objective and initialisation are written here independently of ``adversary.py``, in
the script's own form: ``sum_b KL_b - alpha * (entropy summed over the batch and all positions) /
(300*128)``, from ``torch.nn.init.kaiming_normal_`` on a ``[B, L, S, 1]`` tensor (L word positions, S
candidate slots), so the benchmark's strength figures compare our adversary with the script's.

``param_grads=False`` keeps 2 and 3 but restricts the inner loop's gradient to the combination logits
(the middle data point of the issue's measurements). With dropout off and the same adversary
initialisation (the same ``generator`` seed), the loss equals ``rift_training_loss``'s up to float
rounding (Adam is invariant to the objective's overall scale, up to its epsilon). Single process only
(several forward passes per backward do not suit DDP).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from textattack_rift.training.adversary import (
    AdversaryResult,
    check_candidates,
    combination_weights,
    forward_embeds,
    soft_embeddings,
    tokens_from_words,
    word_candidate_mask,
)
from textattack_rift.training.args import RiftArgs
from textattack_rift.training.objectives import kl_divergence, rift_loss
from textattack_rift.training.step import RiftBatch
from textattack_rift.training.teacher import encoder_of, teacher_features, unwrap_model


def _type_kwargs(token_type_ids: Tensor | None) -> dict:
    return {} if token_type_ids is None else {"token_type_ids": token_type_ids}


SCRIPT_ENTROPY_DIVISOR = 300 * 128


def script_objective(clean_logits: Tensor, adv_logits: Tensor, logits: Tensor, word_mask: Tensor, alpha: float) -> Tensor:
    """The script's adversary objective: KL summed over the batch minus alpha * summed entropy / 38400."""
    log_p = torch.log_softmax(clean_logits.float(), dim=-1)
    log_q = torch.log_softmax(adv_logits.float(), dim=-1)
    kl_sum = (log_p.exp() * (log_p - log_q)).sum()
    log_w = torch.log_softmax(logits.float().masked_fill(~word_mask, -1e9), dim=-1)
    entropy_sum = -(log_w.exp() * log_w * word_mask).sum()
    return kl_sum - alpha * entropy_sum / SCRIPT_ENTROPY_DIVISOR


def script_initial_logits(shape: tuple[int, int, int], init: str, device, generator=None) -> Tensor:
    """Kaiming-normal logits of a [B, L, S, 1] tensor (fan-in L*S), as the script draws them."""
    if init == "zeros":
        return torch.zeros(shape, device=device)
    gen_device = generator.device if generator is not None else device
    logits = torch.empty(*shape, 1, device=gen_device)
    torch.nn.init.kaiming_normal_(logits, generator=generator)
    return logits.squeeze(-1).to(device)


def released_adversary(
    model: nn.Module,
    batch: RiftBatch,
    args: RiftArgs,
    *,
    param_grads: bool = True,
    generator: torch.Generator | None = None,
) -> AdversaryResult:
    """The script's ASCC inner loop: ``args.adv_steps`` Adam steps maximising KL - alpha * H(w).

    With ``param_grads`` every step runs ``backward()`` into all weights (the script's cost); the
    parameters' ``.grad`` are restored afterwards, so the caller's gradients are untouched. The
    initial logits are drawn exactly as ``adversary.ascc_adversary`` draws them.
    """
    model = unwrap_model(model)
    check_candidates(batch.input_ids, batch.candidate_ids, batch.candidate_mask, batch.word_index)
    word_mask = word_candidate_mask(batch.candidate_mask, batch.word_index)
    logits = script_initial_logits(tuple(word_mask.shape), args.adv_init, batch.input_ids.device, generator)
    start = logits.detach().clone()
    logits = logits.detach().requires_grad_(True)
    kwargs = _type_kwargs(batch.token_type_ids)
    was_training = model.training
    saved = [(param, param.grad) for param in model.parameters()]
    model.eval()  # no dropout in the inner loop, as in the script
    try:
        with torch.no_grad():
            clean_logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, **kwargs).logits
        optimizer = torch.optim.Adam([logits], lr=args.adv_lr, maximize=True)
        with torch.enable_grad():
            for _ in range(args.adv_steps):
                weights = tokens_from_words(combination_weights(logits, word_mask), batch.word_index)
                # Looked up inside the loop, with a graph back to the embedding matrix, as in the script.
                embeds = soft_embeddings(model, batch.candidate_ids, weights)
                adv_logits = forward_embeds(model, embeds, batch.attention_mask, batch.token_type_ids).logits.float()
                value = script_objective(clean_logits, adv_logits, logits, word_mask, args.adv_entropy_weight)
                optimizer.zero_grad(set_to_none=True)
                if param_grads:
                    value.backward()  # every weight's gradient too: the script's cost
                else:
                    (logits.grad,) = torch.autograd.grad(value, logits)
                optimizer.step()
    finally:
        for param, grad in saved:  # the script throws the inner loop's weight gradients away
            param.grad = grad
        model.train(was_training)
    logits = logits.detach()
    weights = combination_weights(logits, word_mask)
    return AdversaryResult(
        logits=logits,
        weights=weights,
        token_weights=tokens_from_words(weights, batch.word_index),
        word_mask=word_mask,
        steps=args.adv_steps,
        initial_logits=start,
    )


def released_training_loss(
    model: nn.Module,
    batch: RiftBatch,
    args: RiftArgs,
    *,
    heads: nn.Module | None = None,
    teacher: nn.Module | None = None,
    param_grads: bool = True,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, dict[str, float]]:
    """The same L = CE + beta*KL + gamma*MI (+ L2) as ``rift_training_loss``, computed the script's way.

    Separate clean and adversarial forward passes, and for gamma > 0 one more encoder pass on the
    adversarial input for S(x_hat). Logs as ``rift_training_loss`` (including ``adv_steps``).
    """
    if not args.uses_adversary:
        raise ValueError("the released script's step always runs the adversary: use beta > 0 or gamma > 0")
    bare = unwrap_model(model)
    kwargs = _type_kwargs(batch.token_type_ids)
    adversary = released_adversary(model, batch, args, param_grads=param_grads, generator=generator)
    clean_logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, **kwargs).logits
    adv_embeds = soft_embeddings(bare, batch.candidate_ids, adversary.token_weights)
    adv_logits = forward_embeds(model, adv_embeds, batch.attention_mask, batch.token_type_ids).logits
    student = teacher_feats = None
    if args.gamma > 0:
        if teacher is None or heads is None:
            raise ValueError("gamma > 0 needs the frozen teacher and the projection heads")
        # The script's extra encoder pass: S(x_hat) from the encoder run again on the adversarial input.
        encoded = encoder_of(bare)(inputs_embeds=adv_embeds, attention_mask=batch.attention_mask, **kwargs)
        student = encoded.last_hidden_state[:, 0]
        teacher_feats = teacher_features(teacher, batch.input_ids, batch.attention_mask, batch.token_type_ids)
    loss, logs = rift_loss(
        args,
        batch.labels,
        clean_logits,
        adv_logits,
        student_feats=student,
        teacher_feats=teacher_feats,
        heads=heads,
        encoder=encoder_of(bare),
        pretrained=teacher,
    )
    logs["adv_steps"] = float(adversary.steps)
    return loss, logs
