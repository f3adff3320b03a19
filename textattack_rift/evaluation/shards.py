"""Shards: one evaluation split across machines, each attacking a fixed, disjoint share of the subset.

``--shard K/N`` (K in 1..N) takes the examples at positions K-1, K-1+N, K-1+2N, ... of the sorted
subset, with every attack; ``--shard auto`` reads the share from the environment a launcher sets:
``RANK``/``WORLD_SIZE`` (torchrun; RANK counts from 0), else ``SLURM_ARRAY_TASK_ID``/
``SLURM_ARRAY_TASK_COUNT`` (counted from ``SLURM_ARRAY_TASK_MIN``, so ``--array=1-4`` and ``0-3``
both work). The environment is read only when asked: an array job that runs one whole evaluation per
task must not be cut into shares silently.

A shard appends to its own file, ``results.shard-K-of-N.jsonl``, in the evaluation folder (shared by
every shard on a shared file system, or its own): shards never write the same file. A run without
``--shard`` over a folder that holds shard files reads them with the rest, attacks only what is still
missing and folds everything into ``results.jsonl``; the records are those of one unsharded run, since
each (attack, example) is seeded on its own (``worker.pair_seed``). All shards of a folder must use
the same N (shares of different N overlap).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from textattack_rift.errors import RiftUserError

SHARD_FILE = re.compile(r"^results\.shard-(\d+)-of-(\d+)\.jsonl$")
SHARD_GLOB = "results.shard-*-of-*.jsonl"


@dataclass(frozen=True)
class Shard:
    index: int  # 0-based
    count: int

    @property
    def label(self) -> str:
        return f"{self.index + 1}/{self.count}"

    @property
    def filename(self) -> str:
        return f"results.shard-{self.index + 1}-of-{self.count}.jsonl"

    def take(self, examples: Sequence) -> list:
        """This shard's share of the subset (``examples`` in subset order)."""
        return [ex for position, ex in enumerate(examples) if position % self.count == self.index]


def _number(text: str, what: str, spec: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise RiftUserError(f"--shard {spec}: {what} is not a whole number; use --shard K/N (e.g. 1/4) or auto") from None


def from_environment(env: Mapping[str, str] | None = None) -> Shard:
    """The share a launcher set (see the module docstring), or an error naming what to set."""
    env = os.environ if env is None else env
    if env.get("WORLD_SIZE") and env.get("RANK") is not None:
        rank = _number(env["RANK"], "RANK", "auto")
        size = _number(env["WORLD_SIZE"], "WORLD_SIZE", "auto")
        return _checked(rank, size, f"auto (RANK={rank}, WORLD_SIZE={size})", zero_based=True)
    if env.get("SLURM_ARRAY_TASK_COUNT") and env.get("SLURM_ARRAY_TASK_ID") is not None:
        task = _number(env["SLURM_ARRAY_TASK_ID"], "SLURM_ARRAY_TASK_ID", "auto")
        count = _number(env["SLURM_ARRAY_TASK_COUNT"], "SLURM_ARRAY_TASK_COUNT", "auto")
        first = _number(env.get("SLURM_ARRAY_TASK_MIN", "0"), "SLURM_ARRAY_TASK_MIN", "auto")
        return _checked(task - first, count, f"auto (SLURM_ARRAY_TASK_ID={task}, MIN={first}, COUNT={count})", zero_based=True)
    raise RiftUserError(
        "--shard auto: neither RANK/WORLD_SIZE (torchrun) nor SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT is set; "
        "give the share as --shard K/N"
    )


def _checked(index: int, count: int, spec: str, zero_based: bool) -> Shard:
    if count < 1:
        raise RiftUserError(f"--shard {spec}: the number of shards must be at least 1")
    if not 0 <= index < count:
        allowed = f"0..{count - 1}" if zero_based else f"1..{count}"
        raise RiftUserError(f"--shard {spec}: the shard must be in {allowed} for {count} shards")
    return Shard(index, count)


def parse_shard(spec) -> Shard | None:
    """``None``/``""`` (no sharding), ``"K/N"`` (1-based), ``"auto"``, a ``Shard`` or ``(K, N)`` (1-based)."""
    if spec is None or isinstance(spec, Shard):
        return spec
    if isinstance(spec, (tuple, list)) and len(spec) == 2:
        k, n = (_number(v, "K/N", f"{spec[0]}/{spec[1]}") for v in spec)
        return _checked(k - 1, n, f"{k}/{n}", zero_based=False)
    text = str(spec).strip()
    if not text:
        return None
    if text.lower() == "auto":
        return from_environment()
    if text.count("/") != 1:
        raise RiftUserError(f"--shard {text}: expected K/N (e.g. 1/4: the first of four shares) or auto")
    k, n = (_number(part, "K" if i == 0 else "N", text) for i, part in enumerate(text.split("/")))
    return _checked(k - 1, n, text, zero_based=False)


def existing_layouts(directory: Path) -> dict[int, list[int]]:
    """``{N: [K, ...]}`` of the shard files in ``directory`` (K 1-based)."""
    found: dict[int, list[int]] = {}
    for path in Path(directory).glob(SHARD_GLOB):
        match = SHARD_FILE.match(path.name)
        if match:
            found.setdefault(int(match.group(2)), []).append(int(match.group(1)))
    return {n: sorted(ks) for n, ks in found.items()}


def check_layout(directory: Path, shard: Shard | None) -> None:
    """A shard run into a folder that holds shards of another N is refused (their shares overlap)."""
    if shard is None:
        return
    others = sorted(n for n in existing_layouts(directory) if n != shard.count)
    if others:
        n = others[0]
        raise RiftUserError(
            f"{directory} holds results of {n} shards (results.shard-K-of-{n}.jsonl), not {shard.count}: run the "
            f"shards as --shard K/{n}, or run once without --shard to merge them first"
        )
