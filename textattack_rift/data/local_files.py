"""Labelled examples from a local .csv, .tsv, .jsonl or .json file, checked before anything uses them.

A file holds a text column (``text`` or ``sentence``) or a ``premise`` + ``hypothesis`` pair, and an
integer ``label`` column with classes 0..K-1. Every problem is a RiftUserError whose one-line message
names the file, the row or column, and what was expected.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from textattack_rift.errors import RiftUserError

if TYPE_CHECKING:
    import datasets

SUFFIXES = (".csv", ".tsv", ".jsonl", ".json")
LABEL_COLUMN = "label"
PAIR_COLUMNS = ("premise", "hypothesis")
TEXT_COLUMNS = ("text", "sentence")  # in TextAttack's order of preference
_INTEGER = re.compile(r"[+-]?\d+")

# (where the row is, e.g. "row 3 (line 4)"; the row's fields)
Record = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class LocalTable:
    """The checked contents of a file: input columns in order, their texts, and integer labels."""

    path: Path
    input_columns: tuple[str, ...]
    texts: dict[str, list[str]]
    labels: list[int]

    @property
    def num_labels(self) -> int:
        return max(self.labels) + 1


def is_local_file_name(name: str) -> bool:
    """Is ``name`` meant as a local file (a supported suffix, or an existing file)?"""
    return name.lower().endswith(SUFFIXES) or os.path.isfile(name)


def _fail(path: Path, problem: str) -> RiftUserError:
    return RiftUserError(f"{path}: {problem}")


def _read_delimited(path: Path, text: str, delimiter: str) -> tuple[list[str], list[Record]]:
    kind, separator = ("TSV", "tabs") if delimiter == "\t" else ("CSV", "commas")
    # newline="" splits rows on \n and \r only; str.splitlines would also split on \x85 or \u2028 in a text.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [name.strip() for name in next(reader)]
        records: list[Record] = []
        for fields in reader:
            if not any(field.strip() for field in fields):
                continue  # blank line
            where = f"row {len(records) + 1} (line {reader.line_num})"
            if len(fields) != len(header):
                problem = f"{where} has {len(fields)} fields but the header has {len(header)}"
                raise _fail(path, f"{problem}: not a valid {kind} file (quote texts that contain {separator})")
            records.append((where, dict(zip(header, fields))))
    except csv.Error as exc:
        raise _fail(path, f"not a valid {kind} file (line {reader.line_num}: {exc})") from None
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise _fail(path, f"the header repeats column(s) {', '.join(duplicated)}")
    return header, records


def _as_record(path: Path, where: str, obj: Any) -> Record:
    if not isinstance(obj, dict):
        raise _fail(path, f"{where} is not a JSON object like {{\"text\": \"...\", \"label\": 0}}")
    return where, obj


def _columns_of(records: list[Record]) -> list[str]:
    return list(records[0][1]) if records else []


def _read_json_lines(path: Path, text: str) -> tuple[list[str], list[Record]]:
    records: list[Record] = []
    for line_number, line in enumerate(text.split("\n"), 1):  # not splitlines(): see _read_delimited
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problem = f"line {line_number} is not valid JSON ({exc.msg})"
            raise _fail(path, f"{problem}; each line must be one JSON object") from None
        records.append(_as_record(path, f"line {line_number}", obj))
    return _columns_of(records), records


def _read_json(path: Path, text: str) -> tuple[list[str], list[Record]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # several JSON values: JSON lines in a .json file
            return _read_json_lines(path, text)
        raise _fail(path, f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if isinstance(document, list):
        records = [_as_record(path, f"row {n}", obj) for n, obj in enumerate(document, 1)]
        return _columns_of(records), records
    if isinstance(document, dict) and document and all(isinstance(v, list) for v in document.values()):
        lengths = {len(v) for v in document.values()}
        if len(lengths) != 1:
            raise _fail(path, "a JSON object of columns must have lists of equal length")
        rows = [dict(zip(document, values)) for values in zip(*document.values())]
        return list(document), [(f"row {n}", row) for n, row in enumerate(rows, 1)]
    record = _as_record(path, "the JSON document", document)  # a single example
    return _columns_of([record]), [record]


def _read_records(path: Path) -> tuple[list[str], list[Record]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(path, f"not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV, TSV, JSON or JSON lines") from None
    if not text.strip():
        raise _fail(path, "the file is empty; expected a 'label' column and a text column with at least one example")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return _read_delimited(path, text, "\t" if suffix == ".tsv" else ",")
    if suffix == ".jsonl":
        return _read_json_lines(path, text)
    return _read_json(path, text)


def _input_columns(path: Path, columns: Sequence[str]) -> tuple[str, ...]:
    present = set(columns)
    if LABEL_COLUMN in present:
        if set(PAIR_COLUMNS) <= present:
            return PAIR_COLUMNS
        for name in TEXT_COLUMNS:
            if name in present:
                return (name,)
    found = ", ".join(repr(c) for c in columns) or "none"
    raise _fail(
        path,
        "expected a 'label' column and a text column ('text' or 'sentence') or a 'premise'+'hypothesis' pair; "
        f"found columns: {found}",
    )


def _label(path: Path, where: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    shown = "empty" if value is None or (isinstance(value, str) and not value.strip()) else repr(value)
    hint = "labels must be integers 0..K-1 (map class names to numbers)"
    raise _fail(path, f"{where}: label {shown} is not an integer; {hint}")


def _text(path: Path, where: str, column: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(path, f"{where}: column '{column}' must be a string, found {value!r}")
    if not value.strip():
        raise _fail(path, f"{where}: column '{column}' is empty; every example needs text")
    return value


def _check_contiguous(path: Path, labels: list[int]) -> None:
    present = sorted(set(labels))
    if present == list(range(len(present))):
        return
    missing = sorted(set(range(max(max(present), 0) + 1)) - set(present))
    detail = f"found {', '.join(map(str, present))}"
    if missing:
        detail += f" (missing {', '.join(map(str, missing))})"
    if present[0] < 0:
        detail += "; negative labels such as -1 usually mark unlabelled rows: remove them"
    raise _fail(path, f"labels must be the integers 0..K-1 with every class present; {detail}")


def parse_local_file(path: str | os.PathLike) -> LocalTable:
    """Read and check a local file; raise RiftUserError naming the first problem."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise _fail(path, f"unsupported file type; use one of {', '.join(SUFFIXES)}")
    if not path.is_file():
        raise RiftUserError(f"{path}: file not found (a dataset file must be .csv, .tsv, .jsonl or .json)")
    columns, records = _read_records(path)
    if not records:
        raise _fail(path, "the file has no examples")
    inputs = _input_columns(path, columns)
    texts: dict[str, list[str]] = {name: [] for name in inputs}
    labels: list[int] = []
    for where, fields in records:
        for name in (*inputs, LABEL_COLUMN):
            if name not in fields:
                raise _fail(path, f"{where} has no '{name}' field")
        for name in inputs:
            texts[name].append(_text(path, where, name, fields[name]))
        labels.append(_label(path, where, fields[LABEL_COLUMN]))
    _check_contiguous(path, labels)
    return LocalTable(path=path, input_columns=inputs, texts=texts, labels=labels)


