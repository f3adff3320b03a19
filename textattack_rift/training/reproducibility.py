"""Same seed, same model: seeding before a model is built, the initial head's digest, and the machine facts.

A pre-trained encoder saved without a classification head (MiniLM, bert-base-uncased) gets a NEW head
drawn from torch's generator when it is loaded, so every path that builds a model for training seeds
first (``seed_everything``), and the trainer records ``initial_head_digest`` so that a reader can check
that two runs, or the compared methods of a recipe, started from the same head.

Bit-identical results are promised for the same command on the same machine. Across machines, float
reductions can differ with the thread count, the BLAS/oneDNN kernels the CPU selects and the GPU model;
``machine_facts`` records those so that two runs can be compared knowingly.
"""

from __future__ import annotations

import hashlib
import os
import platform
import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators (all CUDA devices included) from one seed."""
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def new_parameter_names(model) -> list[str]:
    """Parameters outside the pre-trained encoder (the classifier head and the like), sorted."""
    prefix = getattr(model, "base_model_prefix", "") + "."
    return sorted(name for name, _ in model.named_parameters() if not name.startswith(prefix))


def initial_head_digest(model) -> str:
    """sha256 (16 hex digits) over the names and float32 values of the parameters outside the encoder."""
    params = dict(model.named_parameters())
    digest = hashlib.sha256()
    for name in new_parameter_names(model):
        digest.update(name.encode())
        digest.update(params[name].detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def machine_facts() -> dict:
    """What can make the same command give other bits on another machine (recorded in run_info.json)."""
    facts = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "cpu_capability": _cpu_capability(),
        "blas": _blas(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cuda": torch.version.cuda,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    for package in ("transformers", "textattack"):
        try:
            from importlib.metadata import version

            facts[package] = version(package)
        except Exception:  # not installed: nothing to record
            facts[package] = None
    return facts


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _cpu_capability() -> str | None:
    try:
        return torch.backends.cpu.get_cpu_capability()
    except Exception:  # older torch
        return None


def _blas() -> str | None:
    for line in torch.__config__.show().splitlines():
        if "BLAS_INFO" in line:
            return line.split("BLAS_INFO=", 1)[-1].split(",")[0].strip()
    return None
