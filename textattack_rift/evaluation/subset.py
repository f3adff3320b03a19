"""The one subset of a split that every attack sees (RIFT-SPEC section 5: the released script drew a
different random subset per attack; here the subset depends only on the split's size and the seed)."""

from __future__ import annotations

import hashlib
import json
from typing import Iterable

from textattack_rift.errors import RiftUserError


def subset_indices(split_size: int, num_examples: int | None, seed: int) -> tuple[list[int], str | None]:
    """Sorted row indices of ``num_examples`` rows drawn without replacement with ``seed``, and a note
    when the split has fewer rows than asked for (then every row is used). ``None`` means every row.

    The subset is the first ``num_examples`` entries of one seeded permutation of the split (then
    sorted), so subsets of one seed are nested: the 200-example subset contains the 50-example one, and
    growing an evaluation attacks only the rows it adds (``config.check_and_store`` allows that).

    NumPy's legacy ``RandomState`` is used because its stream is frozen across NumPy versions, so a
    seed names the same subset everywhere.
    """
    import numpy as np

    if split_size <= 0:
        raise RiftUserError("the split is empty: nothing to evaluate (check the split name or slice)")
    if num_examples is not None and (not isinstance(num_examples, int) or num_examples < 1):
        raise RiftUserError(f"--num-examples must be a positive integer (or omitted for the whole split), got {num_examples!r}")
    if not isinstance(seed, int) or seed < 0:
        raise RiftUserError(f"--seed must be an integer >= 0, got {seed!r}")
    if num_examples is None or num_examples >= split_size:
        note = None
        if num_examples is not None and num_examples > split_size:
            note = f"asked for {num_examples} examples but the split has {split_size}: using all {split_size}"
        return list(range(split_size)), note
    order = np.random.RandomState(seed).permutation(split_size)[:num_examples]
    return sorted(int(i) for i in order), None


def subset_fingerprint(rows: Iterable[tuple[int, dict, int]]) -> str:
    """Digest of (index, inputs, label) of the chosen rows: a changed dataset copy changes it."""
    digest = hashlib.sha256()
    for index, inputs, label in rows:
        digest.update(json.dumps([index, list(inputs.items()), label], ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()[:16]
