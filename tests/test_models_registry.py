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


MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def _trained(path: Path, method: str, *, model_type: str = "bert", base: str = MINILM,
             dataset: str = "rotten_tomatoes", source: Path | None = None) -> Path:
    """A model directory with the card the trainer writes (``source``: a real model to copy)."""
    if source is not None:
        shutil.copytree(source, path)
    else:
        _config_only_model(path, model_type)
    write_model_card(path, training={"method": method, "base_model": base, "dataset": dataset, "epochs": 1})
    return path


def test_default_names_carry_method_base_and_dataset(tiny_bert_dir, tmp_path):
    name = registry.default_model_name
    assert name(tiny_bert_dir, "rotten_tomatoes", method="rift", base_model=MINILM) == "rift-minilm-rotten_tomatoes"
    assert name({"model_type": "bert"}, "glue^sst2", method="ascc", base_model="bert-base-uncased") == (
        "ascc-bert-base-uncased-glue-sst2"
    )
    assert name({"model_type": "RoBERTa"}, "stanfordnlp/imdb", method="standard") == "standard-roberta-stanfordnlp-imdb"
    # a local base directory names no hub model: the architecture stands in
    assert name({"model_type": "bert"}, str(tmp_path / "my reviews.csv"), method="rift-unconditional",
                base_model=str(tmp_path)) == "rift-unconditional-bert-my-reviews"
    assert name({"model_type": "bert"}, "rotten_tomatoes") == "bert-rotten_tomatoes"  # method unknown: no method part
    with pytest.raises(RiftUserError, match="model_type"):
        name({}, "rotten_tomatoes")


def test_names_carry_the_method_and_rift_bert_follows_the_newest_rift_model(home, tiny_bert_dir, tmp_path):
    rift = _trained(tmp_path / "rift", "rift", source=tiny_bert_dir)
    # the method, base and dataset come from the card the trainer wrote
    assert registry.register_model(rift) == ["rift-minilm-rotten_tomatoes", "rift-bert"]
    assert (home / "models" / "registry.json").is_file()
    # standard and ASCC models of the same base and data keep their own names and never take rift-bert
    assert registry.register_model(_trained(tmp_path / "std", "standard")) == ["standard-minilm-rotten_tomatoes"]
    assert registry.register_model(_trained(tmp_path / "ascc", "ascc")) == ["ascc-minilm-rotten_tomatoes"]
    assert resolve_model_name("rift-bert") == str(rift.resolve())
    entry = registry.lookup("rift-bert")
    assert entry["name"] == "rift-minilm-rotten_tomatoes" and entry["method"] == "rift" and entry["num_labels"] == 2

    # the registered name loads as a real classifier through the public loader
    from textattack_rift import load_model

    wrapper = load_model("rift-bert")
    assert wrapper(["a fine film"]).shape == (1, 2)

    # a newer RIFT-trained BERT-architecture model takes the alias; another architecture gets its own
    unconditional = _trained(tmp_path / "unc", "rift-unconditional")
    assert registry.register_model(unconditional) == ["rift-unconditional-minilm-rotten_tomatoes", "rift-bert"]
    roberta = _trained(tmp_path / "rob", "rift", model_type="roberta", base="roberta-base")
    assert registry.register_model(roberta) == ["rift-roberta-base-rotten_tomatoes", "rift-roberta"]
    assert registry.resolve_registered("rift-bert") == unconditional.resolve()
    listed = {m["name"]: m for m in registry.list_models()}
    assert listed["rift-unconditional-minilm-rotten_tomatoes"]["aliases"] == ["rift-bert"]
    assert listed["standard-minilm-rotten_tomatoes"]["aliases"] == [] and listed["standard-minilm-rotten_tomatoes"]["exists"]

    # a name without its method: one method resolves; several are one line naming them
    assert resolve_model_name("roberta-base-rotten_tomatoes") == str(roberta.resolve())
    with pytest.raises(RiftUserError) as err:
        resolve_model_name("minilm-rotten_tomatoes")
    assert str(err.value) == (
        "model name 'minilm-rotten_tomatoes' exists for several methods: ascc-minilm-rotten_tomatoes, "
        "rift-minilm-rotten_tomatoes, rift-unconditional-minilm-rotten_tomatoes, standard-minilm-rotten_tomatoes; "
        "give the full name"
    )

    # removing the newest moves the alias back to the newest remaining RIFT model, never to standard/ASCC
    assert registry.remove_model("rift-unconditional-minilm-rotten_tomatoes") == ["rift-unconditional-minilm-rotten_tomatoes"]
    assert registry.resolve_registered("rift-bert") == rift.resolve()
    assert registry.remove_model("rift-minilm-rotten_tomatoes") == ["rift-minilm-rotten_tomatoes", "rift-bert"]
    assert registry.lookup("rift-bert") is None and (rift / "config.json").is_file()


def test_overwriting_a_name_says_so_in_one_line(home, tmp_path, capsys):
    first = _trained(tmp_path / "first", "rift")
    second = _trained(tmp_path / "second", "rift")
    registry.register_model(first)
    assert capsys.readouterr().err == ""
    assert registry.register_model(second) == ["rift-minilm-rotten_tomatoes", "rift-bert"]
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "model name rift-minilm-rotten_tomatoes replaced" in lines[0]
    assert str(first.resolve()) in lines[0]
    assert registry.resolve_registered("rift-bert") == second.resolve()


