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


def _offline_env(**extra) -> dict:
    env = dict(os.environ)
    env.update(TEXTATTACK_RIFT_OFFLINE="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def _run(args, timeout=600, **env) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=_offline_env(**env))


def test_import_offline_in_fresh_home_then_textattack(tmp_path):
    code = (
        "import textattack_rift, textattack, nltk\n"
        "from nltk.corpus import stopwords, wordnet\n"
        "assert 'the' in stopwords.words('english')\n"
        "print(nltk.data.find('corpora/stopwords/english'))\n"
        "print(len(wordnet.synsets('good')))\n"
    )
    result = _run([sys.executable, "-c", code], TEXTATTACK_RIFT_HOME=str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    found, synsets = result.stdout.strip().splitlines()[-2:]
    assert found.startswith(str(tmp_path))
    assert int(synsets) == 27


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
