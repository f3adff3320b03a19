"""Local .csv/.tsv/.jsonl/.json files through ``load_dataset``: good files load, bad ones fail with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import textattack_rift  # noqa: F401  (before textattack: offline NLTK data)
from textattack_rift.data.loading import load_dataset
from textattack_rift.errors import RiftUserError

ROWS = [{"text": "good, really", "label": 1}, {"text": "bad", "label": 0}, {"text": "fine", "label": 1}]
NLI = [
    ("A man is playing a guitar.", "A person makes music.", 0),
    ("A man is playing a guitar.", "Nobody is playing anything.", 2),
    ("Two dogs run on the beach.", "Animals are outside.", 0),
    ("Two dogs run on the beach.", "The dogs are brown.", 1),
    ("A child reads a book.", "A child is asleep.", 2),
]


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def nli_jsonl(tmp_path) -> str:
    lines = [json.dumps({"premise": p, "hypothesis": h, "label": y}) for p, h, y in NLI]
    return _write(tmp_path / "nli.jsonl", "\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "filename, content",
    [
        ("reviews.csv", 'text,label,extra\n"good, really",1,x\nbad,0,y\nfine,1,z\n'),
        ("reviews.tsv", "sentence\tlabel\ngood, really\t1\nbad\t0\nfine\t1\n"),
        # a blank line, and a label written as a string of digits, are accepted
        ("reviews.jsonl", "\n\n".join(json.dumps(row) for row in ROWS[:2]) + '\n{"text": "fine", "label": "1"}\n'),
        ("reviews.json", json.dumps(ROWS)),
        ("columns.json", json.dumps({"text": ["good, really", "bad", "fine"], "label": [1, 0, 1]})),
        ("lines.json", "".join(json.dumps(row) + "\n" for row in ROWS)),
    ],
)
def test_good_files_load_as_the_train_split(tmp_path, filename, content):
    path = _write(tmp_path / filename, content)
    dataset = load_dataset(path, split="train")
    column = "sentence" if filename.endswith(".tsv") else "text"
    assert dataset.column_names == [column, "label"]  # only the columns TextAttack will use
    assert dataset[column] == ["good, really", "bad", "fine"] and dataset["label"] == [1, 0, 1]
    assert dataset.features["label"].num_classes == 2
    assert load_dataset(path, split="train[1:]")[column] == ["bad", "fine"]
    assert load_dataset(path, split="train[-1:]")[column] == ["fine"]


def test_nli_pairs_load_with_two_input_columns(nli_jsonl):
    dataset = load_dataset(nli_jsonl, split="train[:4]")
    assert dataset.column_names == ["premise", "hypothesis", "label"]
    assert [(r["premise"], r["hypothesis"], r["label"]) for r in dataset] == NLI[:4]


def test_nli_pairs_reach_textattack_as_two_inputs(nli_jsonl):
    from textattack_rift.data.textattack_dataset import load_textattack_dataset

    dataset = load_textattack_dataset(nli_jsonl)
    assert dataset.input_columns == ("premise", "hypothesis") and len(dataset) == len(NLI)
    inputs, label = dataset[1]
    assert dict(inputs) == {"premise": NLI[1][0], "hypothesis": NLI[1][1]} and label == 2


def test_a_file_has_only_a_train_split(nli_jsonl):
    with pytest.raises(KeyError, match=r"nli.jsonl has no split 'validation'; available splits: train \(") as info:
        load_dataset(nli_jsonl, split="validation")
    assert isinstance(info.value, RiftUserError)
    with pytest.raises(RiftUserError, match="local file: it has no subset"):
        load_dataset(nli_jsonl, subset="sst2")


BAD_FILES = [
    # (file name, content or None for no file, regex the one-line message must match)
    ("absent.csv", None, r"absent.csv: file not found"),
    ("empty.csv", "", r"empty.csv: the file is empty"),
    ("blank.jsonl", "  \n\n", r"blank.jsonl: the file is empty"),
    ("header.csv", "text,label\n", r"header.csv: the file has no examples"),
    ("broken.jsonl", '{"text": "ok", "label": 1}\n{"text": "cut off\n', r"broken.jsonl: line 2 is not valid JSON"),
    ("broken.json", '[{"text": "ok", "label": 1},', r"broken.json: not valid JSON \(line 1"),
    ("quotes.csv", 'text,label\n"bad "quote" here",1\n', r"quotes.csv: not a valid CSV file \(line 2"),
    (
        "ragged.csv",
        "text,label\nfine,1\ntoo,many,fields\n",
        r"ragged.csv: row 2 \(line 3\) has 3 fields but the header has 2",
    ),
    ("binary.csv", b"\xff\xfe\x00\x81text", r"binary.csv: not UTF-8 text"),
    ("notes.txt", "text,label\nfine,1\n", r"notes.txt: unsupported file type; use one of .csv, .tsv, .jsonl, .json"),
    (
        "columns.csv",
        "review,score\nfine,1\n",
        r"columns.csv: expected a 'label' column and a text column \('text' or 'sentence'\) or a "
        r"'premise'\+'hypothesis' pair; found columns: 'review', 'score'",
    ),
    ("premise_only.jsonl", '{"premise": "a", "label": 0}\n', r"found columns: 'premise', 'label'"),
    ("names.csv", "text,label\nfine,pos\nbad,neg\n", r"names.csv: row 1 \(line 2\): label 'pos' is not an integer"),
    ("float.jsonl", '{"text": "a", "label": 1.0}\n', r"float.jsonl: line 1: label 1.0 is not an integer"),
    ("nolabel.csv", "text,label\nfine,\n", r"nolabel.csv: row 1 \(line 2\): label empty is not an integer"),
    (
        "gap.csv",
        "text,label\na,0\nb,2\nc,2\n",
        r"gap.csv: labels must be the integers 0..K-1 with every class present; found 0, 2 \(missing 1\)",
    ),
    ("shifted.tsv", "text\tlabel\na\t1\nb\t2\n", r"found 1, 2 \(missing 0\)"),
    ("unlabelled.jsonl", '{"text": "a", "label": -1}\n{"text": "b", "label": 0}\n', r"found -1, 0; negative labels"),
    ("emptytext.csv", "text,label\nfine,1\n,0\n", r"emptytext.csv: row 2 \(line 3\): column 'text' is empty"),
    (
        "spaces.jsonl",
        '{"premise": "a", "hypothesis": "b", "label": 0}\n{"premise": "a", "hypothesis": "  ", "label": 1}\n',
        r"spaces.jsonl: line 2: column 'hypothesis' is empty",
    ),
    ("number.jsonl", '{"text": 5, "label": 0}\n', r"number.jsonl: line 1: column 'text' must be a string"),
    ("missing.jsonl", '{"text": "a", "label": 0}\n{"label": 1}\n', r"missing.jsonl: line 2 has no 'text' field"),
    ("scalar.json", "[1, 2]", r"scalar.json: row 1 is not a JSON object"),
]


@pytest.mark.parametrize("filename, content, message", BAD_FILES, ids=[case[0] for case in BAD_FILES])
def test_bad_files_fail_with_one_clear_line(tmp_path, filename, content, message):
    path = tmp_path / filename
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(RiftUserError, match=message) as info:
        load_dataset(str(path), split="train[:1]")
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_a_fixed_file_is_read_again(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("text,label\na,0\nb,2\n")
    with pytest.raises(RiftUserError):
        load_dataset(str(path))
    path.write_text("text,label\na,0\nb,1\nc,1\n")
    assert load_dataset(str(path))["label"] == [0, 1, 1]
