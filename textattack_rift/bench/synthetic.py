"""Synthetic stand-ins for the training benchmark: a random-word batch and a quick strength proxy.

``synthetic_batch`` builds sentences of random whole-word vocabulary tokens, aligned with the fast
tokenizer's word_ids(), with up to K-1 random single-token candidates for about half of the words. It
needs no synonym table and no dataset, which suits unit tests; ``textattack-rift bench train-step``
measures on real sentences instead (``train_data``). ``adversary_strength`` is the cheap tiny-model proxy
of the cheaper adversaries' strength; ``strength`` measures it on a real model and batch.
"""

from __future__ import annotations

import os
import statistics

import torch

from textattack_rift.training.args import RiftArgs
from textattack_rift.bench.train_data import load_classifier
from textattack_rift.training.step import RiftBatch, rift_training_loss
from textattack_rift.training.store import WarmStartStore


def synthetic_batch(tokenizer, batch_size: int, words: int, max_length: int, num_candidates: int, seed: int) -> RiftBatch:
    """A class-balanced batch of random sentences with candidate tensors following the adversary's conventions."""
    gen = torch.Generator().manual_seed(seed)
    vocab = sorted(t for t in tokenizer.get_vocab() if t.isalpha() and t.isascii() and len(t) >= 3)
    pick = lambda n: [vocab[i] for i in torch.randint(len(vocab), (n,), generator=gen).tolist()]  # noqa: E731
    sentences = [pick(words) for _ in range(batch_size)]
    enc = tokenizer(
        sentences, is_split_into_words=True, truncation=True, max_length=max_length, padding=True, return_tensors="pt"
    )
    input_ids = enc["input_ids"]
    word_index = torch.tensor([[-1 if w is None else w for w in enc.word_ids(b)] for b in range(batch_size)])
    candidate_ids = input_ids.unsqueeze(-1).repeat(1, 1, num_candidates)
    candidate_mask = torch.zeros_like(candidate_ids, dtype=torch.bool)
    candidate_mask[..., 0] = True
    vocab_ids = torch.tensor(tokenizer.convert_tokens_to_ids(vocab))
    for b in range(batch_size):
        for w in range(int(word_index[b].max()) + 1):
            positions = (word_index[b] == w).nonzero().flatten()
            if len(positions) != 1 or torch.rand((), generator=gen) < 0.5:
                continue  # multi-token words and about half the others keep their own embedding
            count = int(torch.randint(1, num_candidates, (), generator=gen))
            picks = vocab_ids[torch.randint(len(vocab_ids), (count,), generator=gen)]
            candidate_ids[b, positions[0], 1 : 1 + count] = picks
            candidate_mask[b, positions[0], 1 : 1 + count] = True
    labels = torch.arange(batch_size) % 2
    return RiftBatch(
        input_ids=input_ids,
        attention_mask=enc["attention_mask"],
        labels=labels,
        candidate_ids=candidate_ids,
        candidate_mask=candidate_mask,
        word_index=word_index,
        token_type_ids=enc.get("token_type_ids"),
        indices=torch.arange(batch_size),
    )


def adversary_strength(
    variants: dict[str, RiftArgs] | None = None,
    *,
    reference: RiftArgs | None = None,
    model_dir: str | os.PathLike | None = None,
    tiny: bool = True,
    visits: int = 6,
    train_steps: int = 3,
    seeds: tuple[int, ...] = (0, 1),
    batch_size: int = 32,
    words: int = 20,
    threads: int | None = 2,
) -> dict[str, float]:
    """A proxy for "as strong as 10 fresh steps": mean KL reached by each variant / by ``reference``.

    Between two visits of the same batch the model takes ``train_steps`` TRADES-like updates against a
    3-step adversary, so a warm start meets a model that has been trained against its stored mixture.
    ``tiny`` uses a random 2-layer BERT (hidden 64) with the model's tokenizer, which keeps this a few
    seconds on a CPU; the first visit (all starts cold) is not counted.
    """
    from textattack_rift.training.adversary import forward_embeds, soft_embeddings
    from textattack_rift.training.objectives import kl_divergence
    from textattack_rift.training.step import run_adversary

    reference = reference or RiftArgs()
    if variants is None:
        variants = {
            "fresh_2": RiftArgs(adv_steps=2),
            "fresh_3": RiftArgs(adv_steps=3),
            "warm_2": RiftArgs(adv_warm_start=True, adv_steps_warm=2),
            "warm_3": RiftArgs(adv_warm_start=True, adv_steps_warm=3),
            "short_2_lr3": RiftArgs(adv_steps=2, adv_lr=3.0),
            "short_3_lr3": RiftArgs(adv_steps=3, adv_lr=3.0),
        }
    old_threads = torch.get_num_threads()
    ratios: dict[str, list[float]] = {name: [] for name in variants}
    try:
        if threads:
            torch.set_num_threads(threads)
        for seed in seeds:
            model, tokenizer, _ = load_classifier(model_dir, "cpu", seed, tiny=tiny)
            batch = synthetic_batch(tokenizer, batch_size, words, 4 * words, 9, seed)
            stores = {name: WarmStartStore() for name in variants}
            optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4 if tiny else 2e-5)

            def kl_of(args: RiftArgs, store: WarmStartStore | None, visit: int) -> float:
                gen = torch.Generator().manual_seed(1000 * seed + visit)
                result = run_adversary(model, batch, args, store, gen)
                with torch.no_grad():
                    model.eval()
                    clean = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
                    embeds = soft_embeddings(model, batch.candidate_ids, result.token_weights)
                    adv = forward_embeds(model, embeds, batch.attention_mask).logits
                return float(kl_divergence(clean, adv))

            for visit in range(visits):
                base = kl_of(reference, None, visit)
                for name, args in variants.items():
                    value = kl_of(args, stores[name], visit)
                    if visit > 0:
                        ratios[name].append(value / max(base, 1e-12))
                model.train()
                for _ in range(train_steps):
                    loss, _ = rift_training_loss(model, batch, RiftArgs(adv_steps=3, gamma=0.0, beta=5.0))
                    loss.backward()
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)
    finally:
        torch.set_num_threads(old_threads)
    return {name: statistics.mean(values) for name, values in ratios.items()}
