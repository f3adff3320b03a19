"""How strong each benchmark variant's adversary is, on a trained-ish model and real sentences.

"As strong as 10 fresh steps" is judged two ways, over ``visits`` simulated visits of the same examples
(a warm-started or free adversary only differs from a fresh one from the second visit on):

- KL: the divergence KL(p(y|x) || p(y|x_hat)) the training adversary reaches on the benchmark's training
  batch, divided by what ``reference`` (10 fresh steps) reaches at the same visit;
- ASCC acc: validation accuracy under the ASCC attack (CE objective, then the argmax candidate per
  word) run with the variant's adversary settings: fresh steps, or warm starts from the example's
  previous visit, plus the free step for free variants. Robust accuracy: correct before and after.

Between two visits the model trains ``drift_steps`` TRADES-style steps (beta = 10, a 2-step adversary)
on the training batch and other training batches, at rate ``drift_lr``: a stored start then meets a model
that has moved, and has been trained against mixtures like the stored one. This is a per-step proxy; the
final word is validation robustness after whole training runs with each adversary.

The model: ``model_dir`` as given, or the packaged MiniLM fine-tuned here for ``finetune_steps`` plain
steps on class-balanced training batches.
"""

from __future__ import annotations

import statistics
from typing import Callable

import torch
from torch import Tensor

from textattack_rift.training.adversary import (
    ascc_adversary,
    combination_weights,
    forward_embeds,
    soft_embeddings,
    sparsity_penalty,
    tokens_from_words,
)
from textattack_rift.training.args import RiftArgs
from textattack_rift.training.objectives import kl_divergence
from textattack_rift.training.step import RiftBatch, rift_training_loss, run_adversary
from textattack_rift.training.store import WarmStartStore


def adversary_key(args: RiftArgs, kind: str = "rift") -> tuple:
    """What determines an adversary's behaviour (variants with equal keys share their strength figures).

    ``kind`` "released" is the released script's adversary (``released_variant.released_adversary``).
    """
    warm = args.adv_warm_start
    return (kind == "released", args.adv_steps, args.adv_lr, args.adv_entropy_weight, args.adv_init, warm,
            args.adv_steps_warm if warm else None, args.adv_free)


def initial_argmax_share(result) -> tuple[float, float]:
    """(share of perturbable words whose final choice is the slot their initial logits favoured, chance).

    Chance is the mean of 1 / (number of valid candidates) over the same words: a search that moved
    every word away from its start's bias would sit near it; a locked-in one near 1.
    """
    mask = result.word_mask
    perturbable = mask.sum(-1) >= 2
    if result.initial_logits is None or not bool(perturbable.any()):
        return float("nan"), float("nan")
    start = result.initial_logits.masked_fill(~mask, float("-inf")).argmax(-1)
    final = result.weights.masked_fill(~mask, -1.0).argmax(-1)
    kept = (start == final)[perturbable].float().mean()
    chance = (1.0 / mask.sum(-1).float())[perturbable].mean()
    return float(kept), float(chance)


def _run(model, batch: RiftBatch, args: RiftArgs, kind: str, store, generator):
    if kind == "released":
        from textattack_rift.bench.released_variant import released_adversary

        return released_adversary(model, batch, args, param_grads=False, generator=generator)
    return run_adversary(model, batch, args, store, generator)


