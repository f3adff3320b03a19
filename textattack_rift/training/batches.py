"""TextAttack datasets -> RIFT batches: the class-balanced loader and the fixed-order evaluation loader."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import DataLoader

from textattack_rift.errors import RiftUserError
from textattack_rift.training.sampler import ClassBalancedBatchSampler
from textattack_rift.training.step import RiftBatch


def dataset_columns(dataset) -> tuple[str, ...]:
    return tuple(getattr(dataset, "input_columns", None) or ("text",))


def dataset_labels(dataset) -> list[int]:
    """Every example's label (after the dataset's own label map), in order."""
    return [int(dataset[i][1]) for i in range(len(dataset))]


def check_labels(labels: Sequence[int], num_labels: int, split: str) -> None:
    """A label outside [0, num_labels) would index past the classifier's outputs."""
    bad = sorted({label for label in labels if not 0 <= label < num_labels})
    if bad:
        raise RiftUserError(
            f"the {split} data has label(s) {bad[:5]} but the model has {num_labels} output(s); "
            "pass --model-num-labels to match the dataset, or filter labels with --filter-train-by-labels"
        )


class RiftCollator:
    """Dataset indices -> a padded ``RiftBatch`` with the threat model's candidate tensors."""

    def __init__(self, dataset, builder) -> None:
        self.dataset = dataset
        self.builder = builder
        self.columns = dataset_columns(dataset)

    def __call__(self, indices: list[int]) -> RiftBatch:
        texts, labels = [], []
        for index in indices:
            inputs, label = self.dataset[index]
            values = tuple(str(inputs[c]) for c in self.columns)
            texts.append(values[0] if len(values) == 1 else values)
            labels.append(int(label))
        tensors = self.builder(texts)
        return RiftBatch.from_candidates(
            tensors, torch.tensor(labels, dtype=torch.long), indices=torch.tensor(indices, dtype=torch.long)
        )


def train_loader(dataset, builder, labels, batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
    """Class-balanced batches for this rank, plus the sampler (it holds the resume position)."""
    try:
        sampler = ClassBalancedBatchSampler(labels, batch_size, seed=seed, num_replicas=world_size, rank=rank)
    except ValueError as err:
        raise RiftUserError(f"class-balanced batches: {err}") from err
    loader = DataLoader(dataset_indices(len(dataset)), batch_sampler=sampler, collate_fn=RiftCollator(dataset, builder))
    return loader, sampler


def eval_loader(dataset, builder, batch_size: int):
    """The whole split in its own order (no shuffling: every method is scored on the same batches)."""
    return DataLoader(
        dataset_indices(len(dataset)), batch_size=batch_size, shuffle=False, collate_fn=RiftCollator(dataset, builder)
    )


def dataset_indices(n: int) -> list[int]:
    # The loader's "dataset" is the index list: the collator reads the examples itself.
    return list(range(n))
