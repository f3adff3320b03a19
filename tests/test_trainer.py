"""RiftTrainer: outputs, resume, the compared methods and every bad input of the training issue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import textattack
import torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from textattack_rift.data import load_textattack_dataset
from textattack_rift.errors import RiftUserError
from textattack_rift.models.wrapper import PaddedHuggingFaceModelWrapper
from textattack_rift.threat import ThreatModel
from textattack_rift.training.args import RiftArgs
from textattack_rift.training.trainer import RiftTrainer

BIN = Path(sys.executable).parent


class Interrupted(Exception):
    """Stands for a kill: raised after a given optimizer step, leaving the files as they are."""


class InterruptingTrainer(RiftTrainer):
    def __init__(self, *args, stop_after: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.stop_after = stop_after
        self.steps_taken = 0

    def _optimizer_step(self, model, optimizer, scheduler):
        if self.steps_taken == self.stop_after:
            raise Interrupted()
        super()._optimizer_step(model, optimizer, scheduler)
        self.steps_taken += 1


class PoisoningTrainer(RiftTrainer):
    """Sets a classifier weight to NaN after ``poison_after`` steps: the next CE is really NaN."""

    def __init__(self, *args, poison_after: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.poison_after = poison_after
        self.steps_taken = 0

    def _optimizer_step(self, model, optimizer, scheduler):
        super()._optimizer_step(model, optimizer, scheduler)
        self.steps_taken += 1
        if self.steps_taken == self.poison_after:
            with torch.no_grad():
                model.classifier.weight[0, 0] = float("nan")


@pytest.fixture(scope="module")
def data():
    return (
        load_textattack_dataset("rotten_tomatoes", split="train[:48]"),
        load_textattack_dataset("rotten_tomatoes", split="validation[:16]"),
    )


def _wrapper(model_dir):
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    return PaddedHuggingFaceModelWrapper(model, tokenizer)


def _training_args(out, **kw):
    base = dict(
        num_epochs=2, per_device_train_batch_size=8, per_device_eval_batch_size=16, learning_rate=1e-3,
        num_warmup_steps=0, random_seed=5, output_dir=str(out), checkpoint_interval_steps=2,
    )
    base.update(kw)
    return textattack.TrainingArgs(**base)


def _trainer(cls, model_dir, data, out, rift_args=None, **kw):
    train, valid = data
    extra = {k: kw.pop(k) for k in list(kw) if k in ("stop_after", "poison_after", "resume")}
    return cls(
        _wrapper(model_dir), train_dataset=train, eval_dataset=valid, training_args=_training_args(out, **kw),
        rift_args=rift_args or RiftArgs(adv_steps=2, adv_warm_start=True, adv_steps_warm=1),
        threat_model=ThreatModel("wordnet"), register_name=False, **extra,
    )


def _weights(directory) -> dict:
    return load_file(str(Path(directory) / "model.safetensors"))


@pytest.mark.slow
def test_resume_after_a_kill_equals_the_uninterrupted_run(tiny_bert_dir, data, tmp_path):
    whole = _trainer(RiftTrainer, tiny_bert_dir, data, tmp_path / "whole").train()
    broken = tmp_path / "broken"
    with pytest.raises(Interrupted):
        _trainer(InterruptingTrainer, tiny_bert_dir, data, broken, stop_after=9).train()
    # Killed inside the second epoch: the step-8 checkpoint is the last complete one.
    assert (broken / "checkpoints" / "LATEST").read_text().strip() == "step-8"
    assert not (broken / "train_summary.json").exists()
    resumed = _trainer(RiftTrainer, tiny_bert_dir, data, broken, resume=True).train()

    a, b = _weights(whole.parent / "last_model"), _weights(resumed.parent / "last_model")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    steps = lambda run: [json.loads(l)["step"] for l in (run / "metrics.jsonl").read_text().splitlines() if "loss" in l]
    assert steps(broken) == steps(whole.parent) == list(range(1, 15))  # 2 epochs x 7 batches (28 positives / 4 per batch), none logged twice
    summary = json.loads((broken / "train_summary.json").read_text())
    assert summary["finished"] and summary["steps"] == 14 and summary["method"] == "rift"


@pytest.mark.slow
def test_outputs_load_as_plain_classifier_and_log_every_term(tiny_bert_dir, data, tmp_path):
    best = _trainer(RiftTrainer, tiny_bert_dir, data, tmp_path / "run", num_epochs=1).train()
    out = best.parent
    for name in ("best_model", "last_model", "train_log.txt", "training_args.json", "rift_args.json",
                 "threat_model.json", "metrics.jsonl", "train_summary.json", "run_info.json"):
        assert (out / name).exists(), name
    assert RiftArgs.load(out) == RiftArgs(adv_steps=2, adv_warm_start=True, adv_steps_warm=1)
    assert ThreatModel.load(out).fingerprint == ThreatModel("wordnet").fingerprint
    for model_dir in (best, out / "last_model"):  # beside the weights, where attacks and evaluate look
        assert ThreatModel.load(model_dir).fingerprint == ThreatModel("wordnet").fingerprint
    wrapper = textattack.models.wrappers.HuggingFaceModelWrapper(
        AutoModelForSequenceClassification.from_pretrained(best), AutoTokenizer.from_pretrained(best)
    )
    assert tuple(wrapper(["a gripping , funny film .", "dull"]).shape) == (2, 2)
    records = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    step = next(r for r in records if "loss" in r)
    assert {"ce", "kl", "mi", "clean_acc", "adv_acc", "adv_steps", "lr", "seconds"} <= step.keys()
    validation = [r for r in records if r.get("event") == "validation"]
    assert validation and {"clean_accuracy", "ascc_accuracy"} <= validation[-1].keys()
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["validation"]["ascc_accuracy"] <= summary["validation"]["clean_accuracy"]
    assert (best / "README.md").is_file()  # model card


@pytest.mark.slow
@pytest.mark.parametrize("method,terms", [("standard", {"ce"}), ("ascc", {"ce", "kl"}), ("rift-unconditional", {"ce", "kl", "mi"})])
def test_one_flag_selects_each_compared_method(tiny_bert_dir, data, tmp_path, method, terms):
    rift_args = RiftArgs.preset(method, adv_steps=1)
    _trainer(RiftTrainer, tiny_bert_dir, data, tmp_path, rift_args=rift_args, num_epochs=1).train()
    record = next(json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines() if "loss" in l)
    assert terms <= record.keys() and not ({"ce", "kl", "mi"} - terms) & record.keys()
    assert json.loads((tmp_path / "train_summary.json").read_text())["method"] == method


def test_weight_decay_only_on_the_new_heads(tiny_bert_dir, data, tmp_path):
    trainer = _trainer(RiftTrainer, tiny_bert_dir, data, tmp_path, weight_decay=0.1)
    model = trainer.model_wrapper.model
    optimizer, _ = trainer.get_optimizer_and_scheduler(model, 10)
    decayed = {id(p) for g in optimizer.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    names = {n for n, p in model.named_parameters() if id(p) in decayed}
    assert names == {"classifier.weight", "classifier.bias"}


@pytest.mark.slow
def test_nan_loss_stops_naming_step_and_term_and_keeps_the_checkpoint(tiny_bert_dir, data, tmp_path):
    with pytest.raises(RiftUserError, match=r"step 5 .*'ce'.*checkpoints/step-4"):
        _trainer(PoisoningTrainer, tiny_bert_dir, data, tmp_path, poison_after=4).train()
    assert (tmp_path / "checkpoints" / "LATEST").read_text().strip() == "step-4"
    assert (tmp_path / "checkpoints" / "step-4" / "training_state.pt").is_file()


@pytest.mark.slow
def test_bad_inputs_fail_before_training(tiny_bert_dir, minilm_dir, data, tmp_path):
    train, valid = data
    one_class = textattack.datasets.Dataset([("good film", 1), ("great fun", 1), ("fine work", 1), ("a joy", 1)])
    with pytest.raises(RiftUserError, match="at least two classes"):
        RiftTrainer(_wrapper(tiny_bert_dir), train_dataset=one_class, eval_dataset=valid,
                    training_args=_training_args(tmp_path / "a", per_device_train_batch_size=4), register_name=False).train()
    three = textattack.datasets.Dataset([("good film", 0), ("bad film", 2), ("fine", 1), ("meh", 0)])
    with pytest.raises(RiftUserError, match=r"label\(s\) \[2\] but the model has 2 output"):
        RiftTrainer(_wrapper(tiny_bert_dir), train_dataset=three, eval_dataset=valid,
                    training_args=_training_args(tmp_path / "b"), register_name=False).train()
    with pytest.raises(RiftUserError, match="not a textattack-rift training run"):
        _trainer(RiftTrainer, tiny_bert_dir, data, tmp_path / "empty", resume=True).train()
    # A finished run resumed with another base model is refused.
    _trainer(RiftTrainer, tiny_bert_dir, data, tmp_path / "run", num_epochs=1, rift_args=RiftArgs.preset("standard")).train()
    other = tmp_path / "other-model"
    from textattack_rift.models.tiny import tiny_bert_classifier

    tiny_bert_classifier(AutoTokenizer.from_pretrained(tiny_bert_dir).vocab_size, seed=1).save_pretrained(other)
    AutoTokenizer.from_pretrained(tiny_bert_dir).save_pretrained(other)
    with pytest.raises(RiftUserError, match="made with model"):
        _trainer(RiftTrainer, other, data, tmp_path / "run", num_epochs=1, resume=True,
                 rift_args=RiftArgs.preset("standard")).train()
    with pytest.raises(RiftUserError, match="already holds a textattack-rift run"):
        _trainer(RiftTrainer, tiny_bert_dir, data, tmp_path / "run", num_epochs=1, rift_args=RiftArgs.preset("standard")).train()


def _textattack_train(*args, timeout=900, **env):
    exe = BIN / "textattack"
    environment = {**os.environ, "TEXTATTACK_RIFT_OFFLINE": "1", "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run([str(exe) if exe.exists() else "textattack", "train", *args],
                          capture_output=True, text=True, timeout=timeout, env=environment)


@pytest.mark.slow
def test_literal_textattack_train_rift_with_minilm(tmp_path):
    out = tmp_path / "run"
    result = _textattack_train(
        "--rift", "--model-name-or-path", "minilm", "--dataset", "rotten_tomatoes",
        "--dataset-train-split", "train[:16]", "--dataset-eval-split", "validation[:8]",
        "--per-device-train-batch-size", "8", "--model-max-length", "48", "--num-epochs", "1",
        "--rift-max-steps", "2", "--rift-adv-steps", "2", "--rift-no-register", "--output-dir", str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    best = out / "best_model"
    model = AutoModelForSequenceClassification.from_pretrained(best)
    assert model.config.model_type == "bert" and model.config.num_labels == 2
    wrapper = textattack.models.wrappers.HuggingFaceModelWrapper(model, AutoTokenizer.from_pretrained(best))
    assert tuple(wrapper(["an engaging film"]).shape) == (1, 2)
    assert json.loads((out / "train_summary.json").read_text())["steps"] == 2


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--rift-beta", "3"], "--rift-beta needs --rift"),
        (["--rift", "--rift-gamma", "-1"], "gamma must be >= 0"),
        (["--rift", "--attack", "pwws"], "--attack pwws with --rift"),
        (["--rift", "--resume", "NOT_A_RUN"], "not a textattack-rift training run"),
    ],
)
def test_contradicting_flags_fail_in_one_line(tmp_path, flags, message):
    flags = [str(tmp_path / f) if f == "NOT_A_RUN" else f for f in flags]
    result = _textattack_train(
        "--model-name-or-path", "minilm", "--dataset", "rotten_tomatoes", "--dataset-train-split", "train[:8]",
        "--dataset-eval-split", "validation[:8]", "--output-dir", str(tmp_path / "out"), *flags, timeout=300,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("textattack: error:") and message in last, result.stderr[-2000:]
