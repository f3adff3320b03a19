"""Time a plain fine-tuning step against RIFT steps, and compare the cheaper adversaries' strength.

The input is synthetic but shaped like the real thing: sentences of random whole-word vocabulary
tokens, aligned with the fast tokenizer's word_ids(), and up to K-1 random single-token candidates for
about half of the words (the counter-fitted table gives ~half of the vocabulary neighbours). It needs no
synonym table and no network, so ``textattack-rift bench train-step`` runs anywhere.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time

import torch

from textattack_rift.training.args import RiftArgs
from textattack_rift.training.objectives import ProjectionHeads
from textattack_rift.training.step import RiftBatch, rift_training_loss
from textattack_rift.training.store import WarmStartStore
from textattack_rift.training.teacher import make_teacher


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


def bench_train_step(
    model_dir: str | os.PathLike | None = None,
    *,
    batch_size: int = 32,
    words: int = 20,
    max_length: int = 40,
    num_candidates: int = 9,
    adv_steps: int = 10,
    warm_steps: int = 2,
    short_lr: float = 3.0,
    repeats: int = 3,
    threads: int | None = 2,
    device: str = "cpu",
    bf16: bool = False,
    seed: int = 0,
) -> dict:
    """Seconds and ratios to a plain fine-tuning step of three RIFT steps.

    ``rift``: ``adv_steps`` fresh adversary steps; ``rift_warm``: ``warm_steps`` steps warm-started from
    the store; ``rift_short``: ``warm_steps`` fresh steps with Adam lr ``short_lr``. Each step is forward
    + backward + AdamW update; the RIFT steps include the teacher pass and the MI term. All are timed in
    alternation in one run; ``*_s`` and ``*_ratio`` use the fastest of ``repeats`` wall times,
    ``*_cpu_ratio`` the median process CPU time (less disturbed on a shared machine). ``model_dir``
    defaults to the packaged MiniLM.
    """
    old_threads = torch.get_num_threads()
    try:
        if threads:
            torch.set_num_threads(threads)
        model, tokenizer, model_dir = _load_classifier(model_dir, device, seed)
        batch = synthetic_batch(tokenizer, batch_size, words, max_length, num_candidates, seed).to(device)
        fresh = RiftArgs(adv_steps=adv_steps)
        warm = RiftArgs(adv_steps=adv_steps, adv_warm_start=True, adv_steps_warm=warm_steps)
        short = RiftArgs(adv_steps=warm_steps, adv_lr=short_lr)
        teacher = make_teacher(model)
        heads = ProjectionHeads.from_args(fresh, model.config.hidden_size, 2).to(device)
        optimizer = torch.optim.AdamW([*model.parameters(), *heads.parameters()], lr=2e-5)
        store = WarmStartStore()
        model.train()
        device_type = torch.device(device).type
        autocast = torch.autocast(device_type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

        def plain() -> None:
            kwargs = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask, "labels": batch.labels}
            if batch.token_type_ids is not None:
                kwargs["token_type_ids"] = batch.token_type_ids
            with autocast:
                loss = model(**kwargs).loss
            _update(loss)

        def rift(args: RiftArgs) -> None:
            with autocast:
                loss, _ = rift_training_loss(model, batch, args, heads=heads, teacher=teacher, store=store)
            _update(loss)

        def _update(loss: torch.Tensor) -> None:
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        steps = {
            "plain": plain,
            "rift": lambda: rift(fresh),
            "rift_warm": lambda: rift(warm),
            "rift_short": lambda: rift(short),
        }
        for run in steps.values():  # warm-up; this also fills the warm-start store
            run()
        wall: dict[str, list[float]] = {name: [] for name in steps}
        cpu: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(repeats):
            for name, run in steps.items():
                seconds, cpu_seconds = _timed(run, device)
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)
        # The fastest wall time is the one least disturbed by other processes.
        best = {name: min(values) for name, values in wall.items()}
        cpu_median = {name: statistics.median(values) for name, values in cpu.items()}
        result = {
            "model": str(model_dir),
            "device": device,
            "bf16": bf16,
            "threads": torch.get_num_threads(),
            "batch_size": batch_size,
            "tokens": int(batch.input_ids.shape[1]),
            "adv_steps": adv_steps,
            "warm_steps": warm_steps,
            "short_lr": short_lr,
            "repeats": repeats,
        }
        for name in steps:
            result[f"{name}_s"] = best[name]
            if name != "plain":
                result[f"{name}_ratio"] = best[name] / best["plain"]
                result[f"{name}_cpu_ratio"] = cpu_median[name] / cpu_median["plain"]
        result["warm_hit_rate"] = store.hit_rate  # includes the warm-up's first visit (all misses)
        return result
    finally:
        torch.set_num_threads(old_threads)


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
            model, tokenizer, _ = _load_classifier(model_dir, "cpu", seed, tiny=tiny)
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


def _load_classifier(model_dir, device: str, seed: int, tiny: bool = False):
    """(model, tokenizer, model_dir): the classifier from ``model_dir`` (default: packaged MiniLM), or a
    random tiny BERT with its tokenizer when ``tiny``."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if model_dir is None:
        from textattack_rift.resources.bundled import MINILM_PIP, packaged_minilm_dir

        model_dir = packaged_minilm_dir()
        if model_dir is None:
            raise FileNotFoundError(f"no model given and the packaged MiniLM is missing ({MINILM_PIP})")
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    if tiny:
        from textattack_rift.models.tiny import tiny_bert_classifier

        model = tiny_bert_classifier(
            len(tokenizer), hidden_size=64, num_layers=2, max_positions=512, initializer_range=0.2, dropout=0.0, seed=seed
        )
        return model.to(device), tokenizer, model_dir
    old_verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the new classifier head's "newly initialized" warning
    try:
        model = AutoModelForSequenceClassification.from_pretrained(str(model_dir), num_labels=2)
    finally:
        hf_logging.set_verbosity(old_verbosity)
    return model.to(device), tokenizer, model_dir


def _timed(run, device: str) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one call."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start, start_cpu = time.perf_counter(), time.process_time()
    run()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start, time.process_time() - start_cpu
