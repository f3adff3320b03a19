"""Balanced and sharded evaluation: ``--shard K/N`` and its bad input, two shards merged equal one
unsharded run, the worker pool attacks every pair exactly once when a worker dies, and a run killed
with kill -9 loses and repeats no pair on the next run. A tiny model, two attacks, six examples."""

from __future__ import annotations

import csv
import json
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from textattack_rift.errors import RiftUserError
from textattack_rift.evaluation import records as records_module
from textattack_rift.evaluation import shards, worker
from textattack_rift.evaluation.records import read_records

ATTACKS = ["rift-pwws", "rift-ascc"]
OPTIONS = {"rift-ascc": {"steps": 3}}
TEXTS = [
    "a gripping , beautifully acted story", "dull and lifeless from start to finish", "the best film of the year",
    "an awful , boring mess", "warm , funny and wise", "a tedious waste of time",
]
VOLATILE = ("seconds", "finished_at")


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "six.csv"
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["text", "label"])
        for i, text in enumerate(TEXTS):
            out.writerow([text, 1 - i % 2])
    return path


def _evaluate(model, data, out, **kwargs):
    from textattack_rift import evaluate

    return evaluate(str(model), dataset=str(data), split="train", attacks=ATTACKS, num_examples=None,
                    out_dir=out, attack_options=OPTIONS, progress=False, **kwargs)


def _stable(records) -> dict:
    return {(r["attack"], r["example"]): {k: v for k, v in r.items() if k not in VOLATILE} for r in records}


def _count_attacks(monkeypatch) -> list:
    calls = []
    real = worker.attack_one

    def counting(attacks, name, example, seed):
        calls.append((name, example[0]))
        return real(attacks, name, example, seed)

    monkeypatch.setattr(worker, "attack_one", counting)
    return calls


@pytest.fixture(scope="module")
def unsharded(tiny_bert_dir, data_file, tmp_path_factory) -> dict:
    """One plain run, in this process: the reference every other way of running must reproduce."""
    out = tmp_path_factory.mktemp("unsharded")
    _evaluate(tiny_bert_dir, data_file, out)
    records = read_records(out / "results.jsonl")
    assert len(records) == len(ATTACKS) * len(TEXTS)
    return _stable(records)


# -- the share, and bad input --------------------------------------------------------------------
def test_shard_spec_and_environment():
    assert shards.parse_shard(None) is None and shards.parse_shard("") is None
    assert shards.parse_shard("2/4") == shards.Shard(1, 4) and shards.parse_shard((4, 4)) == shards.Shard(3, 4)
    assert shards.Shard(1, 4).filename == "results.shard-2-of-4.jsonl" and shards.Shard(1, 4).label == "2/4"
    assert shards.Shard(1, 3).take(list("abcdefg")) == ["b", "e"]
    parts = [shards.Shard(k, 3).take(list(range(10))) for k in range(3)]
    assert sorted(sum(parts, [])) == list(range(10))  # disjoint, and together the whole subset
    assert shards.from_environment({"RANK": "0", "WORLD_SIZE": "2"}) == shards.Shard(0, 2)  # torchrun counts from 0
    assert shards.from_environment({"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4",
                                    "SLURM_ARRAY_TASK_MIN": "1"}) == shards.Shard(3, 4)  # --array=1-4
    assert shards.from_environment({"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"}) == shards.Shard(0, 2)
    for spec, message in [
        ("3/2", r"--shard 3/2: the shard must be in 1\.\.2 for 2 shards"),
        ("0/2", r"must be in 1\.\.2"),
        ("1/0", r"at least 1"),
        ("a/2", r"K is not a whole number"),
        ("2", r"expected K/N"),
    ]:
        with pytest.raises(RiftUserError, match=message):
            shards.parse_shard(spec)
    with pytest.raises(RiftUserError, match=r"RANK=2, WORLD_SIZE=2\): the shard must be in 0\.\.1"):
        shards.from_environment({"RANK": "2", "WORLD_SIZE": "2"})
    with pytest.raises(RiftUserError, match="neither RANK/WORLD_SIZE"):
        shards.from_environment({})


