"""Model selection metrics on the validation split: clean accuracy and accuracy under the ASCC attack."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from textattack_rift.training.adversary import _EvalMode, _forward_ids, ascc_attack
from textattack_rift.training.args import RiftArgs
from textattack_rift.training.teacher import unwrap_model


def validation_metrics(
    model,
    loader,
    rift_args: RiftArgs,
    device,
    with_ascc: bool = True,
    seed: int = 0,
    autocast=None,
    progress: bool = False,
) -> dict[str, float]:
    """``clean_accuracy`` and, with ``with_ascc``, ``ascc_accuracy`` (correct on the clean input AND after
    the ASCC attack: CE adversary with the training adversary's steps, lr and alpha, then argmax per word).

    The attack's random start comes from its own generator seeded with ``seed``, so every method and
    every epoch is scored against the same draws and the global RNG is untouched.
    """
    model = unwrap_model(model)
    generator = torch.Generator(device=device).manual_seed(int(seed))
    clean_correct = robust_correct = total = 0
    batches = tqdm(loader, desc="validation", leave=False, disable=not progress)
    with _EvalMode(model):
        for batch in batches:
            batch = batch.to(device)
            with autocast():
                if with_ascc:
                    result = ascc_attack(
                        model,
                        batch.input_ids,
                        batch.attention_mask,
                        batch.candidate_ids,
                        batch.candidate_mask,
                        batch.word_index,
                        batch.labels,
                        token_type_ids=batch.token_type_ids,
                        steps=rift_args.adv_steps,
                        lr=rift_args.adv_lr,
                        entropy_weight=rift_args.adv_entropy_weight,
                        init=rift_args.adv_init,
                        generator=generator,
                    )
                    clean_ok = result.clean_pred == batch.labels
                    robust_correct += int((clean_ok & (result.adv_pred == batch.labels)).sum())
                else:
                    with torch.no_grad():
                        logits = _forward_ids(model, batch.input_ids, batch.attention_mask, batch.token_type_ids)
                    clean_ok = logits.argmax(-1) == batch.labels
            clean_correct += int(clean_ok.sum())
            total += int(batch.labels.numel())
    metrics = {"clean_accuracy": clean_correct / max(total, 1), "examples": total}
    if with_ascc:
        metrics["ascc_accuracy"] = robust_correct / max(total, 1)
    return metrics
