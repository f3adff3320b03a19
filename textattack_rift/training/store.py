"""The warm-start store of the cheaper adversary: each example's combination logits from its last visit.

Starting the ASCC adversary from where it ended one epoch earlier lets 2-3 Adam steps do the work of
10 fresh ones (the model moved a little since, the worst-case mixture mostly did not). Logits are kept
per word ([num_words, K] per example, keyed by dataset index) in float16 on the CPU, or as one small
file per example in a directory. Under DistributedDataParallel the sampler reshuffles examples across
ranks every epoch, so an in-memory store per rank finds only about 1/N of its examples: give all ranks
one shared directory instead (their examples in a step are disjoint, and writes are atomic renames).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import torch
from torch import Tensor

_VERSION = 1


class WarmStartStore:
    """Per-example adversary logits from the previous visit (in memory, or on disk under ``directory``).

    Stored logits are re-centred per word (best valid candidate at 0) and clipped at ``-max_spread``, so
    a start can never be so peaked that a few Adam steps (each moving a logit by about adv_lr) cannot
    leave it: the sparsity term alone would otherwise sharpen the weights on every visit.
    """

    def __init__(self, directory: str | os.PathLike | None = None, max_spread: float = 8.0) -> None:
        if max_spread <= 0:
            raise ValueError(f"max_spread must be > 0, got {max_spread}")
        self.directory = Path(directory) if directory is not None else None
        self.max_spread = float(max_spread)
        self._entries: dict[int, Tensor] = {}
        self.hits = 0
        self.misses = 0
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    # -- lookup and update ---------------------------------------------------------------------------

    def lookup(self, indices: Sequence[int] | Tensor, word_index: Tensor, num_candidates: int) -> tuple[Tensor, Tensor]:
        """Stored starts for a batch: (logits [B,W,K] float32, found [B] bool), on word_index's device.

        An entry counts only when its word count matches this visit's (else tokenisation changed).
        """
        indices = _as_ints(indices)
        num_words = _num_words(word_index)
        width = max(num_words, default=0)
        logits = torch.zeros(len(indices), width, num_candidates)
        found = torch.zeros(len(indices), dtype=torch.bool)
        for row, (index, words) in enumerate(zip(indices, num_words)):
            entry = self._get(index)
            if entry is None or entry.shape[0] != words:
                continue
            # K is a batch maximum, so it can differ between visits; the slots beyond an example's own
            # candidates are masked whatever value they hold.
            k = min(entry.shape[1], num_candidates)
            logits[row, :words, :k] = entry[:, :k].float()
            found[row] = True
        hit = int(found.sum())
        self.hits += hit
        self.misses += len(indices) - hit
        return logits.to(word_index.device), found.to(word_index.device)

    def update(
        self, indices: Sequence[int] | Tensor, logits: Tensor, word_index: Tensor, word_mask: Tensor | None = None
    ) -> None:
        """Keep each example's final logits [B,W,K] (its own words only), re-centred and clipped."""
        indices = _as_ints(indices)
        num_words = _num_words(word_index)
        logits = logits.detach().float()
        if word_mask is not None:
            best = logits.masked_fill(~word_mask, float("-inf")).amax(-1, keepdim=True)
            logits = (logits - best).masked_fill(~word_mask, -self.max_spread)
        else:
            logits = logits - logits.amax(-1, keepdim=True)
        logits = logits.clamp(min=-self.max_spread).to("cpu", torch.float16)
        for row, (index, words) in enumerate(zip(indices, num_words)):
            self._put(index, logits[row, :words].clone())

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def __len__(self) -> int:
        return sum(1 for _ in self._indices())

    def __contains__(self, index: int) -> bool:
        return self._get(int(index)) is not None

    # -- checkpoints ---------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """In memory: every entry, packed into a few tensors. On disk: the directory (the files are the state)."""
        if self.directory is not None:
            return {"version": _VERSION, "directory": str(self.directory)}
        return {"version": _VERSION, **pack(self._items())}

    def load_state_dict(self, state: dict) -> None:
        """Replace the contents with ``state`` (packed entries, or another store's directory)."""
        if state.get("version") != _VERSION:
            raise ValueError(f"warm-start store state has version {state.get('version')!r}, expected {_VERSION}")
        if "directory" in state:
            source = Path(state["directory"])
            if self.directory is not None and source.resolve() == self.directory.resolve():
                return
            items = list(_read_dir(source))
        else:
            items = list(unpack(state))
        self.clear()
        for index, entry in items:
            self._put(index, entry)

    def clear(self) -> None:
        self._entries.clear()
        if self.directory is not None:
            for path in self.directory.glob("*/*.pt"):
                path.unlink()

    # -- storage -------------------------------------------------------------------------------------

    def _path(self, index: int) -> Path:
        # Subdirectories of 1000 keep any one directory small on large datasets.
        return self.directory / f"{index // 1000:06d}" / f"{index}.pt"

    def _get(self, index: int) -> Tensor | None:
        if self.directory is None:
            return self._entries.get(index)
        path = self._path(index)
        return torch.load(path, weights_only=True) if path.is_file() else None

    def _put(self, index: int, entry: Tensor) -> None:
        if self.directory is None:
            self._entries[index] = entry
            return
        path = self._path(index)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{index}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            torch.save(entry, tmp)
            os.replace(tmp, path)  # atomic: a reader on another rank never sees half a file
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _indices(self) -> Iterator[int]:
        if self.directory is None:
            yield from self._entries
        else:
            for path in self.directory.glob("*/*.pt"):
                yield int(path.stem)

    def _items(self) -> Iterator[tuple[int, Tensor]]:
        if self.directory is None:
            yield from self._entries.items()
        else:
            yield from _read_dir(self.directory)


def pack(items: Iterable[tuple[int, Tensor]]) -> dict[str, Tensor]:
    """Entries -> {indices, num_words, num_candidates, data (flat float16)}: few tensors, fast to save."""
    items = sorted(items, key=lambda item: item[0])
    shapes = [tuple(entry.shape) for _, entry in items]
    return {
        "indices": torch.tensor([index for index, _ in items], dtype=torch.long),
        "num_words": torch.tensor([s[0] for s in shapes], dtype=torch.long),
        "num_candidates": torch.tensor([s[1] for s in shapes], dtype=torch.long),
        "data": torch.cat([entry.reshape(-1) for _, entry in items]) if items else torch.zeros(0, dtype=torch.float16),
    }


def unpack(state: dict) -> Iterator[tuple[int, Tensor]]:
    offset = 0
    for index, words, k in zip(state["indices"].tolist(), state["num_words"].tolist(), state["num_candidates"].tolist()):
        size = words * k
        yield index, state["data"][offset : offset + size].reshape(words, k).clone()
        offset += size


def _read_dir(directory: Path) -> Iterator[tuple[int, Tensor]]:
    for path in sorted(directory.glob("*/*.pt")):
        yield int(path.stem), torch.load(path, weights_only=True)


def _as_ints(indices: Sequence[int] | Tensor) -> list[int]:
    return indices.tolist() if isinstance(indices, Tensor) else [int(i) for i in indices]


def _num_words(word_index: Tensor) -> list[int]:
    if word_index.shape[1] == 0:
        return [0] * word_index.shape[0]
    return (word_index.max(dim=1).values + 1).clamp(min=0).tolist()
