"""Split specifications as the Hugging Face hub accepts them, applied to any set of named splits.

``train``, ``train[:512]``, ``test[10%:]``, ``train[10:20]``, ``validation[-100:]`` and
``train[:10%]+validation[:10%]``. The ``datasets`` library parses and resolves the spec
(``ReadInstruction``), so slices mean exactly what they mean for ``datasets.load_dataset``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from textattack_rift.errors import RiftUserError

if TYPE_CHECKING:
    import datasets

SPLIT_EXAMPLES = "'train', 'train[:512]', 'test[10%:]', 'train[:10%]+validation[:10%]'"


class UnknownSplit(RiftUserError, KeyError):
    """A split the dataset does not have.

    A KeyError because TextAttack's ``train`` command probes 'dev', 'eval', 'validation', 'test' by
    catching KeyError; a RiftUserError so that the CLI prints it as one line.
    """

    def __str__(self) -> str:
        # KeyError would print its argument quoted (repr); show the plain message instead.
        return str(self.args[0]) if self.args else ""


def split_names(spec: str) -> list[str]:
    """The split names a spec reads, in order: ``"train[:10%]+test"`` -> ``["train", "test"]``."""
    return [part.split("[", 1)[0].strip() for part in spec.split("+")]


def check_spec(spec: object) -> str:
    """Return ``spec`` stripped, or raise RiftUserError when it is not a usable split string."""
    if not isinstance(spec, str) or not spec.strip():
        raise RiftUserError(f"split must be a non-empty string such as {SPLIT_EXAMPLES}; got {spec!r}")
    return spec.strip()


def select_split(splits: Mapping[str, "datasets.Dataset"], spec: str, source: str) -> "datasets.Dataset":
    """The rows of ``splits`` that ``spec`` names (``source`` names the dataset in error messages)."""
    import datasets

    spec = check_spec(spec)
    missing = [name for name in split_names(spec) if name not in splits]
    if missing:
        raise UnknownSplit(
            f"{source} has no split {missing[0]!r}; available splits: {', '.join(splits)} "
            f"(slices work too, e.g. {SPLIT_EXAMPLES})"
        )
    try:
        instructions = datasets.ReadInstruction.from_spec(spec).to_absolute(
            {name: len(split) for name, split in splits.items()}
        )
    except (ValueError, AssertionError) as exc:
        problem = str(exc).rstrip(".")
        raise RiftUserError(f"invalid split {spec!r} for {source}: {problem}; write e.g. {SPLIT_EXAMPLES}") from None
    parts = []
    for part in instructions:
        whole = splits[part.splitname]
        if part.from_ == 0 and part.to == len(whole):
            parts.append(whole)  # no index mapping for a whole split
        else:
            parts.append(whole.select(range(part.from_, max(part.from_, part.to))))
    return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
