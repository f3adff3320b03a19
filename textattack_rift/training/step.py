"""One RIFT training step: adversary, forward passes, teacher pass, the objectives, and their backward.

The trainer calls ``training_backward``, which back-propagates the step's loss itself, in two passes
for the methods with an adversary (``_two_pass_backward``): the adversarial half first, then the clean
half, so only one half's activations are alive at a time (peak memory about that of a plain step plus
the frozen teacher, instead of a graph over clean and adversarial rows together). The gradient is
exactly that of the one-graph loss: L's clean-side and adversarial-side partial gradients are computed
separately and summed in ``.grad``; the clean half repeats the dropout masks of a no-grad clean pass
run before the adversarial half (torch's RNG state is saved and restored), which gives the fixed
p(y|x) the adversarial half's KL needs.

``rift_training_loss`` is the same loss as ONE graph, returned as a tensor (for callers that need the
loss itself: TextAttack's ``training_step`` hook, the benchmarks); it holds both halves at once.

Under DistributedDataParallel pass the WRAPPED classifier (and heads): the adversary unwraps it; each
pass runs one forward of the wrapper per backward, the first backward inside ``no_sync`` so gradients
are all-reduced once, after the last. Autocast from the caller applies to the forward passes.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, fields
from typing import Callable, ContextManager

import torch
from torch import Tensor, nn

from textattack_rift.training.adversary import AdversaryResult, ascc_adversary, forward_embeds, soft_embeddings
from textattack_rift.training.args import RiftArgs
from textattack_rift.training.distributed import unsynced
from textattack_rift.training.objectives import pooled_features, rift_loss, weighted_total
from textattack_rift.training.store import WarmStartStore
from textattack_rift.training.teacher import encoder_of, teacher_features, unwrap_model


@dataclass
class RiftBatch:
    """A padded batch with its candidate tensors (conventions in ``adversary``).

    ``indices`` are the dataset indices, needed only by the warm-start store.
    """

    input_ids: Tensor
    attention_mask: Tensor
    labels: Tensor
    candidate_ids: Tensor
    candidate_mask: Tensor
    word_index: Tensor
    token_type_ids: Tensor | None = None
    indices: Tensor | None = None

    @classmethod
    def from_candidates(cls, tensors, labels: Tensor, indices: Tensor | None = None) -> "RiftBatch":
        """From any object with the candidate tensors' attributes (e.g. threat.candidates.CandidateTensors)."""
        names = ("input_ids", "attention_mask", "candidate_ids", "candidate_mask", "word_index", "token_type_ids")
        return cls(labels=labels, indices=indices, **{name: getattr(tensors, name) for name in names})

    def to(self, device: torch.device | str) -> "RiftBatch":
        moved = {}
        for f in fields(self):
            value = getattr(self, f.name)
            # indices stay where they are: the store reads them on the CPU.
            moved[f.name] = value.to(device) if isinstance(value, Tensor) and f.name != "indices" else value
        return RiftBatch(**moved)


def make_store(args: RiftArgs) -> WarmStartStore | None:
    """The warm-start store ``args`` asks for (on disk under ``adv_store_dir`` if set), or None.

    Methods that never run the ASCC adversary (standard fine-tuning, FreeLB++) get no store even when
    a warm-start setting is shared with the other methods (a recipe's ``[training.rift_args]``).
    """
    if not args.adv_warm_start or not args.uses_adversary:
        return None
    return WarmStartStore(args.adv_store_dir)


def run_adversary(
    model: nn.Module,
    batch: RiftBatch,
    args: RiftArgs,
    store: WarmStartStore | None = None,
    generator: torch.Generator | None = None,
) -> AdversaryResult:
    """The ASCC adversary for a training batch, warm-started from ``store`` when ``args.adv_warm_start``.

    A batch takes ``adv_steps_warm`` steps only when EVERY example has a stored start (a step costs
    the whole batch's forward/backward, so a mixed batch gains nothing from fewer steps for some rows).
    """
    model = unwrap_model(model)
    init_logits = found = None
    steps = args.adv_steps
    warm = args.adv_warm_start and store is not None
    if warm:
        if batch.indices is None:
            raise ValueError("adv_warm_start needs the batch's dataset indices (RiftBatch.indices)")
        init_logits, found = store.lookup(batch.indices, batch.word_index, batch.candidate_ids.shape[-1])
        if found.numel() and bool(found.all()):
            steps = args.adv_steps_warm
    result = ascc_adversary(
        model,
        batch.input_ids,
        batch.attention_mask,
        batch.candidate_ids,
        batch.candidate_mask,
        batch.word_index,
        token_type_ids=batch.token_type_ids,
        steps=steps,
        lr=args.adv_lr,
        entropy_weight=args.adv_entropy_weight,
        init=args.adv_init,
        init_logits=init_logits,
        init_found=found,
        generator=generator,
    )
    if warm:
        store.update(batch.indices, result.logits, batch.word_index, result.word_mask)
    return result


