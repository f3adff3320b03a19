"""Files that exist but are truncated or not what they claim, and a local dataset without a validation
split: each is one line on stderr and exit status 2 (never a traceback), and nothing is half-written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from textattack_rift.errors import RiftUserError
from textattack_rift.resources.model_files import check_model_dir

BIN = Path(sys.executable).parent


def _exe(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else name


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TEXTATTACK_RIFT_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(list(args), capture_output=True, text=True, timeout=600, env=env, cwd=cwd)


def _one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, result.stderr[-3000:]
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.fixture
def model_copy(tiny_bert_dir, tmp_path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(tiny_bert_dir, target)
    return target


@pytest.mark.parametrize(
    "name,damage,problem",
    [
        ("model.safetensors", "truncate", "not a readable safetensors file"),
        ("model.safetensors", "empty", "is empty"),
        ("config.json", "garbage", "not valid JSON"),
        ("tokenizer.json", "truncate", "not valid JSON"),
        ("tokenizer_config.json", "binary", "not a text file"),
        ("vocab.txt", "empty", "is empty"),
    ],
)
def test_check_model_dir_names_the_file_and_the_problem(model_copy, name, damage, problem):
    check_model_dir(model_copy)  # the intact copy passes
    path = model_copy / name
    if damage == "truncate":
        _truncate(path)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "garbage":
        path.write_text("{not json", encoding="utf-8")
    else:
        path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RiftUserError) as err:
        check_model_dir(model_copy)
    assert str(path) in str(err.value) and problem in str(err.value)


def test_pytorch_bin_weights_are_checked_too(model_copy):
    import torch
    from safetensors.torch import load_file

    weights = load_file(model_copy / "model.safetensors")
    (model_copy / "model.safetensors").unlink()
    torch.save(weights, model_copy / "pytorch_model.bin")
    check_model_dir(model_copy)
    _truncate(model_copy / "pytorch_model.bin")
    with pytest.raises(RiftUserError, match="pytorch_model.bin: is not a readable PyTorch weights file"):
        check_model_dir(model_copy)


@pytest.mark.slow
def test_attack_with_truncated_weights_is_one_line(model_copy):
    _truncate(model_copy / "model.safetensors")
    result = _cli(_exe("textattack"), "attack", "--recipe", "rift-pwws", "--model", str(model_copy),
                  "--dataset-from-huggingface", "rotten_tomatoes", "--num-examples", "1")
    _one_line_error(result, "model.safetensors", "not a readable safetensors file")


def test_a_model_path_that_does_not_exist_is_one_line(tmp_path):
    missing = tmp_path / "no" / "such" / "model"
    result = _cli(_exe("textattack-rift"), "evaluate", "--model", str(missing), "--num-examples", "2")
    _one_line_error(result, str(missing), "does not exist")
    assert "HFValidationError" not in result.stderr


@pytest.mark.slow
def test_evaluate_with_a_broken_tokenizer_is_one_line(model_copy, tmp_path):
    (model_copy / "tokenizer.json").write_text('{"version": "1.0", "trunc', encoding="utf-8")
    result = _cli(_exe("textattack-rift"), "evaluate", "--model", str(model_copy), "--dataset", "rotten_tomatoes",
                  "--num-examples", "2", "--attacks", "rift-ascc", "--out", str(tmp_path / "eval"))
    _one_line_error(result, "tokenizer.json", "not valid JSON")
    assert not (tmp_path / "eval" / "results.jsonl").exists()


@pytest.mark.slow
def test_rift_training_on_a_local_file_without_validation_split_is_one_line(tiny_bert_dir, tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("text,label\n" + "".join(f"a fine film number {i},{i % 2}\n" for i in range(20)), encoding="utf-8")
    result = _cli(_exe("textattack"), "train", "--rift", "--model-name-or-path", str(tiny_bert_dir),
                  "--dataset", str(data), "--output-dir", str(tmp_path / "run"), "--rift-no-register")
    _one_line_error(result, "has none", "--dataset-eval-split 'train[90%:]'")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_rift_training_from_truncated_weights_is_one_line(model_copy, tmp_path):
    _truncate(model_copy / "model.safetensors")
    result = _cli(_exe("textattack"), "train", "--rift", "--model-name-or-path", str(model_copy),
                  "--dataset", "rotten_tomatoes", "--dataset-train-split", "train[:16]",
                  "--dataset-eval-split", "validation[:8]", "--output-dir", str(tmp_path / "run"), "--rift-no-register")
    _one_line_error(result, "model.safetensors")


# -- a run folder whose checkpoint or arguments were damaged: resume refuses in one line ------------

def _train_tiny(run: Path, tiny_bert_dir: Path, resume: bool = False) -> None:
    import textattack

    from textattack_rift.data import load_textattack_dataset
    from textattack_rift.models.loading import load_model
    from textattack_rift.training.args import RiftArgs
    from textattack_rift.training.trainer import RiftTrainer

    RiftTrainer(
        load_model(str(tiny_bert_dir)),
        train_dataset=load_textattack_dataset("rotten_tomatoes", split="train[:16]"),
        eval_dataset=load_textattack_dataset("rotten_tomatoes", split="validation[:8]"),
        training_args=textattack.TrainingArgs(num_epochs=1, per_device_train_batch_size=8, output_dir=str(run),
                                              num_warmup_steps=0, random_seed=3),
        rift_args=RiftArgs(adv_steps=1, proj_hidden_dim=8, proj_dim=4),
        resume=resume,
        register_name=False,
    ).train()


@pytest.fixture(scope="module")
def finished_run(tiny_bert_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("damaged") / "run"
    _train_tiny(out, tiny_bert_dir)
    return out


def _resume(run: Path, tiny_bert_dir: Path) -> None:
    _train_tiny(run, tiny_bert_dir, resume=True)


@pytest.mark.slow
@pytest.mark.parametrize("target,problem", [
    ("training_state.pt", "training state cannot be read"),
    ("model/model.safetensors", "not a readable safetensors file"),
    ("rift_args.json", "not a readable rift_args.json"),
])
def test_resume_from_a_damaged_run_is_one_line(finished_run, tiny_bert_dir, tmp_path, target, problem):
    from textattack_rift.training.checkpoint import latest_checkpoint

    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    _resume(run, tiny_bert_dir)  # the intact copy resumes (and has nothing left to do)
    path = run / target if target == "rift_args.json" else latest_checkpoint(run) / target
    _truncate(path)
    with pytest.raises(RiftUserError) as err:
        _resume(run, tiny_bert_dir)
    assert problem in str(err.value) and "\n" not in str(err.value)


@pytest.mark.slow
def test_a_truncated_recipe_or_synonym_table_is_one_line(tmp_path):
    recipe = tmp_path / "cut.toml"
    recipe.write_text('description = "cut"\n[data]\ndataset = "rotten_', encoding="utf-8")
    result = _cli(_exe("textattack-rift"), "run", str(recipe), "--out", str(tmp_path / "out"))
    _one_line_error(result, str(recipe))
    assert not (tmp_path / "out").exists()
    table = tmp_path / "synonyms.json"
    table.write_text('{"good": ["fine", "decent"], "bad": ["po', encoding="utf-8")
    result = _cli(_exe("textattack-rift"), "threat", "--synonyms", str(table))
    _one_line_error(result, str(table), "not valid JSON")
    table.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00garbage")
    result = _cli(_exe("textattack-rift"), "threat", "--synonyms", str(table))
    _one_line_error(result, str(table), "cannot be read as UTF-8 text")