def test_entries_registered_before_methods_were_recorded_still_work(home, tmp_path):
    """A registry written by the previous version: no method in the entry, the card tells it."""
    model = _trained(tmp_path / "old", "ascc")
    registry.registry_path().parent.mkdir(parents=True, exist_ok=True)
    registry.registry_path().write_text(json.dumps({
        "format": registry.FORMAT, "version": 1,
        "models": {"rift-bert-rotten_tomatoes": {"path": str(model.resolve()), "architecture": "bert",
                                                 "dataset": "rotten_tomatoes", "created": "2026-01-01T00:00:00"}},
        "aliases": {"rift-bert": "rift-bert-rotten_tomatoes"},
    }))
    assert resolve_model_name("rift-bert-rotten_tomatoes") == str(model.resolve())
    assert registry.list_models()[0]["method"] == "ascc"
    # the next registration recomputes the alias: an ASCC model does not keep rift-bert
    assert registry.register_model(_trained(tmp_path / "std", "standard")) == ["standard-minilm-rotten_tomatoes"]
    assert registry.lookup("rift-bert") is None


def test_unknown_names_list_the_known_ones(home, tmp_path):
    registry.register_model(_config_only_model(tmp_path / "m"), dataset="rotten_tomatoes", method="rift")
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
    # what the registry names the model by, kept where a program reads it back
    assert front["textattack_rift"] == {"method": "rift", "base_model": MINILM, "dataset": "rotten_tomatoes"}
    from textattack_rift.models.card import card_facts

    assert card_facts(model) == front["textattack_rift"]
    assert "# rift-bert-card" in text and "| learning rate | 2e-05 |" in text and "| beta | 10 |" in text
    assert threat.fingerprint in text and "2.1 min" in text
    assert "| 3 |" in text and "| 1 |" not in text and "| 2 |" in text  # test block replaced, validation kept
    assert text.count("<!-- textattack-rift:robustness/") == 2 and "keep me" in text


def test_models_command_lists_shows_and_removes(home, tmp_path, capsys):
    from textattack_rift.evaluation.summary import summarize, summary_markdown
    from textattack_rift.integration.cli import main
    from textattack_rift.threat import SynonymSet, ThreatModel

    assert main(["models", "list"]) == 0
    assert "no registered models" in capsys.readouterr().out
    model = _trained(tmp_path / "m", "rift")
    threat = ThreatModel(SynonymSet.from_dict("tiny", {"good": ["fine"]}), max_word_ratio=0.2)
    threat.save(model)
    registry.register_model(model)
    registry.register_model(_trained(tmp_path / "s", "standard"))
    # an evaluation's block in the card, as `textattack-rift evaluate` writes it: 2 of 4 robust
    records = [{"attack": a, "example": i, "status": s, "seconds": 1.0}
               for a in ("rift-pwws", "rift-ascc") for i, s in enumerate(["failed", "failed", "succeeded", "skipped"])]
    markdown = summary_markdown(summarize(records, ["rift-pwws", "rift-ascc"], range(4)), title="### m on rotten_tomatoes test")
    write_model_card(model, robustness_markdown=markdown, robustness_key="rotten_tomatoes-test-n4-seed0")
    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["name", "method", "dataset", "threat"]
    rift = next(line for line in lines if line.startswith("rift-minilm-rotten_tomatoes (rift-bert)"))
    assert " rift " in rift and " rotten_tomatoes " in rift and f"tiny ratio 0.2 ({threat.fingerprint[:8]})" in rift
    assert "50.0%" in rift and "under 2 attacks (clean 75.0%" in rift and "n=4" in rift
    standard = next(line for line in lines if line.startswith("standard-minilm-rotten_tomatoes"))
    assert " standard " in standard and "not evaluated" in standard
    assert main(["models", "show", "rift-bert"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["name"] == "rift-minilm-rotten_tomatoes" and shown["path"] == str(model.resolve())
    assert main(["models", "show", "rift-x"]) == 2
    assert "registered models: rift-bert, rift-minilm-rotten_tomatoes, standard-minilm-rotten_tomatoes" in capsys.readouterr().err
    assert main(["models", "show", "minilm-rotten_tomatoes"]) == 2
    assert "exists for several methods: rift-minilm-rotten_tomatoes, standard-minilm-rotten_tomatoes" in capsys.readouterr().err
    assert main(["models", "remove", "rift-minilm-rotten_tomatoes"]) == 0
    assert "removed rift-minilm-rotten_tomatoes, rift-bert" in capsys.readouterr().out


@pytest.mark.slow
def test_literal_textattack_commands_take_registered_names(tiny_bert_dir, tmp_path, monkeypatch, textattack_exe):
    reg = tmp_path / "registry.json"
    monkeypatch.setenv(registry.REGISTRY_ENV, str(reg))
    names = registry.register_model(tiny_bert_dir, name="rift-bert-tiny", dataset="rotten_tomatoes", method="rift")
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
