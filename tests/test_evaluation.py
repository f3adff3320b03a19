"""``evaluate``: the shared subset, per-example records and resume, the summary's numbers (including
accuracy under all attacks), the bad-input cases, ``--parallel`` and the ``textattack-rift evaluate`` CLI."""

from __future__ import annotations

import csv
import json
import logging
import shutil
from pathlib import Path

import pytest

from textattack_rift.errors import RiftUserError
from textattack_rift.evaluation import records as records_module
from textattack_rift.evaluation import worker
from textattack_rift.evaluation.records import ResultsStore, read_records
from textattack_rift.evaluation.subset import subset_indices
from textattack_rift.evaluation.summary import summarize, summary_markdown


# -- the subset ----------------------------------------------------------------------------------
def test_subset_is_seeded_sorted_and_capped_at_the_split():
    a, note = subset_indices(1275, 100, seed=0)
    assert a == subset_indices(1275, 100, seed=0)[0] and note is None
    assert a == sorted(a) and len(set(a)) == 100 and max(a) < 1275
    assert a != subset_indices(1275, 100, seed=1)[0]
    everything, note = subset_indices(7, 50, seed=0)
    assert everything == list(range(7)) and note == "asked for 50 examples but the split has 7: using all 7"
    assert subset_indices(7, None, seed=0) == (list(range(7)), None)
    for bad in (0, -3):
        with pytest.raises(RiftUserError, match="--num-examples"):
            subset_indices(7, bad, seed=0)
    with pytest.raises(RiftUserError, match="empty"):
        subset_indices(0, 5, seed=0)


def test_subsets_of_one_seed_are_nested():
    """Growing a subset keeps every row it had: 50 -> 200 examples attacks only the 150 added."""
    for seed in (0, 1, 7):
        sizes = [1, 50, 51, 200, 1275]
        drawn = [set(subset_indices(1275, n, seed=seed)[0]) for n in sizes]
        for smaller, larger in zip(drawn, drawn[1:]):
            assert smaller < larger
    assert set(subset_indices(1275, 50, seed=0)[0]) != set(subset_indices(1275, 50, seed=1)[0])


# -- the numbers, on hand-built records -------------------------------------------------------------
def _rec(attack, example, status, share=0.0, queries=10, seconds=1.0):
    return {"attack": attack, "example": example, "status": status, "words_changed_share": share,
            "queries": queries, "seconds": seconds}


HAND_BUILT = [
    # example 0: both attacks fail -> robust; 1: A flips it; 2: B flips it; 3: wrong already; 4: robust
    _rec("A", 0, "failed", queries=20), _rec("B", 0, "failed", queries=30),
    _rec("A", 1, "succeeded", share=0.10, queries=5), _rec("B", 1, "failed", queries=30),
    _rec("A", 2, "failed", queries=20), _rec("B", 2, "succeeded", share=0.30, queries=6),
    _rec("A", 3, "skipped", queries=1), _rec("B", 3, "skipped", queries=1),
    _rec("A", 4, "failed", queries=15), _rec("B", 4, "failed", queries=28),
    _rec("C", 0, "succeeded"),  # an attack not asked for is ignored
]


def test_union_metric_on_hand_built_records():
    s = summarize(HAND_BUILT, ["A", "B"], [0, 1, 2, 3, 4])
    a, b, union = s["attacks"]["A"], s["attacks"]["B"], s["all_attacks"]
    assert (a["clean_accuracy"], a["accuracy_under_attack"], a["attack_success_rate"]) == (80.0, 60.0, 25.0)
    assert (b["clean_accuracy"], b["accuracy_under_attack"], b["attack_success_rate"]) == (80.0, 60.0, 25.0)
    assert a["words_changed"] == pytest.approx(10.0) and b["words_changed"] == pytest.approx(30.0)
    assert a["queries"] == pytest.approx((20 + 5 + 20 + 15) / 4) and b["queries"] == pytest.approx((30 + 30 + 6 + 28) / 4)
    assert (union["examples"], union["correct"], union["robust"]) == (5, 4, 2)
    assert (union["clean_accuracy"], union["accuracy_under_attack"], union["attack_success_rate"]) == (80.0, 40.0, 50.0)
    assert union["seconds"] == pytest.approx(10.0) and s["complete"]
    # each accuracy's 95% Wilson interval, over the same 5 examples (4, 3 and 2 of 5)
    four, three, two = [37.553, 96.378], [23.072, 88.238], [11.762, 76.928]
    assert a["clean_accuracy_interval"] == pytest.approx(four, abs=1e-3)
    assert a["accuracy_under_attack_interval"] == pytest.approx(three, abs=1e-3)
    assert union["clean_accuracy_interval"] == pytest.approx(four, abs=1e-3)
    assert union["accuracy_under_attack_interval"] == pytest.approx(two, abs=1e-3)
    assert s["interval"] == {"name": "Wilson score interval", "confidence": 0.95, "unit": "percent"}
    table = summary_markdown(s)
    assert "| A | 5 | 80.0% [37.6, 96.4] | 60.0% [23.1, 88.2] | 25.0% | 10.0% | 15.0 | 5.0 |" in table
    assert "| **all attacks** | 5 | 80.0% [37.6, 96.4] | **40.0% [11.8, 76.9]** | 50.0% |" in table
    assert "95% Wilson score interval" in table


