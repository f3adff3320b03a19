"""Same seed, same model: the literal training command from an encoder saved WITHOUT a classifier head
(as MiniLM and bert-base-uncased are), twice and across a SIGKILL + ``--resume``; the compared methods of
a recipe start from one head."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def headless_encoder_dir(tmp_path_factory, minilm_dir) -> Path:
    """A tiny BERT encoder saved with ``save_pretrained`` and no ``classifier.*``: loading it for
    classification draws a NEW head, like a real pre-trained encoder."""
    from transformers import AutoTokenizer

    from textattack_rift.models.tiny import tiny_bert_classifier

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir))
    encoder = tiny_bert_classifier(tokenizer.vocab_size, hidden_size=32, num_layers=2, max_positions=128).bert
    out = tmp_path_factory.mktemp("headless-encoder")
    encoder.save_pretrained(out)
    tokenizer.model_max_length = 128
    tokenizer.save_pretrained(out)
    assert not any(k.startswith("classifier") for k in load_file(out / "model.safetensors"))
    return out


def _train_command(model_dir: Path, out: Path, *extra: str) -> list[str]:
    exe = BIN / "textattack"
    return [
        str(exe) if exe.exists() else "textattack", "train", "--rift", "--model-name-or-path", str(model_dir),
        "--dataset", "rotten_tomatoes", "--dataset-train-split", "train[:96]",
        "--dataset-eval-split", "validation[:16]", "--num-epochs", "2", "--per-device-train-batch-size", "8",
        "--learning-rate", "1e-3", "--model-max-length", "32", "--rift-adv-steps", "2",
        "--rift-proj-hidden-dim", "16", "--rift-proj-dim", "8", "--checkpoint-interval-steps", "2",
        "--rift-no-register", "--output-dir", str(out), *extra,
    ]


def _env() -> dict:
    return {**os.environ, "TEXTATTACK_RIFT_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=_env())
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _weights(model_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(model_dir / "model.safetensors")


def _assert_identical(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    differing = [k for k in wa if not torch.equal(wa[k], wb[k])]
    assert not differing, f"{len(differing)} tensors differ, e.g. {differing[:3]}"


@pytest.fixture(scope="module")
def uninterrupted(headless_encoder_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "a"
    _run(_train_command(headless_encoder_dir, out))
    return out


@pytest.mark.slow
def test_two_runs_of_the_literal_command_give_identical_weights(headless_encoder_dir, uninterrupted, tmp_path):
    again = tmp_path / "b"
    _run(_train_command(headless_encoder_dir, again))
    for folder in ("best_model", "last_model"):
        _assert_identical(uninterrupted / folder, again / folder)
    first = json.loads((uninterrupted / "train_summary.json").read_text())
    second = json.loads((again / "train_summary.json").read_text())
    assert first["initial_head_digest"] == second["initial_head_digest"]
    info = json.loads((again / "run_info.json").read_text())
    assert info["initial_head_digest"] == first["initial_head_digest"]
    assert info["machine"]["torch_threads"] >= 1 and info["machine"]["torch"] == torch.__version__


@pytest.mark.slow
def test_sigkill_then_resume_equals_the_uninterrupted_run(headless_encoder_dir, uninterrupted, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(_train_command(headless_encoder_dir, out), env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    latest = out / "checkpoints" / "LATEST"
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None and not latest.is_file():
        time.sleep(0.01)
    assert proc.poll() is None, f"run ended before the kill: {proc.stderr.read().decode()[-2000:]}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "train_summary.json").exists(), "the run finished before it was killed"
    killed_at = latest.read_text().strip()
    assert killed_at.startswith("step-")

    _run(_train_command(headless_encoder_dir, out, "--resume", str(out)))
    for folder in ("best_model", "last_model"):
        _assert_identical(uninterrupted / folder, out / folder)
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["steps"] == json.loads((uninterrupted / "train_summary.json").read_text())["steps"]


@pytest.mark.slow
def test_compared_methods_start_from_one_head(headless_encoder_dir, tmp_path):
    from textattack_rift.training.api import train_model

    digests = {}
    for method in ("standard", "ascc"):
        best = train_model(
            str(headless_encoder_dir), "rotten_tomatoes", output_dir=tmp_path / method, train_split="train[:32]",
            eval_split="validation[:8]", method=method, batch_size=8, max_length=32, max_steps=2, seed=11,
            rift_args={"adv_steps": 1}, learning_rate=1e-3,
        )
        digests[method] = json.loads((best.parent / "train_summary.json").read_text())["initial_head_digest"]
    assert digests["standard"] == digests["ascc"]
    other = train_model(
        str(headless_encoder_dir), "rotten_tomatoes", output_dir=tmp_path / "other-seed", train_split="train[:32]",
        eval_split="validation[:8]", method="standard", batch_size=8, max_length=32, max_steps=2, seed=12,
        learning_rate=1e-3,
    )
    assert json.loads((other.parent / "train_summary.json").read_text())["initial_head_digest"] != digests["standard"]


MINI_RUN = """
description = "reproducibility miniature"

