"""Class-balanced, resumable, DDP-shardable batches (RIFT's batches hold the same count of every label).

Policy (documented choices):
- ``batch_size`` is PER RANK and must be divisible by the number of classes C; each rank's batch holds
  batch_size/C examples of every class. The global batch is batch_size * num_replicas, and rank r takes
  the r-th slice of every class's share of it, so the ranks' batches are disjoint and each balanced.
- Epoch length follows the LARGEST class, so every example is used every epoch; smaller classes are
  oversampled by cycling through fresh permutations (each example appears floor or ceil of the same
  number of times, never twice in one global batch). With ``drop_last=True`` the largest class's final
  partial share is dropped (different examples each epoch); with False it is topped up like the others.
- The plan is a pure function of (seed, epoch) and identical on every rank; ``set_epoch`` selects it.
"""

from __future__ import annotations

import math
from typing import Hashable, Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

_STATE_KEYS = ("seed", "batch_size", "num_replicas", "drop_last", "num_examples", "class_counts")


class ClassBalancedBatchSampler(Sampler[list[int]]):
    """Yields this rank's lists of dataset indices, class-balanced; pass it as a DataLoader's ``batch_sampler``."""

    def __init__(
        self,
        labels: Sequence[Hashable],
        batch_size: int,
        seed: int = 0,
        drop_last: bool = True,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        labels = labels.tolist() if hasattr(labels, "tolist") else list(labels)
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"need num_replicas >= 1 and 0 <= rank < num_replicas, got rank {rank} of {num_replicas}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        try:
            self.classes = sorted(set(labels))
        except TypeError:  # mixed label types: any fixed order will do
            self.classes = sorted(set(labels), key=repr)
        if not self.classes:
            raise ValueError("ClassBalancedBatchSampler: no labels")
        num_classes = len(self.classes)
        if batch_size % num_classes:
            raise ValueError(
                f"batch_size {batch_size} is not divisible by the {num_classes} classes {self.classes}: "
                f"class-balanced batches need a multiple of {num_classes}"
            )
        self.batch_size = batch_size
        self.seed = int(seed)
        self.drop_last = drop_last
        self.num_replicas = num_replicas
        self.rank = rank
        self.per_class = batch_size // num_classes  # per rank
        self.global_share = self.per_class * num_replicas  # per class, per global batch
        self.num_examples = len(labels)
        label_array = np.empty(len(labels), dtype=object)
        label_array[:] = labels
        self._by_class = [np.flatnonzero(label_array == c) for c in self.classes]
        for cls, members in zip(self.classes, self._by_class):
            if len(members) < self.global_share:
                raise ValueError(
                    f"class {cls!r} has {len(members)} example(s), fewer than its share of one batch "
                    f"({self.global_share} = batch_size {batch_size} / {num_classes} classes x {num_replicas} rank(s)); "
                    "use a smaller batch size or more examples"
                )
        largest = max(len(m) for m in self._by_class)
        self._num_batches = largest // self.global_share if drop_last else math.ceil(largest / self.global_share)
        self.epoch = 0
        self._position = 0
        self._plan_cache: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return self._num_batches

    @property
    def position(self) -> int:
        """Batches of the current epoch handed out so far."""
        return self._position

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch's plan; a new epoch starts at its first batch (the same epoch keeps its place)."""
        if epoch != self.epoch:
            self.epoch = int(epoch)
            self._position = 0

    def __iter__(self) -> Iterator[list[int]]:
        plan = self._plan(self.epoch)
        if self._position >= len(plan):  # iterating a finished epoch again replays it, as DistributedSampler does
            self._position = 0
        while self._position < len(plan):
            batch = plan[self._position]
            self._position += 1
            yield batch.tolist()

    # -- resume --------------------------------------------------------------------------------------

    def state_dict(self, batches_done: int | None = None) -> dict:
        """Epoch and position within it. A DataLoader draws batches ahead of the training loop, so pass
        ``batches_done`` (batches of this epoch actually trained on) when the loader prefetches. A
        finished epoch is saved as the start of the next one."""
        position = self._position if batches_done is None else int(batches_done)
        epoch = self.epoch
        if position >= self._num_batches:
            epoch, position = epoch + 1, 0
        return {"epoch": epoch, "position": position, **self._fingerprint()}

    def load_state_dict(self, state: dict) -> None:
        """Resume: the next iteration yields exactly the remaining batches of the saved epoch."""
        mine = self._fingerprint()
        changed = [k for k in _STATE_KEYS if k in state and state[k] != mine[k]]
        if changed:
            details = ", ".join(f"{k}: saved {state[k]!r}, now {mine[k]!r}" for k in changed)
            raise ValueError(f"cannot resume the class-balanced sampler, its configuration changed ({details})")
        self.epoch = int(state["epoch"])
        self._position = int(state["position"])

    def _fingerprint(self) -> dict:
        return {
            "seed": self.seed,
            "batch_size": self.batch_size,
            "num_replicas": self.num_replicas,
            "drop_last": self.drop_last,
            "num_examples": self.num_examples,
            "class_counts": [len(m) for m in self._by_class],
        }

    # -- the plan ------------------------------------------------------------------------------------

    def _plan(self, epoch: int) -> np.ndarray:
        """This rank's batches of ``epoch``: [num_batches, batch_size] dataset indices."""
        if self._plan_cache is not None and self._plan_cache[0] == epoch:
            return self._plan_cache[1]
        rng = np.random.default_rng([self.seed, epoch])
        slices = []
        for members in self._by_class:
            stream = _class_stream(rng, members, self._num_batches, self.global_share)
            mine = stream[:, self.rank * self.per_class : (self.rank + 1) * self.per_class]
            slices.append(mine)
        batches = np.concatenate(slices, axis=1)  # classes grouped; shuffle within each batch below
        # Drawn for all ranks alike so the rng stays in step on every rank.
        orders = np.stack([rng.permutation(self.batch_size) for _ in range(self._num_batches * self.num_replicas)])
        orders = orders[self.rank :: self.num_replicas]
        plan = np.take_along_axis(batches, orders, axis=1)
        self._plan_cache = (epoch, plan)
        return plan


def _class_stream(rng: np.random.Generator, members: np.ndarray, num_batches: int, share: int) -> np.ndarray:
    """[num_batches, share] draws from one class: consecutive permutations, no repeat within a row.

    When a permutation runs out mid-row, the row is completed from a fresh permutation that skips the
    row's examples; those go to the end of the new cycle, so every cycle still uses each example once.
    """
    rows = np.empty((num_batches, share), dtype=np.int64)
    pool = rng.permutation(members)
    pos = 0
    for b in range(num_batches):
        if pos + share <= len(pool):
            rows[b] = pool[pos : pos + share]
            pos += share
            continue
        rest = pool[pos:]
        fresh = rng.permutation(members)
        taken = np.isin(fresh, rest)
        others = fresh[~taken]
        need = share - len(rest)
        rows[b] = np.concatenate([rest, others[:need]])
        pool = np.concatenate([others[need:], fresh[taken]])
        pos = 0
    return rows