def test_union_counts_only_examples_every_attack_has_reached():
    partial = [r for r in HAND_BUILT if not (r["attack"] == "B" and r["example"] == 4)]
    s = summarize(partial, ["A", "B"], [0, 1, 2, 3, 4])
    assert not s["complete"] and s["attacks"]["B"]["examples"] == 4
    assert (s["all_attacks"]["examples"], s["all_attacks"]["robust"]) == (4, 1)
    assert "Not finished" in summary_markdown(s)


# -- records -------------------------------------------------------------------------------------
def test_torn_and_corrupt_lines_are_dropped_and_the_file_repaired(tmp_path, caplog):
    path = tmp_path / "results.jsonl"
    good = [_rec("A", i, "failed") for i in range(3)]
    lines = [json.dumps(r) for r in good]
    path.write_text(lines[0] + "\n" + "{garbage\n" + lines[1] + "\n" + lines[2][: len(lines[2]) // 2])
    with caplog.at_level(logging.WARNING, logger="textattack_rift.evaluation"):
        kept = read_records(path)
    assert [r["example"] for r in kept] == [0, 1]
    assert "dropped 2 unreadable line(s) (line 2, 4)" in caplog.text
    assert path.read_text() == lines[0] + "\n" + lines[1] + "\n"  # repaired: the next append starts a line
    with ResultsStore(tmp_path).appender() as out:
        out.append(good[2])
    assert [r["example"] for r in read_records(path)] == [0, 1, 2]


# -- evaluate on a real (tiny) model and real data --------------------------------------------------
@pytest.fixture()
def model_dir(tiny_bert_dir, tmp_path) -> Path:
    """A private copy: evaluate writes evaluation/ and the model card into the model's directory."""
    target = tmp_path / "model"
    shutil.copytree(tiny_bert_dir, target)
    return target


@pytest.fixture()
def isolated_registry(tmp_path, monkeypatch):
    from textattack_rift.models.registry import REGISTRY_ENV

    monkeypatch.setenv(REGISTRY_ENV, str(tmp_path / "registry.json"))


def _count_attacks(monkeypatch) -> list:
    calls = []
    real = worker.attack_one

    def counting(attacks, name, example, seed):
        calls.append((name, example[0]))
        return real(attacks, name, example, seed)

    monkeypatch.setattr(worker, "attack_one", counting)
    return calls


@pytest.mark.slow
def test_evaluate_shares_one_subset_and_resumes_without_redoing(model_dir, isolated_registry, monkeypatch):
    from textattack_rift import evaluate, register_model
    from textattack_rift.data import load_dataset

    register_model(model_dir, name="rift-bert-evaltest")
    calls = _count_attacks(monkeypatch)
    summary = evaluate("rift-bert-evaltest", attacks=["rift-pwws", "pwws"], num_examples=4, seed=3, progress=False)
    out = Path(summary["out_dir"])
    assert out == model_dir.resolve() / "evaluation" / "rotten_tomatoes-test-n4-seed3"
    expected = subset_indices(len(load_dataset("rotten_tomatoes", split="test")), 4, seed=3)[0]
    stored = json.loads((out / "eval_config.json").read_text())
    assert stored["indices"] == expected
    records = read_records(out / "results.jsonl")
    for attack in ("rift-pwws", "pwws"):  # every attack saw exactly the same examples
        assert sorted(r["example"] for r in records if r["attack"] == attack) == expected
    assert len(calls) == 8
    for r in records:
        assert r["status"] in ("succeeded", "failed", "skipped") and r["queries"] >= 1 and r["seconds"] > 0
        assert r["correct"] == (r["original_output"] == r["ground_truth"])
        assert (r["threat_fingerprint"] is None) == (r["attack"] == "pwws")
        assert isinstance(r["recipe_options"], dict) and "lm_filter" in r["recipe_options"]
    assert {r["threat_fingerprint"] for r in records if r["attack"] == "rift-pwws"} == {summary["threat_model"]["fingerprint"]}
    assert summary["attacks"]["rift-pwws"]["examples"] == 4 and summary["complete"]
    for name in ("summary.json", "summary.md", "accuracy.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "accuracy.png").read_bytes()[:4] == b"\x89PNG"
    card = (model_dir / "README.md").read_text()
    key = f"rotten_tomatoes-test-n4-seed3-tm{summary['threat_model']['fingerprint'][:8]}"
    assert f"<!-- textattack-rift:robustness/{key} -->" in card and "all attacks" in card

    # interrupt: corrupt one line in the middle and tear the last one; only those two are redone
    lines = (out / "results.jsonl").read_text().splitlines()
    kept = {(json.loads(l)["attack"], json.loads(l)["example"]): json.loads(l)["finished_at"] for l in lines}
    broken = [json.loads(lines[2]), json.loads(lines[-1])]
    lines[2] = lines[2][:40]
    (out / "results.jsonl").write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:25])
    calls.clear()
    again = evaluate("rift-bert-evaltest", attacks=["rift-pwws", "pwws"], num_examples=4, seed=3, progress=False)
    assert sorted(calls) == sorted((r["attack"], r["example"]) for r in broken)
    after = read_records(out / "results.jsonl")
    assert len(after) == 8 and len({(r["attack"], r["example"]) for r in after}) == 8
    for r in after:
        redone = (r["attack"], r["example"]) in calls
        assert (r["finished_at"] != kept[(r["attack"], r["example"])]) == redone
    assert again["all_attacks"] == summary["all_attacks"] | {"seconds": again["all_attacks"]["seconds"]}

    calls.clear()
    evaluate("rift-bert-evaltest", attacks=["rift-pwws"], num_examples=4, seed=3, progress=False)
    assert calls == []  # a finished evaluation attacks nothing
    with pytest.raises(RiftUserError, match=r"different --seed \(3, now 4\)"):
        evaluate("rift-bert-evaltest", attacks=["rift-pwws"], num_examples=4, seed=4, out_dir=out, progress=False)


def _write_csv(path: Path, rows: int) -> Path:
    texts = [
        "a gripping , beautifully acted story", "dull and lifeless from start to finish",
        "the best film of the year", "an awful , boring mess", "warm , funny and wise", "a tedious waste of time",
        "smart and moving", "clumsy and predictable",
    ]
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["text", "label"])
        for i in range(rows):
            out.writerow([texts[i % len(texts)], 1 - i % 2])
    return path


