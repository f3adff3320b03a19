"""One RIFT training step's loss: adversary, one joint forward pass, teacher pass, and the objectives.

The trainer calls ``rift_training_loss`` and then ``loss.backward()`` / ``optimizer.step()``. Under
DistributedDataParallel pass the WRAPPED classifier (and heads): the adversary unwraps it, while the
outer loss runs ONE forward pass of the wrapper on the clean and adversarial inputs stacked along the
batch, so DDP sees exactly one forward per backward. Autocast from the caller applies throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor, nn

from textattack_rift.training.adversary import AdversaryResult, ascc_adversary, forward_embeds, soft_embeddings
from textattack_rift.training.args import RiftArgs
from textattack_rift.training.objectives import pooled_features, rift_loss
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
    """The warm-start store ``args`` asks for (on disk under ``adv_store_dir`` if set), or None."""
    if not args.adv_warm_start:
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
    """L = CE(f(x),y) + beta*KL(p(y|x)||p(y|x_hat)) + gamma*MI (+ L2): total and per-term logs.

    ``model`` is in train mode (the adversary switches to eval internally and restores it). The student
    feature S(x_hat) comes from the same forward pass as the adversarial logits; T(x) from one no-grad
    pass of ``teacher``. Logs also hold ``adv_steps`` (the steps the adversary took) and the batch's
    clean and adversarial accuracy (``clean_acc``, ``adv_acc``).
    """
    bare = unwrap_model(model)
    size = batch.input_ids.shape[0]
    if not args.uses_adversary:
        kwargs = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask}
        if batch.token_type_ids is not None:
            kwargs["token_type_ids"] = batch.token_type_ids
        clean_logits = model(**kwargs).logits
        loss, logs = rift_loss(args, batch.labels, clean_logits, encoder=encoder_of(bare), pretrained=teacher)
        logs["clean_acc"] = batch_accuracy(clean_logits, batch.labels)
        return loss, logs

    adversary = run_adversary(model, batch, args, store, generator)
    if args.adv_free and store is not None:  # the outer backward also takes one adversary step (free_adversary)
        from textattack_rift.training.free_adversary import free_token_weights

        adversary.token_weights = free_token_weights(adversary, batch, args, store)
    clean_embeds = bare.get_input_embeddings()(batch.input_ids)
    adv_embeds = soft_embeddings(bare, batch.candidate_ids, adversary.token_weights)
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
        if teacher is None or heads is None:
            raise ValueError("gamma > 0 needs the frozen teacher and the projection heads")
        student = pooled_features(bare, outputs)[size:]
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
    logs["clean_acc"] = batch_accuracy(clean_logits, batch.labels)
    logs["adv_acc"] = batch_accuracy(adv_logits, batch.labels)
    return loss, logs


def batch_accuracy(logits: Tensor, labels: Tensor) -> float:
    """Share of the batch whose argmax prediction is the label (for the metrics log)."""
    return float((logits.detach().argmax(-1) == labels).float().mean())
