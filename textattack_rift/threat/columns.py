"""Which input columns an attack or the adversary may perturb (RIFT-SPEC 2: for NLI only the hypothesis).

The rule lives here, apart from TextAttack, so that the TextAttack constraint and the candidate
builder apply exactly the same one.
"""

from __future__ import annotations

from typing import Sequence

from textattack_rift.errors import RiftUserError

# The column names TextAttack's datasets use when none are given: one text, or a premise/hypothesis pair.
DEFAULT_COLUMN_NAMES = {1: ("text",), 2: ("premise", "hypothesis")}


def default_column_names(n_columns: int) -> tuple[str, ...]:
    return DEFAULT_COLUMN_NAMES.get(n_columns, tuple(f"text{i}" for i in range(n_columns)))


def normalise_spec(spec) -> list[str | int] | None:
    """``None`` (the default rule), or a list of column names and/or indices; a string may be comma-separated."""
    if spec is None:
        return None
    if isinstance(spec, (str, int)):
        spec = [spec]
    out: list[str | int] = []
    for item in spec:
        if isinstance(item, bool):
            raise RiftUserError(f"perturbable column {item!r}: give a column name or an index")
        if isinstance(item, int):
            out.append(item)
        elif isinstance(item, str):
            for part in item.split(","):
                part = part.strip()
                if part:
                    out.append(int(part) if part.lstrip("-").isdigit() else part)
        else:
            raise RiftUserError(f"perturbable column {item!r}: give a column name or an index")
    if not out:
        raise RiftUserError("perturbable columns: the list is empty; omit it for the default (all, or the hypothesis of a pair)")
    return out


def perturbable_column_indices(spec, column_names: Sequence[str]) -> set[int]:
    """Indices of the columns that may change.

    Default (``spec`` None): the only column of a single text, the last column (the hypothesis) of a pair
    or longer tuple. A spec that matches none of ``column_names`` is an error rather than a silent
    "nothing may change", which would make every attack look like a robust model.
    """
    n = len(column_names)
    if n == 0:
        return set()
    spec = normalise_spec(spec)
    if spec is None:
        return {n - 1}
    chosen: set[int] = set()
    for item in spec:
        if isinstance(item, int):
            if -n <= item < n:
                chosen.add(item % n)
        elif item in column_names:
            chosen.add(list(column_names).index(item))
    if not chosen:
        raise RiftUserError(
            f"perturbable columns {spec} match none of the input columns {list(column_names)}: "
            "name one of them (or an index), or omit the setting"
        )
    return chosen