@pytest.mark.slow
def test_cli_uses_the_whole_split_when_asked_for_more_and_parallel_matches(model_dir, tmp_path, capsys):
    from textattack_rift.integration.cli import main

    data = _write_csv(tmp_path / "six.csv", 6)
    one = tmp_path / "one"
    assert main(["evaluate", "--model", str(model_dir), "--dataset", str(data), "--split", "train",
                 "--attacks", "rift-pwws", "--num-examples", "50", "--out", str(one), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "asked for 50 examples but the split has 6: using all 6" in printed
    assert "| rift-pwws | 6 |" in printed and "accuracy under attack" in printed
    two = tmp_path / "two"
    from textattack_rift import evaluate

    summary = evaluate(str(model_dir), dataset=str(data), split="train", attacks=["rift-pwws"], num_examples=50,
                       out_dir=two, parallel=2, progress=False)
    assert not list(two.glob("results.part-*.jsonl"))  # merged
    sequential = {r["example"]: r for r in read_records(one / "results.jsonl")}
    parallel = {r["example"]: r for r in read_records(two / "results.jsonl")}
    assert sorted(parallel) == list(range(6))
    for i in range(6):
        for key in ("status", "perturbed_text", "queries", "words_changed"):
            assert parallel[i][key] == sequential[i][key]
    assert summary["attacks"]["rift-pwws"]["examples"] == 6


def test_bad_input_fails_before_any_attack(model_dir, tmp_path, minilm_dir, monkeypatch):
    from transformers import AutoTokenizer

    from textattack_rift import evaluate
    from textattack_rift.models.tiny import tiny_bert_classifier

    calls = _count_attacks(monkeypatch)
    with pytest.raises(RiftUserError, match=r"no split 'dev'; available splits: train, validation, test"):
        evaluate(str(model_dir), split="dev", attacks=["rift-pwws"], num_examples=2, out_dir=tmp_path / "a")
    with pytest.raises(RiftUserError, match=r"unknown attack 'rift-nope'; known: .*rift-pwws"):
        evaluate(str(model_dir), attacks=["rift-pwws", "rift-nope"], num_examples=2, out_dir=tmp_path / "b")
    three = tmp_path / "three-labels"
    tiny_bert_classifier(AutoTokenizer.from_pretrained(str(minilm_dir)).vocab_size, num_labels=3).save_pretrained(three)
    AutoTokenizer.from_pretrained(str(minilm_dir)).save_pretrained(three)
    with pytest.raises(RiftUserError, match=r"predicts 3 labels but rotten_tomatoes test has 2 \(neg, pos\)"):
        evaluate(str(three), attacks=["rift-pwws"], num_examples=2, out_dir=tmp_path / "c")
    with pytest.raises(RiftUserError, match="attack 'rift-genetic', which is not evaluated"):
        evaluate(str(model_dir), attacks=["rift-pwws"], num_examples=2, out_dir=tmp_path / "d",
                 attack_options={"rift-genetic": {"pop_size": 4}})
    assert calls == []
    assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()
