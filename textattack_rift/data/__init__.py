"""Datasets by name, online and offline: hub datasets, an offline Rotten Tomatoes copy, local files.

Importing this package is cheap: each public name loads its module (``datasets``, TextAttack) on first use.
"""

from __future__ import annotations

from textattack_rift._lazy import lazy_exports

# public name -> module that defines it
_LAZY = {
    "load_dataset": "textattack_rift.data.loading",
    "UnknownSplit": "textattack_rift.data.splits",
    "build_rotten_tomatoes": "textattack_rift.data.rotten_tomatoes",
    "local_copy_status": "textattack_rift.data.rotten_tomatoes",
    "parse_local_file": "textattack_rift.data.local_files",
    "RiftHuggingFaceDataset": "textattack_rift.data.textattack_dataset",
    "load_textattack_dataset": "textattack_rift.data.textattack_dataset",
    "install_into_textattack": "textattack_rift.data.textattack_dataset",
    "uninstall_from_textattack": "textattack_rift.data.textattack_dataset",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