def rift_training_loss(
    model: nn.Module,
    batch: RiftBatch,
    args: RiftArgs,
    *,
    heads: nn.Module | None = None,
    teacher: nn.Module | None = None,
    store: WarmStartStore | None = None,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, dict[str, float]]:
    """L = CE(f(x),y) + beta*KL(p(y|x)||p(y|x_hat)) + gamma*MI (+ L2) as one graph: total and per-term logs.

    ``model`` is in train mode (the adversary switches to eval internally and restores it). The student
    feature S(x_hat) comes from the same forward pass as the adversarial logits; T(x) from one no-grad
    pass of ``teacher``. Logs also hold ``adv_steps`` (the steps the adversary took) and the batch's
    clean and adversarial accuracy (``clean_acc``, ``adv_acc``). Training uses ``training_backward``,
    which gives the same gradient at about a plain step's memory.
    """
    if args.uses_freelb:
        raise ValueError("FreeLB's K passes back-propagate themselves and have no one-graph loss: use training_backward")
    bare = unwrap_model(model)
    size = batch.input_ids.shape[0]
    if not args.uses_adversary:
        clean_logits = _forward_clean(model, batch).logits
        loss, logs = rift_loss(args, batch.labels, clean_logits, encoder=encoder_of(bare), pretrained=teacher)
        logs["clean_acc"] = batch_accuracy(clean_logits, batch.labels)
        return loss, logs

    adversary, adv_embeds = _adversarial_embeds(model, batch, args, store, generator)
    clean_embeds = bare.get_input_embeddings()(batch.input_ids)
    type_ids = None if batch.token_type_ids is None else batch.token_type_ids.repeat(2, 1)
    outputs = forward_embeds(
        model,
        torch.cat([clean_embeds, adv_embeds.to(clean_embeds.dtype)]),
        batch.attention_mask.repeat(2, 1),
        type_ids,
        output_hidden_states=args.gamma > 0,
    )
    clean_logits, adv_logits = outputs.logits[:size], outputs.logits[size:]
    student = teacher_feats = None
    if args.gamma > 0:
        student = pooled_features(bare, outputs, args.feature, batch.attention_mask.repeat(2, 1))[size:]
        teacher_feats = _teacher_features(teacher, heads, batch, args)
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
    return loss, _with_step_logs(logs, adversary, clean_logits, adv_logits, batch.labels)


def training_backward(
    model: nn.Module,
    batch: RiftBatch,
    args: RiftArgs,
    *,
    heads: nn.Module | None = None,
    teacher: nn.Module | None = None,
    store: WarmStartStore | None = None,
    generator: torch.Generator | None = None,
    scale: float = 1.0,
    autocast: Callable[[], ContextManager] = contextlib.nullcontext,
) -> dict[str, float]:
    """Back-propagate ``scale`` * L of one batch into the parameters' ``.grad``; returns the logs.

    The logs are ``rift_training_loss``'s. Standard fine-tuning is one forward and one backward; the
    methods with an adversary use ``_two_pass_backward``; FreeLB++ runs its own K passes
    (``freelb.freelb_backward``, with its own logs). ``autocast`` wraps the forward passes.
    """
    if args.uses_freelb:
        from textattack_rift.training.freelb import freelb_backward

        return freelb_backward(model, batch, args, scale=scale, autocast=autocast)
    if not args.uses_adversary:
        with autocast():
            loss, logs = rift_training_loss(model, batch, args, teacher=teacher)
        (loss * scale).backward()
        return logs
    return _two_pass_backward(model, batch, args, heads, teacher, store, generator, scale, autocast)