def finetune(model, data, steps: int, lr: float, batch_size: int, seed: int, device: str, max_length: int) -> None:
    """Plain CE fine-tuning on ``steps`` class-balanced training batches (no candidates needed)."""
    from textattack_rift.bench.train_data import balanced_indices

    texts, labels = data.split("train")
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for step in range(steps):
        rows = balanced_indices(labels, batch_size, seed + 1 + step)
        enc = data.tokenizer([texts[i] for i in rows], padding=True, truncation=True, max_length=max_length,
                             return_tensors="pt").to(device)
        loss = model(**enc, labels=torch.tensor([labels[i] for i in rows], device=device)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def _predict(model, batch: RiftBatch, input_ids: Tensor) -> Tensor:
    kwargs = {} if batch.token_type_ids is None else {"token_type_ids": batch.token_type_ids}
    return model(input_ids=input_ids, attention_mask=batch.attention_mask, **kwargs).logits


def _eval_kl(model, batch: RiftBatch, token_weights: Tensor) -> float:
    model.eval()
    with torch.no_grad():
        clean = _predict(model, batch, batch.input_ids)
        embeds = soft_embeddings(model, batch.candidate_ids, token_weights)
        adv = forward_embeds(model, embeds, batch.attention_mask, batch.token_type_ids).logits
        return float(kl_divergence(clean, adv))


def _free_step_train(model, batch: RiftBatch, result, args: RiftArgs, store: WarmStartStore) -> None:
    """The free step as a training step would take it (outer KL term, train mode); the model is not updated."""
    from textattack_rift.training.free_adversary import free_token_weights

    model.train()
    weights = free_token_weights(result, batch, args, store)
    clean = _predict(model, batch, batch.input_ids)
    adv = forward_embeds(model, soft_embeddings(model, batch.candidate_ids, weights), batch.attention_mask,
                         batch.token_type_ids).logits
    (args.beta * kl_divergence(clean, adv)).backward()  # the hook stores the stepped logits
    model.zero_grad(set_to_none=True)


def _attack(model, batch: RiftBatch, args: RiftArgs, store: WarmStartStore | None, generator) -> float:
    """Robust accuracy under the ASCC attack with ``args``' adversary (warm-started from ``store`` if given)."""
    init = found = None
    steps = args.adv_steps
    if store is not None:
        init, found = store.lookup(batch.indices, batch.word_index, batch.candidate_ids.shape[-1])
        if bool(found.all()):
            steps = args.adv_steps_warm
    result = ascc_adversary(
        model, batch.input_ids, batch.attention_mask, batch.candidate_ids, batch.candidate_mask, batch.word_index,
        token_type_ids=batch.token_type_ids, labels=batch.labels, objective="ce", steps=steps, lr=args.adv_lr,
        entropy_weight=args.adv_entropy_weight, init=args.adv_init, init_logits=init, init_found=found,
        generator=generator,
    )
    logits = result.logits
    if store is not None and args.adv_free:
        logits = _free_step_attack(model, batch, result, args)
    if store is not None:
        store.update(batch.indices, logits, batch.word_index, result.word_mask)
    choices = result.weights.masked_fill(~result.word_mask, -1.0).argmax(-1)
    token_choice = tokens_from_words(choices.unsqueeze(-1), batch.word_index, fill=0).squeeze(-1)
    adv_ids = batch.candidate_ids.gather(-1, token_choice.unsqueeze(-1)).squeeze(-1)
    model.eval()
    with torch.no_grad():
        clean = _predict(model, batch, batch.input_ids).argmax(-1)
        adv = _predict(model, batch, adv_ids).argmax(-1)
    return float(((clean == batch.labels) & (adv == batch.labels)).float().mean())


def _free_step_attack(model, batch: RiftBatch, result, args: RiftArgs) -> Tensor:
    """The attack's analogue of the free step: one sign step of CE - alpha*H at the mixture just used."""
    model.eval()
    leaf = result.logits.clone().requires_grad_(True)
    with torch.enable_grad():
        weights = tokens_from_words(combination_weights(leaf, result.word_mask), batch.word_index)
        adv = forward_embeds(model, soft_embeddings(model, batch.candidate_ids, weights), batch.attention_mask,
                             batch.token_type_ids).logits.float()
        value = torch.nn.functional.cross_entropy(adv, batch.labels, reduction="sum") - sparsity_penalty(
            leaf, result.word_mask, args.adv_entropy_weight)
        (grad,) = torch.autograd.grad(value, leaf)
    model.zero_grad(set_to_none=True)
    return result.logits + args.adv_lr * grad.sign()


def measure_strength(
    model_dir,
    data,
    variants,
    *,
    batch: RiftBatch,
    device: str = "cpu",
    seed: int = 0,
    reference: RiftArgs | None = None,
    finetune_steps: int = 100,
    finetune_lr: float = 5e-5,
    visits: int = 4,
    drift_steps: int = 3,
    drift_lr: float = 5e-5,
    val_examples: int = 64,
    save_model: str | None = None,
    log: Callable[[str], None] | None = None,
) -> dict:
    """KL ratio and ASCC accuracy per variant (keyed by name; variants without an adversary are left out).

    ``batch`` is the benchmark's training batch (dynamic padding). ``reference`` defaults to the
    released script's adversary when a ``released`` variant is benchmarked, else to the ``rift``
    variant's arguments (10 fresh steps). Every variant also reports ``initial_argmax`` (the share of
    perturbable words ending on the slot their starting logits favoured; fresh visits) and its chance level. ``save_model`` keeps the fine-tuned model (a directory
    that ``model_dir`` accepts later).
    """
    from textattack_rift.bench.train_data import load_classifier

    log = log or (lambda message: None)
    if visits < 2:
        raise ValueError(f"strength needs at least 2 visits (the first is fresh for every variant), got {visits}")
    # FreeLB++ perturbs embeddings, not synonym weights: it has no ASCC adversary to measure.
    adversarial = [v for v in variants if v.args is not None and not v.args.uses_freelb]
    ref_kind = "rift"
    if reference is None:
        released = [v.args for v in adversarial if v.kind == "released"]
        named = [v.args for v in adversarial if v.name == "rift"]
        reference = (released or named or [RiftArgs()])[0]
        ref_kind = "released" if released else "rift"
    configs: dict[tuple, tuple[RiftArgs, str]] = {adversary_key(reference, ref_kind): (reference, ref_kind)}
    for variant in adversarial:
        configs.setdefault(adversary_key(variant.args, variant.kind), (variant.args, variant.kind))
    ref_key = adversary_key(reference, ref_kind)

    model, _, model_name = load_classifier(model_dir, device, seed)
    if model_dir is None:
        log(f"strength: fine-tuning {model_name} for {finetune_steps} plain steps")
        finetune(model, data, finetune_steps, finetune_lr, batch.input_ids.shape[0], seed, device, data.max_length)
        model_name = f"minilm fine-tuned {finetune_steps} plain steps (lr {finetune_lr:g})"
        if save_model:
            _save(model, data.tokenizer, save_model)
            log(f"strength: fine-tuned model saved to {save_model}")
    batch = batch.to(device)
    val, _ = data.batch("validation", val_examples, seed)
    val = val.to(device)
    drift_args = RiftArgs(gamma=0.0, adv_steps=2, adv_lr=3.0)
    drift_optimizer = torch.optim.AdamW(model.parameters(), lr=drift_lr)
    drift_batches = [batch] + [
        data.batch("train", batch.input_ids.shape[0], seed + 1000 + k, exclude=batch.indices.tolist())[0].to(device)
        for k in range(max(drift_steps - 1, 0))
    ]
    train_stores = {key: WarmStartStore() for key, (args, _) in configs.items() if args.adv_warm_start}
    val_stores = {key: WarmStartStore() for key, (args, _) in configs.items() if args.adv_warm_start}
    kl: dict[tuple, list[float]] = {key: [] for key in configs}
    kept: dict[tuple, list[tuple[float, float]]] = {key: [] for key in configs}
    acc: dict[tuple, list[float]] = {key: [] for key in configs}
    clean_accs = []
    for visit in range(visits):
        model.eval()
        with torch.no_grad():
            clean_accs.append(float((_predict(model, val, val.input_ids).argmax(-1) == val.labels).float().mean()))
        for key, (args, kind) in configs.items():
            generator = torch.Generator().manual_seed(1000 * seed + visit)
            result = _run(model, batch, args, kind, train_stores.get(key), generator)
            kl[key].append(_eval_kl(model, batch, result.token_weights))
            kept[key].append(initial_argmax_share(result))
            if args.adv_free and key in train_stores:
                _free_step_train(model, batch, result, args, train_stores[key])
            generator = torch.Generator().manual_seed(1000 * seed + visit)
            acc[key].append(_attack(model, val, args, val_stores.get(key), generator))
        log(f"strength visit {visit + 1}/{visits}: reference KL {kl[ref_key][-1]:.4f}, ASCC acc {acc[ref_key][-1]:.3f}")
        if visit + 1 < visits:
            model.train()
            for drift_batch in drift_batches:
                loss, _ = rift_training_loss(model, drift_batch, drift_args)
                loss.backward()
                drift_optimizer.step()
                drift_optimizer.zero_grad(set_to_none=True)

    later = range(1, visits)
    figures = {}
    for key in configs:
        figures[key] = {
            "kl": statistics.mean(kl[key][v] for v in later),
            "kl_ratio": statistics.mean(kl[key][v] / max(kl[ref_key][v], 1e-12) for v in later),
            "kl_ratio_last": kl[key][-1] / max(kl[ref_key][-1], 1e-12),
            "ascc_acc": statistics.mean(acc[key][v] for v in later),
            # the first visit is fresh for every variant (warm starts have nothing stored yet)
            "initial_argmax": kept[key][0][0],
            "initial_argmax_chance": kept[key][0][1],
            "initial_argmax_per_visit": [k for k, _ in kept[key]],
            "kl_per_visit": kl[key],
            "ascc_acc_per_visit": acc[key],
        }
    return {
        "model": str(model_name),
        "reference": ("released script's adversary, " if ref_kind == "released" else "")
        + f"{reference.adv_steps} fresh steps (lr {reference.adv_lr:g})",
        "visits": visits,
        "drift_steps": drift_steps,
        "drift_lr": drift_lr,
        "val_examples": int(val.input_ids.shape[0]),
        "clean_acc": statistics.mean(clean_accs[v] for v in later),
        "reference_ascc_acc": figures[ref_key]["ascc_acc"],
        "clean_acc_per_visit": clean_accs,
        "variants": {v.name: figures[adversary_key(v.args, v.kind)] for v in adversarial},
    }


def _save(model, tokenizer, directory: str) -> None:
    from textattack_rift.resources.atomic import atomic_path

    with atomic_path(directory) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
