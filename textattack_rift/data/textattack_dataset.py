"""TextAttack's ``HuggingFaceDataset`` resolving names through ``textattack_rift.data.load_dataset``, so
that ``rotten_tomatoes``, split slices and local files work offline in TextAttack's own code paths.

This module imports TextAttack (seconds); ``textattack_rift.data`` imports it only on first use.
"""

from __future__ import annotations

import importlib
import sys

import datasets
import textattack
from textattack.datasets.huggingface_dataset import HuggingFaceDataset as StockHuggingFaceDataset

from textattack_rift.data.loading import load_dataset, split_name_and_subset

# Where TextAttack looks the class up at call time: dataset_args uses textattack.datasets.HuggingFaceDataset,
# training_args imported the name into its own namespace.
_PATCHED_MODULES = ("textattack.datasets", "textattack.training_args")
_originals: dict[str, type] = {}


class RiftHuggingFaceDataset(StockHuggingFaceDataset):
    """Same constructor as TextAttack's; a string name (or local file path) goes through ``load_dataset``."""

    def __init__(
        self,
        name_or_dataset,
        subset=None,
        split="train",
        dataset_columns=None,
        label_map=None,
        label_names=None,
        output_scale_factor=None,
        shuffle=False,
    ):
        if isinstance(name_or_dataset, datasets.Dataset):
            super().__init__(
                name_or_dataset, subset, split, dataset_columns, label_map, label_names, output_scale_factor, shuffle
            )
            return
        name, subset = split_name_and_subset(str(name_or_dataset), subset)
        dataset = load_dataset(name, subset, split)
        super().__init__(
            dataset,
            dataset_columns=dataset_columns,
            label_map=label_map,
            label_names=label_names,
            output_scale_factor=output_scale_factor,
            shuffle=shuffle,
        )
        # TextAttack's trainer names the dataset in its model card from these attributes.
        self._name = name
        if subset is not None:
            self._subset = subset
        self._split = split
        where = f", subset {subset}" if subset else ""
        textattack.shared.logger.info(f"Loaded dataset {name}{where}, split {split} ({len(dataset)} examples).")


def load_textattack_dataset(
    name: str, subset: str | None = None, split: str = "train", **kwargs
) -> RiftHuggingFaceDataset:
    """``RiftHuggingFaceDataset(name, subset, split, **kwargs)``: a TextAttack dataset by name."""
    return RiftHuggingFaceDataset(name, subset, split, **kwargs)


def install_into_textattack() -> None:
    """Make TextAttack's dataset arguments build ``RiftHuggingFaceDataset`` (idempotent; undo with uninstall)."""
    for module_name in _PATCHED_MODULES:
        module = importlib.import_module(module_name)
        current = module.HuggingFaceDataset
        if current is not RiftHuggingFaceDataset:
            _originals[module_name] = current
            module.HuggingFaceDataset = RiftHuggingFaceDataset


def uninstall_from_textattack() -> None:
    """Put back whatever ``install_into_textattack`` replaced."""
    for module_name, original in list(_originals.items()):
        module = sys.modules[module_name]
        if module.HuggingFaceDataset is RiftHuggingFaceDataset:
            module.HuggingFaceDataset = original
        del _originals[module_name]


def is_installed() -> bool:
    current = [getattr(sys.modules.get(name), "HuggingFaceDataset", None) for name in _PATCHED_MODULES]
    return all(cls is RiftHuggingFaceDataset for cls in current)