def test_bad_shard_fails_before_any_work(tiny_bert_dir, data_file, tmp_path, monkeypatch):
    calls = _count_attacks(monkeypatch)
    with pytest.raises(RiftUserError, match=r"--shard 5/4: the shard must be in 1\.\.4"):
        _evaluate(tiny_bert_dir, data_file, tmp_path / "a", shard="5/4")
    assert not (tmp_path / "a").exists()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "results.shard-1-of-3.jsonl").write_text("")
    with pytest.raises(RiftUserError) as err:
        _evaluate(tiny_bert_dir, data_file, tmp_path / "b", shard="1/2")
    message = str(err.value)
    assert "holds results of 3 shards" in message and "--shard K/3" in message and "\n" not in message
    assert calls == []


# -- shards ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_two_shards_merged_equal_one_unsharded_run(tiny_bert_dir, data_file, tmp_path, unsharded, monkeypatch):
    out = tmp_path / "sharded"
    calls = _count_attacks(monkeypatch)
    first = _evaluate(tiny_bert_dir, data_file, out, shard="1/2")
    assert sorted(set(calls)) == sorted((a, i) for a in ATTACKS for i in (0, 2, 4)) and len(calls) == 6
    assert not first["complete"] and first["shard"] == "1/2"
    assert not (out / "results.jsonl").exists() and (out / "results.shard-1-of-2.jsonl").is_file()
    with pytest.raises(RiftUserError, match="holds results of 2 shards"):
        _evaluate(tiny_bert_dir, data_file, out, shard="1/3")
    calls.clear()
    _evaluate(tiny_bert_dir, data_file, out, shard="2/2")
    assert sorted(set(calls)) == sorted((a, i) for a in ATTACKS for i in (1, 3, 5)) and len(calls) == 6
    calls.clear()
    _evaluate(tiny_bert_dir, data_file, out, shard="2/2")  # a shard run again: nothing left in its share
    assert calls == []

    merged = _evaluate(tiny_bert_dir, data_file, out)  # without --shard: merge
    assert calls == [] and merged["complete"] and merged["shard"] is None
    assert not list(out.glob("results.shard-*"))
    records = read_records(out / "results.jsonl")
    assert len(records) == len(unsharded) and _stable(records) == unsharded


# -- the pool -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_pool_attacks_every_pair_once_when_a_worker_dies(tiny_bert_dir, data_file, tmp_path, unsharded,
                                                              monkeypatch, caplog):
    appended, killed = [], []
    real = records_module.Appender.append

    def append_then_kill_a_worker(self, record):
        real(self, record)
        appended.append((record["attack"], record["example"]))
        if not killed:  # after the first record, mid-run: kill a pool worker as the OOM killer would
            victim = multiprocessing.active_children()[0]
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    monkeypatch.setattr(records_module.Appender, "append", append_then_kill_a_worker)
    out = tmp_path / "pool"
    with caplog.at_level(logging.WARNING, logger="textattack_rift.evaluation"):
        summary = _evaluate(tiny_bert_dir, data_file, out, parallel=2)
    assert killed and "an evaluation worker died" in caplog.text
    assert sorted(appended) == sorted(unsharded)  # every pair written exactly once
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == len(unsharded)
    assert _stable(json.loads(line) for line in lines) == unsharded  # and as one in-process run gives it
    assert summary["complete"]


@pytest.mark.slow
def test_kill_9_then_rerun_loses_and_repeats_no_pair(tiny_bert_dir, data_file, tmp_path, unsharded, monkeypatch):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "textattack_rift", "evaluate", "--model", str(tiny_bert_dir), "--dataset",
               str(data_file), "--split", "train", "--attacks", ",".join(ATTACKS), "--num-examples", "all",
               "--out", str(out), "--no-progress",
               "--attack-option", "rift-ascc:steps=3"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    results = out / "results.jsonl"
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            if results.is_file() and results.read_text().count("\n") >= 3:
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its workers, at once
        proc.wait()
    before = {(r["attack"], r["example"]): r["finished_at"] for r in read_records(results, repair=False)}
    assert 3 <= len(before) < len(unsharded), "the run was not killed mid-way"
    calls = _count_attacks(monkeypatch)
    _evaluate(tiny_bert_dir, data_file, out)
    assert sorted(calls) == sorted(set(unsharded) - set(before))  # only what was missing
    after = read_records(out / "results.jsonl")
    assert len(after) == len(unsharded) and _stable(after) == unsharded
    for r in after:
        if (r["attack"], r["example"]) in before:
            assert r["finished_at"] == before[(r["attack"], r["example"])]  # kept, not redone