[data]
dataset = "rotten_tomatoes"
train_split = "train[:64]"
eval_split = "validation[:16]"

[model]
name = "{model}"
max_length = 32

[training]
num_epochs = 2
batch_size = 16
learning_rate = 1e-3
seed = 5

[training.rift_args]
adv_steps = 2

[methods.standard]
[methods.ascc]

[evaluation]
split = "test"
num_examples = 8
subset_seed = 1
attack_seed = 1
attacks = ["rift-ascc", "rift-pwws"]
"""

_CLOCK = ("seconds", "time", "sessions", "results", "date", "started", "finished_at", "wall")


def _without_clocks(obj):
    if isinstance(obj, dict):
        return {k: _without_clocks(v) for k, v in obj.items() if not any(c in k for c in _CLOCK)}
    if isinstance(obj, list):
        return [_without_clocks(v) for v in obj]
    return obj


def _run_cli(recipe: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "textattack_rift", "run", str(recipe), "--out", str(out)],
                            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _kill_when(proc: subprocess.Popen, ready) -> None:
    deadline = time.time() + 900
    while time.time() < deadline and proc.poll() is None and not ready():
        time.sleep(0.02)
    assert proc.poll() is None, f"run ended before the kill: {proc.stderr.read().decode()[-2000:]}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_run_killed_in_training_and_in_evaluation_reports_what_an_uninterrupted_run_does(headless_encoder_dir, tmp_path):
    recipe = tmp_path / "mini.toml"
    recipe.write_text(MINI_RUN.format(model=headless_encoder_dir), encoding="utf-8")
    whole = tmp_path / "whole"
    proc = _run_cli(recipe, whole)
    assert proc.wait(timeout=1800) == 0, proc.stderr.read().decode()[-3000:]

    broken = tmp_path / "broken"
    proc = _run_cli(recipe, broken)  # killed while the second method trains
    _kill_when(proc, lambda: (broken / "train" / "ascc" / "run_info.json").is_file())
    assert not (broken / "train" / "ascc" / "train_summary.json").exists()
    proc = _run_cli(recipe, broken)  # resumed, then killed while the first method is being attacked
    results = broken / "eval" / "standard" / "results.jsonl"
    _kill_when(proc, lambda: results.is_file() and results.read_text().count("\n") >= 2)
    assert not (broken / "report.json").exists()
    proc = _run_cli(recipe, broken)
    assert proc.wait(timeout=1800) == 0, proc.stderr.read().decode()[-3000:]

    first = json.loads((whole / "report.json").read_text())
    second = json.loads((broken / "report.json").read_text())
    assert _without_clocks(first["methods"]) == _without_clocks(second["methods"])
    assert _without_clocks(first.get("paired_tests")) == _without_clocks(second.get("paired_tests"))
    for method in ("standard", "ascc"):
        _assert_identical(whole / "train" / method / "best_model", broken / "train" / method / "best_model")
        heads = {json.loads((folder / "train" / method / "train_summary.json").read_text())["initial_head_digest"]
                 for folder in (whole, broken)}
        assert len(heads) == 1
    digests = {json.loads((whole / "train" / m / "train_summary.json").read_text())["initial_head_digest"]
               for m in ("standard", "ascc")}
    assert len(digests) == 1  # both methods of the recipe started from one head