def _two_pass_backward(model, batch: RiftBatch, args: RiftArgs, heads, teacher, store, generator, scale: float,
                       autocast) -> dict[str, float]:
    """L's gradient in two backward passes, one half's activations alive at a time (module docstring).

    1. the adversary (as in ``rift_training_loss``), then p(y|x) from a no-grad clean pass;
    2. adversarial half: beta*KL(p(y|x) fixed || p(y|x_hat)) + gamma*MI(S(x_hat), T(x)), backward;
    3. clean half, with the no-grad pass's dropout masks: CE + beta*KL(p(y|x) || p(y|x_hat) fixed)
       (+ L2), backward. Steps 2 and 3 differentiate L with respect to each side; their sum is L's gradient.
    """
    bare = unwrap_model(model)
    device = batch.input_ids.device
    with autocast():
        adversary, _ = _adversarial_embeds(model, batch, args, store, generator, weights_only=True)
    before_clean = _rng_state(device)
    with torch.no_grad(), autocast():
        clean_target = _forward_clean(bare, batch).logits.detach()

    with unsynced(model):
        with autocast():
            adv_embeds = soft_embeddings(bare, batch.candidate_ids, adversary.token_weights)
            embedding_dtype = bare.get_input_embeddings().weight.dtype  # as the clean rows' lookup gives
            outputs = forward_embeds(
                model, adv_embeds.to(embedding_dtype), batch.attention_mask, batch.token_type_ids,
                output_hidden_states=args.gamma > 0,
            )
            adv_logits = outputs.logits
            student = teacher_feats = None
            if args.gamma > 0:
                student = pooled_features(bare, outputs, args.feature, batch.attention_mask)
                teacher_feats = _teacher_features(teacher, heads, batch, args)
            # CE of the fixed clean logits is a constant here (no gradient); it is evaluated so that a
            # non-finite loss is reported by the same term, in the same order, as the one-graph loss.
            adv_loss, adv_logs = rift_loss(
                args, batch.labels, clean_target, adv_logits, student_feats=student, teacher_feats=teacher_feats,
                heads=heads, only=("ce", "kl", "mi"),
            )
        (adv_loss * scale).backward()
    adv_logits = adv_logits.detach()
    del outputs, student, adv_embeds, adv_loss

    after_adversarial = _rng_state(device)
    _set_rng_state(device, before_clean)  # the clean half draws the no-grad pass's dropout masks again
    with autocast():
        clean_logits = _forward_clean(model, batch).logits
        clean_loss, clean_logs = rift_loss(
            args, batch.labels, clean_logits, adv_logits, encoder=encoder_of(bare), pretrained=teacher,
            only=("ce", "kl", "l2"),
        )
    _set_rng_state(device, after_adversarial)
    (clean_loss * scale).backward()
    logs = {**clean_logs, **adv_logs}  # kl: the same value from both halves
    logs["loss"] = weighted_total(args, logs)
    return _with_step_logs(logs, adversary, clean_logits, adv_logits, batch.labels)


def _adversarial_embeds(model, batch: RiftBatch, args: RiftArgs, store, generator, weights_only: bool = False):
    """The adversary's result (token weights made free-differentiable when ``adv_free``) and x_hat's embeddings."""
    adversary = run_adversary(model, batch, args, store, generator)
    if args.adv_free and store is not None:  # the outer backward also takes one adversary step (free_adversary)
        from textattack_rift.training.free_adversary import free_token_weights

        adversary.token_weights = free_token_weights(adversary, batch, args, store)
    if weights_only:
        return adversary, None
    return adversary, soft_embeddings(unwrap_model(model), batch.candidate_ids, adversary.token_weights)


def _forward_clean(model: nn.Module, batch: RiftBatch):
    """The classifier on the clean input ids (position/type embeddings as usual)."""
    kwargs = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask}
    if batch.token_type_ids is not None:
        kwargs["token_type_ids"] = batch.token_type_ids
    return model(**kwargs)


def _teacher_features(teacher, heads, batch: RiftBatch, args: RiftArgs) -> Tensor:
    if teacher is None or heads is None:
        raise ValueError("gamma > 0 needs the frozen teacher and the projection heads")
    return teacher_features(teacher, batch.input_ids, batch.attention_mask, batch.token_type_ids, args.feature)


def _with_step_logs(logs: dict, adversary: AdversaryResult, clean_logits, adv_logits, labels) -> dict[str, float]:
    logs["adv_steps"] = float(adversary.steps)
    logs["clean_acc"] = batch_accuracy(clean_logits, labels)
    logs["adv_acc"] = batch_accuracy(adv_logits, labels)
    return logs



def _rng_state(device: torch.device) -> tuple:
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda


def _set_rng_state(device: torch.device, state: tuple) -> None:
    cpu, cuda = state
    torch.set_rng_state(cpu)
    if cuda is not None:
        torch.cuda.set_rng_state(cuda, device)


def batch_accuracy(logits: Tensor, labels: Tensor) -> float:
    """Share of the batch whose argmax prediction is the label (for the metrics log)."""
    return float((logits.detach().argmax(-1) == labels).float().mean())