@functools.lru_cache(maxsize=8)
def _cached_dataset(path: str, mtime_ns: int, size: int, label_names: tuple[str, ...] | None) -> "datasets.Dataset":
    import datasets

    table = parse_local_file(path)
    if label_names is not None and table.num_labels > len(label_names):
        known = len(label_names)
        raise _fail(table.path, f"labels go up to {table.num_labels - 1} but only {known} label names are known")
    names = list(label_names) if label_names is not None else [str(i) for i in range(table.num_labels)]
    features = datasets.Features(
        {**{c: datasets.Value("string") for c in table.input_columns}, LABEL_COLUMN: datasets.ClassLabel(names=names)}
    )
    return datasets.Dataset.from_dict({**table.texts, LABEL_COLUMN: table.labels}, features=features)


def local_file_dataset(path: str | os.PathLike, label_names: Sequence[str] | None = None) -> "datasets.Dataset":
    """A checked file as a ``datasets.Dataset`` (input columns + ClassLabel ``label``), cached per file version."""
    path = Path(path)
    if not path.is_file():
        parse_local_file(path)  # raises the error that names the problem
    stat = path.stat()
    names = tuple(label_names) if label_names is not None else None
    return _cached_dataset(str(path.resolve()), stat.st_mtime_ns, stat.st_size, names)
