"""rift-genetic's language model is checked before ``evaluate`` or ``run`` loads a dataset, a model or
trains anything: a missing one is one line at once, not an error minutes in (issue 15 item 7)."""

from __future__ import annotations

import shutil

import pytest

from textattack_rift.errors import ResourceMissing


class Started(AssertionError):
    """Raised by the spies: work began before the language model was checked."""


@pytest.fixture()
def no_work(monkeypatch):
    """Loading the data or the model, or training, fails the test at once (on the code before the
    up-front check these ran before the error)."""
    import textattack_rift.data
    import textattack_rift.training.api
    from textattack_rift.evaluation import worker

    def started(what):
        def spy(*args, **kwargs):
            raise Started(f"{what} before the language model was checked")

        return spy

    monkeypatch.setattr(textattack_rift.data, "load_dataset", started("the dataset loaded"))
    monkeypatch.setattr(worker, "load_attack_set", started("the model loaded"))
    monkeypatch.setattr(textattack_rift.training.api, "train_model", started("training started"))


@pytest.fixture()
def model_dir(tiny_bert_dir, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(tiny_bert_dir, target)
    return target


def test_evaluate_checks_the_lm_first(model_dir, tmp_path, offline, no_work):
    from textattack_rift import evaluate

    missing = tmp_path / "no-such-lm"
    with pytest.raises(ResourceMissing, match=r"language model directory '.*no-such-lm' does not exist"):
        evaluate(str(model_dir), attacks=["rift-pwws", "rift-genetic"], num_examples=2, out_dir=tmp_path / "out",
                 attack_options={"rift-genetic": {"lm": str(missing)}}, progress=False)
    empty = tmp_path / "empty-lm"
    empty.mkdir()
    with pytest.raises(ResourceMissing, match="has no config.json"):
        evaluate(str(model_dir), attacks=["rift-genetic"], num_examples=2, out_dir=tmp_path / "out",
                 attack_options={"*": {"lm": str(empty)}}, progress=False)
    assert not (tmp_path / "out").exists()


def test_evaluate_without_the_lm_filter_checks_nothing(model_dir, tmp_path, offline, no_work):
    from textattack_rift import evaluate

    with pytest.raises(Started, match="the dataset loaded"):  # past the check: lm none needs no LM
        evaluate(str(model_dir), attacks=["rift-genetic"], num_examples=2, out_dir=tmp_path / "out",
                 attack_options={"rift-genetic": {"lm": "none"}}, progress=False)


def test_cli_evaluate_missing_lm_is_one_line(model_dir, tmp_path, offline, no_work, capsys):
    from textattack_rift.integration.cli import main

    code = main(["evaluate", "--model", str(model_dir), "--attacks", "rift-genetic", "--num-examples", "2",
                 "--out", str(tmp_path / "out"), "--no-progress",
                 "--attack-option", f"rift-genetic:lm={tmp_path / 'no-such-lm'}"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "no-such-lm" in err and "--lm smollm2" in err


def test_run_checks_the_evaluation_lm_before_training(tmp_path, offline, no_work):
    from textattack_rift.experiments.run import run_recipe

    recipe = tmp_path / "exp.toml"
    recipe.write_text(f"""
[data]
dataset = "rotten_tomatoes"
train_split = "train[:16]"
eval_split = "validation[:8]"

[model]
name = "minilm"

[methods.standard]

[evaluation]
num_examples = 2
attacks = ["rift-pwws", "rift-genetic"]
attack_options = {{ rift-genetic = {{ lm = "{tmp_path / 'no-such-lm'}" }} }}
""", encoding="utf-8")
    out = tmp_path / "run"
    with pytest.raises(ResourceMissing, match=r"exp\.toml: evaluation\.attacks: language model directory '.*no-such-lm'"):
        run_recipe(recipe, out_dir=out, log=lambda msg: None)
    assert not out.exists()
