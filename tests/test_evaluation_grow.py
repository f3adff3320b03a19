"""Growing an evaluation's subset (the same seed, more examples) attacks only the examples it adds and
keeps the records it has; a smaller subset, or another attack seed, on the same folder is refused
before any attack. On a real (tiny) model, real data and a real attack."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from textattack_rift.errors import RiftUserError
from textattack_rift.evaluation import worker
from textattack_rift.evaluation.records import read_records
from textattack_rift.evaluation.subset import subset_indices


@pytest.fixture()
def model_dir(tiny_bert_dir, tmp_path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(tiny_bert_dir, target)
    return target


def _count_attacks(monkeypatch) -> list:
    calls = []
    real = worker.attack_one

    def counting(attacks, name, example, seed):
        calls.append((name, example[0], seed))
        return real(attacks, name, example, seed)

    monkeypatch.setattr(worker, "attack_one", counting)
    return calls


@pytest.mark.slow
def test_growing_the_subset_attacks_only_the_new_examples(model_dir, tmp_path, monkeypatch):
    from textattack_rift import evaluate
    from textattack_rift.data import load_dataset

    calls = _count_attacks(monkeypatch)
    out = tmp_path / "eval"
    size = len(load_dataset("rotten_tomatoes", split="test"))
    small = evaluate(str(model_dir), attacks=["rift-pwws"], num_examples=3, seed=5, attack_seed=11, out_dir=out,
                     progress=False)
    first = subset_indices(size, 3, seed=5)[0]
    assert sorted(e for _, e, _ in calls) == first and {s for _, _, s in calls} == {11}  # the attack seed, not 5
    assert small["seed"] == 5 and small["attack_seed"] == 11
    before = {r["example"]: r["finished_at"] for r in read_records(out / "results.jsonl")}

    calls.clear()
    grown = evaluate(str(model_dir), attacks=["rift-pwws"], num_examples=7, seed=5, attack_seed=11, out_dir=out,
                     progress=False)
    larger = subset_indices(size, 7, seed=5)[0]
    assert set(first) < set(larger)
    assert sorted(e for _, e, _ in calls) == sorted(set(larger) - set(first))  # 4 attacks, not 7
    records = read_records(out / "results.jsonl")
    assert sorted(r["example"] for r in records) == larger
    for r in records:  # the three records it had are the same records, not redone
        if r["example"] in before:
            assert r["finished_at"] == before[r["example"]]
    assert grown["attacks"]["rift-pwws"]["examples"] == 7 and grown["complete"]
    stored = json.loads((out / "eval_config.json").read_text())
    assert stored["indices"] == larger and stored["num_examples"] == 7 and stored["attack_seed"] == 11

    calls.clear()
    with pytest.raises(RiftUserError) as info:
        evaluate(str(model_dir), attacks=["rift-pwws"], num_examples=4, seed=5, attack_seed=11, out_dir=out,
                 progress=False)
    message = str(info.value)
    assert "holds an evaluation of 7 examples (seed 5)" in message and "--num-examples >= 7" in message
    with pytest.raises(RiftUserError, match=r"different attack seed \(11, now 12\)"):
        evaluate(str(model_dir), attacks=["rift-pwws"], num_examples=7, seed=5, attack_seed=12, out_dir=out,
                 progress=False)
    assert calls == []
