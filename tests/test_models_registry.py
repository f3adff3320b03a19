"""Named models: the registry (round trip, aliases, concurrent writers, errors), the model card, the
``textattack-rift models`` command, and registered names in the literal ``textattack`` command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from textattack_rift.errors import ResourceMissing, RiftUserError
from textattack_rift.models import registry
from textattack_rift.models.card import write_model_card
from textattack_rift.models.names import resolve_model_name


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    """A fresh cache root (and so a fresh registry) for the test."""
    monkeypatch.setenv("TEXTATTACK_RIFT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(registry.REGISTRY_ENV, raising=False)
    return tmp_path / "home"


def _config_only_model(path: Path, model_type: str = "bert") -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"model_type": model_type, "id2label": {"0": "neg", "1": "pos"}}))
    return path


def test_default_names_sanitize_architecture_and_dataset(tiny_bert_dir, tmp_path):
    assert registry.default_model_name(tiny_bert_dir, "rotten_tomatoes") == "rift-bert-rotten_tomatoes"
    assert registry.default_model_name({"model_type": "bert"}, "glue^sst2") == "rift-bert-glue-sst2"
    assert registry.default_model_name({"model_type": "RoBERTa"}, "stanfordnlp/imdb") == "rift-roberta-stanfordnlp-imdb"
    assert registry.default_model_name({"model_type": "bert"}, str(tmp_path / "my reviews.csv")) == "rift-bert-my-reviews"
    with pytest.raises(RiftUserError, match="model_type"):
        registry.default_model_name({}, "rotten_tomatoes")


def test_registry_round_trip_with_alias_following_the_latest(home, tiny_bert_dir, tmp_path):
    names = registry.register_model(tiny_bert_dir, dataset="rotten_tomatoes", metadata={"method": "rift"})
    assert names == ["rift-bert-rotten_tomatoes", "rift-bert"]
    assert (home / "models" / "registry.json").is_file()
    assert registry.resolve_registered("rift-bert-rotten_tomatoes") == Path(tiny_bert_dir).resolve()
    assert resolve_model_name("rift-bert") == str(Path(tiny_bert_dir).resolve())
    entry = registry.lookup("rift-bert")
    assert entry["name"] == "rift-bert-rotten_tomatoes" and entry["method"] == "rift" and entry["num_labels"] == 2

    # the registered name loads as a real classifier through the public loader
    from textattack_rift import load_model

    wrapper = load_model("rift-bert")
    assert wrapper(["a fine film"]).shape == (1, 2)

    second = _config_only_model(tmp_path / "second")
    assert registry.register_model(second, name="rift-bert-second") == ["rift-bert-second", "rift-bert"]
    assert registry.resolve_registered("rift-bert") == second.resolve()
    listed = {m["name"]: m for m in registry.list_models()}
    assert set(listed) == {"rift-bert-rotten_tomatoes", "rift-bert-second"}
    assert listed["rift-bert-second"]["aliases"] == ["rift-bert"] and listed["rift-bert-second"]["exists"]

    # removing the latest moves the alias back; removing the last one drops it; files stay
    assert registry.remove_model("rift-bert-second") == ["rift-bert-second"]
    assert registry.resolve_registered("rift-bert") == Path(tiny_bert_dir).resolve()
    assert registry.remove_model("rift-bert-rotten_tomatoes") == ["rift-bert-rotten_tomatoes", "rift-bert"]
    assert registry.list_models() == [] and (Path(tiny_bert_dir) / "config.json").is_file()


def test_unknown_names_list_the_known_ones(home, tmp_path):
    registry.register_model(_config_only_model(tmp_path / "m"), dataset="rotten_tomatoes")
    with pytest.raises(RiftUserError, match=r"unknown model name 'rift-roberta'.*rift-bert, rift-bert-rotten_tomatoes"):
        resolve_model_name("rift-roberta")
    with pytest.raises(RiftUserError, match="rift-bert-rotten_tomatoes"):
        registry.remove_model("rift-nope")
    assert registry.resolve_registered("minilm") is None  # not ours: other resolution rules apply
    from textattack_rift.integration.textattack_args import _is_ours

    assert _is_ours("rift-roberta") and _is_ours("rift-bert") and not _is_ours("bert-base-uncased")


def test_stale_entry_and_corrupt_registry_are_one_line_errors(home, tmp_path):
    model = _config_only_model(tmp_path / "gone")
    registry.register_model(model, name="rift-gone")
    shutil.rmtree(model)
    with pytest.raises(ResourceMissing, match="textattack-rift models remove rift-gone"):
        resolve_model_name("rift-gone")
    registry.registry_path().write_text("{ not json")
    with pytest.raises(RiftUserError, match="not valid JSON"):
        registry.list_models()
    with pytest.raises(RiftUserError, match="not usable"):
        registry.check_name("has space")


def test_concurrent_writers_lose_nothing(home, tmp_path):
    models = [_config_only_model(tmp_path / f"m{i}") for i in range(8)]
    errors = []

    def register(i):
        try:
            registry.register_model(models[i], name=f"rift-bert-m{i}")
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert {m["name"] for m in registry.list_models()} == {f"rift-bert-m{i}" for i in range(8)}
    json.loads(registry.registry_path().read_text())  # still one valid file


def test_model_card_keeps_training_when_robustness_is_added(home, tmp_path, minilm_dir):
    import yaml

    from textattack_rift.threat import SynonymSet, ThreatModel

    model = _config_only_model(tmp_path / "card")
    (model / "README.md").write_text("# Old notes\n\nkeep me\n")
    threat = ThreatModel(SynonymSet.from_dict("tiny", {"good": ["fine"]}))
    training = {
        "base_model": str(minilm_dir), "dataset": "rotten_tomatoes", "method": "rift", "epochs": 2,
        "batch_size": 32, "learning_rate": 2e-5, "seed": 0, "training_seconds": 125.0,
        "rift_args": {"beta": 10.0, "gamma": 0.1}, "validation": {"accuracy": 0.81},
    }
    write_model_card(model, training=training, threat_model=threat, name="rift-bert-card")
    write_model_card(model, robustness_markdown="| a |\n|---|\n| 1 |", robustness_key="rotten_tomatoes-test-n5-seed0")
    write_model_card(model, robustness_markdown="| b |\n|---|\n| 2 |", robustness_key="rotten_tomatoes-validation-n5-seed0")
    write_model_card(model, robustness_markdown="| a |\n|---|\n| 3 |", robustness_key="rotten_tomatoes-test-n5-seed0")
    text = (model / "README.md").read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["library_name"] == "transformers" and front["datasets"] == ["rotten_tomatoes"]
    assert {"textattack", "rift", "adversarial-robustness"} <= set(front["tags"])
    assert front["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert "# rift-bert-card" in text and "| learning rate | 2e-05 |" in text and "| beta | 10 |" in text
    assert threat.fingerprint in text and "2.1 min" in text
    assert "| 3 |" in text and "| 1 |" not in text and "| 2 |" in text  # test block replaced, validation kept
    assert text.count("<!-- textattack-rift:robustness/") == 2 and "keep me" in text


def test_models_command_lists_shows_and_removes(home, tmp_path, capsys):
    from textattack_rift.integration.cli import main

    assert main(["models", "list"]) == 0
    assert "no registered models" in capsys.readouterr().out
    registry.register_model(_config_only_model(tmp_path / "m"), dataset="rotten_tomatoes")
    assert main(["models", "list"]) == 0
    assert "rift-bert-rotten_tomatoes (alias: rift-bert)" in capsys.readouterr().out
    assert main(["models", "show", "rift-bert"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["name"] == "rift-bert-rotten_tomatoes" and shown["path"] == str((tmp_path / "m").resolve())
    assert main(["models", "show", "rift-x"]) == 2
    assert "registered models: rift-bert, rift-bert-rotten_tomatoes" in capsys.readouterr().err
    assert main(["models", "remove", "rift-bert-rotten_tomatoes"]) == 0
    assert "removed rift-bert-rotten_tomatoes, rift-bert" in capsys.readouterr().out


@pytest.mark.slow
def test_literal_textattack_commands_take_registered_names(tiny_bert_dir, tmp_path, monkeypatch, textattack_exe):
    reg = tmp_path / "registry.json"
    monkeypatch.setenv(registry.REGISTRY_ENV, str(reg))
    names = registry.register_model(tiny_bert_dir, name="rift-bert-tiny", dataset="rotten_tomatoes")
    assert names == ["rift-bert-tiny", "rift-bert"]
    env = dict(os.environ, TEXTATTACK_RIFT_OFFLINE="1", HF_HUB_OFFLINE="1")
    attack = subprocess.run(  # no dataset flag: the registered model's own dataset
        [textattack_exe, "attack", "--recipe", "pwws", "--model", "rift-bert", "--dataset-split", "test[:3]",
         "--num-examples", "3"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert attack.returncode == 0, attack.stderr[-3000:]
    assert "Attack Results" in attack.stdout and "Original accuracy" in attack.stdout
    assert "rift-bert was trained on rotten_tomatoes; attacking its test[:3] split" in attack.stderr
    unknown = subprocess.run(
        [textattack_exe, "eval", "--model", "rift-roberta", "--dataset-from-huggingface", "rotten_tomatoes",
         "--num-examples", "2"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines()[-1] == (
        "textattack: error: unknown model name 'rift-roberta'; registered models: rift-bert, rift-bert-tiny"
    )
