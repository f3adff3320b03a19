"""Experiment recipes: validation before any training, overrides, the report's numbers, and a
miniature recipe run end to end through ``textattack-rift run`` with a resume after a kill."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from textattack_rift.errors import RiftUserError
from textattack_rift.experiments import recipe as rc
from textattack_rift.experiments import report as rp

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("rotten_tomatoes-minilm", "rotten_tomatoes-minilm-full", "imdb-bert", "snli-bert", "sst2-bert")

GOOD = """
description = "test recipe"

[data]
dataset = "rotten_tomatoes"
train_split = "train[:64]"
eval_split = "validation[:32]"

[model]
name = "minilm"
max_length = 32

[training]
num_epochs = 1
batch_size = 8
seed = 3

[training.rift_args]
beta = 10.0
gamma = 0.1
adv_steps = 2

[methods.standard]
[methods.ascc]
[methods.rift]
rift_args = { gamma = 0.3 }

[evaluation]
num_examples = 10
attacks = ["rift-pwws"]
"""


def write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# -- shipped recipes -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_recipes_are_valid(name):
    recipe = rc.load_recipe(name)
    assert recipe.path == REPO_ROOT / "recipes" / f"{name}.toml"
    assert [m.method for m in recipe.methods][:3] == ["standard", "ascc", "rift"]
    # presets win over the shared weights: standard trains with CE only, ascc without MI
    by = {m.label: m.rift_args for m in recipe.methods}
    assert by["standard"]["beta"] == 0 and by["standard"]["gamma"] == 0
    assert by["ascc"]["gamma"] == 0 and by["ascc"]["beta"] == recipe.training.rift_args["beta"]
    assert by["rift"]["gamma"] == recipe.training.rift_args["gamma"] > 0


def test_paper_settings():
    imdb, snli = rc.load_recipe("imdb-bert"), rc.load_recipe("snli-bert")
    assert (imdb.model.name, imdb.model.max_length, imdb.training.batch_size) == ("bert-base-uncased", 300, 32)
    assert (snli.model.name, snli.model.max_length, snli.training.batch_size) == ("bert-base-uncased", 80, 120)
    assert (imdb.training.rift_args["beta"], imdb.training.rift_args["gamma"]) == (10.0, 0.1)
    assert (snli.training.rift_args["beta"], snli.training.rift_args["gamma"]) == (5.0, 0.7)
    assert (imdb.evaluation.num_examples, snli.evaluation.num_examples) == (300, 1000)
    assert imdb.threat_model.synonyms == snli.threat_model.synonyms == "counterfitted"
    assert snli.threat_model.perturbable_columns == ["hypothesis"]
    # the paper's threat model: every word with neighbours may change, stop words included (the released code)
    sst2 = rc.load_recipe("sst2-bert")
    assert imdb.threat_model.stopwords is snli.threat_model.stopwords is sst2.threat_model.stopwords is False
    assert not imdb.build_threat_model().is_protected("very")
    assert rc.load_recipe("rotten_tomatoes-minilm").threat_model.stopwords is True  # the offline default's own choice
    assert imdb.training.num_epochs == snli.training.num_epochs == 20
    offline = rc.load_recipe("rotten_tomatoes-minilm")
    assert offline.threat_model.synonyms == "wordnet" and offline.model.name == "minilm"
    assert offline.evaluation.attacks == ["rift-pwws", "rift-textfooler", "rift-genetic", "rift-ascc"]


def test_find_recipe(tmp_path):
    assert rc.find_recipe("imdb-bert.toml") == rc.find_recipe("imdb-bert")
    own = write(tmp_path, GOOD)
    assert rc.find_recipe(own) == own
    with pytest.raises(RiftUserError, match="no recipe file 'nope'.*rotten_tomatoes-minilm"):
        rc.find_recipe("nope")
    assert set(SHIPPED) <= set(rc.available_recipes())


# -- bad input: file, dotted key and allowed values in one message ---------------------------------
BAD = [
    # (edit of GOOD, dotted key expected in the message, allowed values expected in the message)
    (lambda t: 'seed = 4\n' + t, "seed", ["data", "model", "threat_model", "training", "methods", "evaluation"]),
    (lambda t: replace(t, "num_epochs = 1", "num_epoch = 1"), "training.num_epoch", ["num_epochs", "batch_size", "max_steps"]),
    (lambda t: replace(t, "adv_steps = 2", "adv_step = 2"), "training.rift_args.adv_step", ["adv_steps", "beta", "gamma"]),
    (lambda t: replace(t, 'rift_args = { gamma = 0.3 }', 'rift_args = { gama = 0.3 }'), "methods.rift.rift_args.gama",
     ["gamma", "conditional_mi"]),
    (lambda t: replace(t, 'dataset = "rotten_tomatoes"\n', ''), "data.dataset", ["missing required key", "a string"]),
    (lambda t: t[: t.index("[evaluation]")], "evaluation", ["missing required table"]),
    (lambda t: replace(t, "[methods.ascc]", "[methods.trades]"), "methods.trades",
     ["unknown method 'trades'", "standard, ascc, rift, rift-unconditional, freelb, textattack-at"]),
    (lambda t: replace(t, "[methods.ascc]", '[methods.mine]\nmethod = "asc"'), "methods.mine.method",
     ["unknown method 'asc'", "standard, ascc, rift"]),
    (lambda t: replace(t, "num_epochs = 1", 'num_epochs = "two"'), "training.num_epochs", ["must be an integer", "'two' (string)"]),
    (lambda t: replace(t, "num_epochs = 1", "num_epochs = 1.5"), "training.num_epochs", ["must be an integer"]),
    (lambda t: replace(t, "num_epochs = 1", "num_epochs = 0"), "training.num_epochs", ["an integer >= 1"]),
    (lambda t: replace(t, "batch_size = 8", "batch_size = true"), "training.batch_size", ["must be an integer"]),
    (lambda t: replace(t, "gamma = 0.1", 'gamma = "high"'), "training.rift_args.gamma", ["must be a number"]),
    (lambda t: replace(t, "adv_steps = 2", "adv_steps = -1"), "training.rift_args", [">= 0"]),
    (lambda t: replace(t, 'attacks = ["rift-pwws"]', 'attacks = "rift-pwws"'), "evaluation.attacks", ["must be a list"]),
    (lambda t: replace(t, 'attacks = ["rift-pwws"]', 'attacks = ["rift-pwss"]'), "evaluation.attacks[0]",
     ["unknown attack 'rift-pwss'", "rift-pwws"]),
    (lambda t: replace(t, 'train_split = "train[:64]"', 'train_split = "train[:x]"'), "data.train_split",
     ["invalid split", "train[:2000]"]),
    (lambda t: replace(t, 'rift_args = { gamma = 0.3 }', 'rift_args = { gamma = 0.0 }'), "methods.rift.rift_args",
     ["make method 'ascc'"]),
    (lambda t: replace(t, "[methods.ascc]", "[methods.ascc]\nattack = \"rift-pwws\""), "methods.ascc.attack",
     ["textattack-at"]),
    (lambda t: t + "\n[evaluation.attack_options.rift-genetic]\npop_size = 4\n", "evaluation.attack_options.rift-genetic",
     ["not run", "rift-pwws"]),
    (lambda t: replace(t, "[model]", "[model]\nmax_length = 32\n"), None, ["not valid TOML"]),
    # seeds: empty, a duplicate, a negative one, beside a single seed; the old evaluation.seed
    (lambda t: replace(t, "seed = 3", "seeds = []"), "training.seeds", ["the list is empty", "distinct integers >= 0"]),
    (lambda t: replace(t, "seed = 3", "seeds = [3, 4, 3]"), "training.seeds[2]",
     ["seed 3 is listed twice", "training.seeds[0]", "distinct integers >= 0"]),
    (lambda t: replace(t, "seed = 3", "seeds = [3, -1]"), "training.seeds[1]", ["an integer >= 0"]),
    (lambda t: replace(t, "seed = 3", "seed = 3\nseeds = [3, 4]"), "training.seeds", ["either training.seed", "not both"]),
    (lambda t: replace(t, "seed = 3", 'seeds = "1,2"'), "training.seeds", ["must be a list"]),
    (lambda t: replace(t, "num_examples = 10", "num_examples = 10\nseed = 2"), "evaluation.seed",
     ["subset_seed = N", "attack_seed = N"]),
    (lambda t: replace(t, "num_examples = 10", "num_examples = 10\nattack_seed = -2"), "evaluation.attack_seed",
     ["an integer >= 0"]),
]


@pytest.mark.parametrize("edit,key,allowed", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_recipe_names_file_key_and_allowed_values(tmp_path, edit, key, allowed):
    path = write(tmp_path, edit(GOOD))
    with pytest.raises(RiftUserError) as info:
        rc.load_recipe(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    if key is not None:
        assert f": {key}: " in message, message
    for part in allowed:
        assert part in message, message


def test_good_recipe_resolves(tmp_path):
    recipe = rc.load_recipe(write(tmp_path, GOOD))
    assert recipe.name == "exp" and recipe.description == "test recipe"
    assert [m.label for m in recipe.methods] == ["standard", "ascc", "rift"]
    assert recipe.methods[2].rift_args == {"beta": 10.0, "gamma": 0.3, "adv_steps": 2}
    assert recipe.methods[1].rift_args == {"beta": 10.0, "gamma": 0.0, "adv_steps": 2}
    assert recipe.evaluation.split == "test" and recipe.evaluation.subset_seed == 0  # defaults
    assert recipe.evaluation.attack_seed == 0
    assert recipe.seeds == [3] and recipe.training.seeds is None and not recipe.per_seed_folders
    assert recipe.threat_model.synonyms == "wordnet" and recipe.synonyms_label == "wordnet"
    assert recipe.training.learning_rate == 2e-5 and isinstance(recipe.training.learning_rate, float)


# -- overrides -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,expected",
    [
        ("training.num_epochs=2", ("training.num_epochs", 2)),
        ("training.learning_rate = 5e-5", ("training.learning_rate", 5e-5)),
        ("threat_model.pos_check=true", ("threat_model.pos_check", True)),
        ('model.name="minilm"', ("model.name", "minilm")),
        ("data.train_split=train[:500]", ("data.train_split", "train[:500]")),  # not TOML: a plain string
        ('evaluation.attacks=["rift-pwws", "rift-ascc"]', ("evaluation.attacks", ["rift-pwws", "rift-ascc"])),
        ("methods.rift.rift_args={beta = 5, gamma = 0.7}", ("methods.rift.rift_args", {"beta": 5, "gamma": 0.7})),
        ("description=a b=c", ("description", "a b=c")),
    ],
)
def test_parse_override(text, expected):
    assert rc.parse_override(text) == expected


@pytest.mark.parametrize("text", ["training.num_epochs", "=3", "training..seed=3", ".seed=3"])
def test_parse_override_rejects(text):
    with pytest.raises(RiftUserError, match="KEY=VALUE"):
        rc.parse_override(text)


def test_overrides_apply_and_are_checked(tmp_path):
    path = write(tmp_path, GOOD)
    recipe = rc.load_recipe(
        path,
        overrides=["training.num_epochs=3", "methods.rift.rift_args.beta=5", "methods.rift-unconditional={}",
                   "evaluation.num_examples=7", "data.eval_split=validation[:8]"],
        synonyms="counterfitted",
    )
    assert recipe.training.num_epochs == 3 and recipe.evaluation.num_examples == 7
    assert recipe.data.eval_split == "validation[:8]"
    assert recipe.methods[2].rift_args["beta"] == 5.0 and recipe.methods[1].rift_args["beta"] == 10.0
    assert recipe.methods[3].method == "rift-unconditional" and recipe.methods[3].rift_args["conditional_mi"] is False
    assert recipe.threat_model.synonyms == "counterfitted" and recipe.synonyms_label == "counterfitted"
    assert (tmp_path / "exp.toml").read_text() == GOOD  # the file itself is untouched

    with pytest.raises(RiftUserError) as info:
        rc.load_recipe(path, overrides=["training.epochs=3"])
    assert str(path) in str(info.value) and "--set" in str(info.value)
    assert ": training.epochs: unknown key" in str(info.value) and "num_epochs" in str(info.value)
    with pytest.raises(RiftUserError, match=r": training.num_epochs: must be an integer, got 'x' \(string\)"):
        rc.load_recipe(path, overrides=["training.num_epochs=x"])
    with pytest.raises(RiftUserError, match="training.seed is a value, not a table"):
        rc.load_recipe(path, overrides=["training.seed.x=1"])


def test_seeds_from_the_recipe_and_the_command_line(tmp_path):
    path = write(tmp_path, replace(GOOD, "seed = 3", "seeds = [3, 9]"))
    recipe = rc.load_recipe(path)
    assert recipe.seeds == [3, 9] and recipe.per_seed_folders and recipe.training.seed is None
    assert recipe.to_dict()["training"]["seeds"] == [3, 9]
    # --seeds replaces the file's one seed (no "both given" error) and is checked like the file
    single = write(tmp_path, GOOD, "single.toml")
    assert rc.load_recipe(single, seeds="1,2").seeds == [1, 2]
    assert rc.load_recipe(single, seeds=[7]).per_seed_folders
    with pytest.raises(RiftUserError) as info:
        rc.load_recipe(single, seeds="1,2,1")
    assert str(single) in str(info.value) and ": training.seeds[2]: seed 1 is listed twice" in str(info.value)
    with pytest.raises(RiftUserError, match=r"training.seeds: the list is empty"):
        rc.load_recipe(single, seeds="")
    with pytest.raises(RiftUserError, match=r"--seeds '1,x': write distinct integers >= 0"):
        rc.load_recipe(single, seeds="1,x")


def test_out_dir_guard(tmp_path):
    from textattack_rift.experiments.run import check_out_dir, default_out_dir

    path = write(tmp_path, GOOD)
    out = tmp_path / "out"
    assert default_out_dir(rc.load_recipe(path)) == Path("runs") / "exp-wordnet"
    check_out_dir(out, rc.load_recipe(path), "fp1")
    check_out_dir(out, rc.load_recipe(path, overrides=["evaluation.parallel=2", "description='x'"]), "fp1")
    # adding a method or an attack only adds work
    grown = rc.load_recipe(path, overrides=["methods.rift-unconditional={}", "evaluation.attacks=['rift-pwws', 'pwws']"])
    check_out_dir(out, grown, "fp1")
    more = ["methods.rift-unconditional={}", "evaluation.attacks=['rift-pwws', 'pwws']"]
    # a larger subset contains the smaller one (same subset seed): allowed; a smaller one: bad input
    check_out_dir(out, rc.load_recipe(path, overrides=[*more, "evaluation.num_examples=25"]), "fp1")
    with pytest.raises(RiftUserError) as info:
        check_out_dir(out, rc.load_recipe(path, overrides=[*more, "evaluation.num_examples=12"]), "fp1")
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: evaluation.num_examples: ")
    assert "holds a subset of 25 examples (subset seed 0)" in message and "an integer >= 25" in message
    more.append("evaluation.num_examples=25")
    for overrides, fingerprint, shown in [
        ([*more, "training.seed=4"], "fp1", "(training.seed: 3 -> 4)"),
        ([*more, "training.seeds=[3, 4]"], "fp1", "training.seeds: None -> [3, 4]"),  # another layout
        ([*more, "evaluation.subset_seed=2"], "fp1", "evaluation.subset_seed: 0 -> 2"),
        ([*more, "evaluation.attack_seed=2"], "fp1", "evaluation.attack_seed: 0 -> 2"),
        ([*more, "methods.rift.rift_args.gamma=0.5"], "fp1", "(methods.rift.rift_args.gamma: 0.3 -> 0.5)"),
        (more[1:], "fp1", "(methods.rift-unconditional.method: 'rift-unconditional' -> None"),  # a row left out
        (more[:1] + more[2:], "fp1", "(evaluation.attacks: ['rift-pwws', 'pwws'] -> ['rift-pwws'])"),  # an attack left out
        (more, "fp2", "(threat_model.fingerprint: 'fp1' -> 'fp2')"),
    ]:
        with pytest.raises(RiftUserError, match="holds a run of different settings") as info:
            check_out_dir(out, rc.load_recipe(path, overrides=overrides), fingerprint)
        assert shown in str(info.value)

    # a seeds run may add seeds, not drop them
    seeded = tmp_path / "seeded"
    check_out_dir(seeded, rc.load_recipe(path, seeds="3,4"), "fp1")
    check_out_dir(seeded, rc.load_recipe(path, seeds="3,4,5"), "fp1")
    with pytest.raises(RiftUserError, match=r"training.seeds: \[3, 4, 5\] -> \[3, 5\]"):
        check_out_dir(seeded, rc.load_recipe(path, seeds="3,5"), "fp1")


def test_out_dir_of_an_earlier_version_resumes(tmp_path):
    """run.json written before the subset and attack seeds were separate (``evaluation.seed`` was both)."""
    from textattack_rift.experiments.run import RUN_FILE, check_out_dir

    path = write(tmp_path, GOOD)
    out = tmp_path / "out"
    check_out_dir(out, rc.load_recipe(path), "fp1")
    stored = json.loads((out / RUN_FILE).read_text())
    identity = stored["identity"]
    identity["evaluation.seed"] = identity.pop("evaluation.subset_seed")
    identity.pop("evaluation.attack_seed")
    identity.pop("training.seeds")
    (out / RUN_FILE).write_text(json.dumps(stored))
    check_out_dir(out, rc.load_recipe(path), "fp1")  # seed 0 was both: the same settings


def test_missing_data_or_model_fails_before_anything_is_written(tmp_path):
    from textattack_rift.experiments.run import run_recipe

    path = write(tmp_path, GOOD)
    out = tmp_path / "out"
    with pytest.raises(RiftUserError, match=r"exp.toml: evaluation.split: .*no split 'dev'.*train, validation, test"):
        run_recipe(path, out_dir=out, overrides=["evaluation.split=dev"])
    with pytest.raises(RiftUserError, match=r"exp.toml: model.name: .*no config.json"):
        run_recipe(path, out_dir=out, overrides=[f"model.name='{tmp_path}'"])
    assert not out.exists()


# -- the report's numbers, from hand-built per-example records -------------------------------------
def _records():
    """Four examples, two attacks. ex0 holds under both; ex1 falls to A (2 of 10 words); ex2 is
    misclassified (skipped); ex3 falls to B (1 of 5 words)."""
    rows = [
        (0, "A", True, "failed", None, 10, 1.0), (0, "B", True, "failed", None, 10, 2.0),
        (1, "A", True, "succeeded", 2, 10, 1.5), (1, "B", True, "failed", None, 10, 2.5),
        (2, "A", False, "skipped", None, 8, 0.1), (2, "B", False, "skipped", None, 8, 0.1),
        (3, "A", True, "failed", None, 5, 1.0), (3, "B", True, "succeeded", 1, 5, 0.8),
    ]
    return [
        {"example": e, "attack": a, "correct": c, "status": s, "words_changed": w, "num_words": n, "seconds": t}
        for e, a, c, s, w, n, t in rows
    ]


def _write_results(path: Path, records) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    with open(path / "results.jsonl", "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    return path


def test_method_row_numbers(tmp_path):
    eval_dir = _write_results(tmp_path / "eval", _records())
    # an earlier try of one pair followed by its redo: the last record counts; then a line torn by a kill
    with open(eval_dir / "results.jsonl", "a", encoding="utf-8") as f:
        f.write('{"example": 3, "attack": "B", "corr')
    outcomes = rp.read_outcomes(eval_dir)
    assert len(outcomes) == 8
    row = rp.method_row(outcomes, ["A", "B"], num_examples=4)
    assert row["complete"] and row["examples_done"] == 4
    assert row["clean_accuracy"] == 75.0
    assert row["attacks"]["A"]["accuracy"] == 50.0 and row["attacks"]["B"]["accuracy"] == 50.0
    assert row["attacks"]["A"]["succeeded"] == 1 and row["attacks"]["A"]["attacked"] == 3
    assert row["attacks"]["A"]["success_rate"] == pytest.approx(100 / 3)
    assert row["all_attacks"]["accuracy"] == 25.0 and row["all_attacks"]["robust"] == 1
    assert row["avg_words_changed"] == 1.5 and row["avg_words_changed_pct"] == pytest.approx(20.0)
    assert row["evaluation_seconds"] == pytest.approx(9.0)
    assert row["attacks"]["B"]["seconds"] == pytest.approx(5.4)


def test_method_row_partial_and_inconsistent():
    records = [r for r in _records() if not (r["example"] == 3 and r["attack"] == "B")]
    row = rp.method_row([rp.outcome_from_record(r) for r in records], ["A", "B"], num_examples=4)
    assert not row["complete"]
    assert row["attacks"]["B"]["examples_done"] == 3 and row["attacks"]["B"]["accuracy"] == pytest.approx(200 / 3)
    assert row["all_attacks"]["examples_done"] == 3 and row["all_attacks"]["accuracy"] == pytest.approx(100 / 3)
    bad = _records()
    bad[1]["correct"] = False
    with pytest.raises(RiftUserError, match="mix different models or subsets"):
        rp.method_row([rp.outcome_from_record(r) for r in bad], ["A", "B"], num_examples=4)
    with pytest.raises(RiftUserError, match="not a per-example result"):
        rp.outcome_from_record({"example": 1, "attack": "A"})


def test_report_files(tmp_path):
    recipe = rc.load_recipe(write(tmp_path, GOOD), overrides=["evaluation.attacks=['rift-pwws', 'pwws']",
                                                              "evaluation.num_examples=4"])
    records = _records()
    for r in records:
        r["attack"] = {"A": "rift-pwws", "B": "pwws"}[r["attack"]]
    methods = [
        {"label": "standard", "method": "standard", "outcomes": [rp.outcome_from_record(r) for r in records],
         "train_summary": {"seconds": 12.5, "finished": True, "best_step": 8,
                           "validation": {"clean_accuracy": 0.75, "ascc_accuracy": 0.5}}},
        {"label": "rift", "method": "rift", "outcomes": [], "train_summary": None},
    ]
    threat = {"synonyms": {"name": "wordnet", "size": 1234, "fingerprint": "abc"}, "fingerprint": "def"}
    # killed, then resumed; a hand-edited entry without seconds is left out
    sessions = [{"seconds": 90.0, "finished": False}, {"seconds": 30.0, "finished": True}, "junk", {"did": []}]
    report = rp.build_report(recipe={"name": recipe.name, **recipe.to_dict()}, methods=methods, threat_model=threat,
                             sessions=sessions)
    paths = rp.write_report(report, tmp_path / "out")
    saved = json.loads(paths["json"].read_text())
    assert saved["complete"] is False  # rift is neither trained nor evaluated
    std = saved["methods"][0]
    assert std["attacks"]["rift-pwws"]["accuracy"] == 50.0 and std["all_attacks"]["accuracy"] == 25.0
    assert std["training_seconds"] == 12.5 and std["best_step"] == 8
    assert saved["threat_model"]["size"] == 1234 and saved["subset_size"] == 4
    assert saved["seeds"] == {"training": [3], "subset": 0, "attack": 0}
    assert set(saved["environment"]["software"]) >= {"python", "torch", "transformers", "textattack", "textattack_rift"}
    assert saved["environment"]["hardware"]["cpu_cores"] >= 1
    # 3 of 4 clean, 2 of 4 under each attack, 1 of 4 under both: their 95% Wilson intervals
    assert std["clean_interval"] == [pytest.approx(30.06, abs=0.01), pytest.approx(95.44, abs=0.01)]
    assert std["attacks"]["pwws"]["interval"] == [pytest.approx(15.00, abs=0.01), pytest.approx(85.00, abs=0.01)]
    assert std["all_attacks"]["interval"] == [pytest.approx(4.56, abs=0.01), pytest.approx(69.94, abs=0.01)]
    assert saved["interval"]["name"] == "Wilson score interval" and saved["interval"]["confidence"] == 0.95
    md = paths["md"].read_text()
    assert "| standard | 75.0 [30.1, 95.4] | 50.0 [15.0, 85.0] | 50.0 [15.0, 85.0] | 25.0 [4.6, 69.9] | 12 s | 9 s |" in md
    assert "| rift * | – | – | – | – | – | 0 s |" in md
    assert "95% Wilson score interval" in md and "Exact McNemar test" in md
    # the attack-time column sums the records; the wall time is the invocations' own
    assert "| train time | attack time |" in md
    assert "- Wall time: 2.0 min over 2 invocations of `textattack-rift run`" in md
    # per attack, not pooled: rift-pwws changed 2 of 10 words, pwws 1 of 5
    assert "| standard | rift-pwws | 33.3 (1/3) | – | 2.00 (20.0%) | 4 s |" in md
    assert "| standard | pwws | 33.3 (1/3) | – | 1.00 (20.0%) | 5 s |" in md
    assert md.index("## Accuracy") < md.index("## Paired tests") < md.index("## Per attack")
    assert "`wordnet` (1,234 words" in md and "`def`" in md and "not finished" in md
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _method_records(robust_a: set, n: int = 12, wrong: set = frozenset(), queries=(40, 7)) -> list:
    """n examples, attacks A and B: wrong ones skipped, A flips the correct ones not in ``robust_a``,
    B flips none."""
    out = []
    for e in range(n):
        for attack, q in zip(("A", "B"), queries):
            if e in wrong:
                status = "skipped"
            elif attack == "A" and e not in robust_a:
                status = "succeeded"
            else:
                status = "failed"
            out.append({"example": e, "attack": attack, "correct": e not in wrong, "status": status,
                        "words_changed": 1 if status == "succeeded" else None, "num_words": 10, "seconds": 1.0,
                        "queries": q})
    return out


def _hand_report(tmp_path, methods, seeds=None):
    overrides = ["evaluation.attacks=['rift-pwws', 'pwws']", "evaluation.num_examples=12"]
    recipe = rc.load_recipe(write(tmp_path, GOOD), overrides=overrides, seeds=seeds)
    rows = []
    for m in methods:
        outcomes = [rp.outcome_from_record({**r, "attack": {"A": "rift-pwws", "B": "pwws"}[r["attack"]]})
                    for r in m.pop("records")]
        rows.append({**m, "outcomes": outcomes, "train_summary": {"seconds": 1.0, "finished": True}})
    threat = {"synonyms": {"name": "wordnet", "size": 10, "fingerprint": "abc"}, "fingerprint": "def"}
    return rp.build_report(recipe={"name": recipe.name, **recipe.to_dict()}, methods=rows, threat_model=threat)


def test_report_paired_tests_on_the_shared_subset(tmp_path):
    """x holds all 12 examples under A, y only 2: b = 10, c = 0, p = 2/2^10; clean and B columns are
    all correct for both (no discordant example: p = 1)."""
    report = _hand_report(tmp_path, [
        {"label": "x", "method": "rift", "records": _method_records(set(range(12)))},
        {"label": "y", "method": "standard", "records": _method_records({10, 11})},
    ])
    (pair,) = report["paired_tests"]
    assert (pair["first"], pair["second"], pair["seed"]) == ("x", "y", 3)
    assert pair["attacks"]["rift-pwws"] | {} == {"examples": 12, "b": 10, "c": 0, "both": 2, "neither": 0,
                                                   "p": pytest.approx(2 / 1024)}
    assert pair["all_attacks"]["b"] == 10 and pair["all_attacks"]["p"] == pytest.approx(2 / 1024)
    for column in (pair["clean"], pair["attacks"]["pwws"]):
        assert (column["b"], column["c"], column["both"], column["p"]) == (0, 0, 12, 1.0)
    x = report["methods"][0]
    # 12 of 12: the interval's upper end is exactly 100, its lower end 12 / (12 + z^2)
    assert x["clean_interval"][1] == 100.0 and x["clean_interval"][0] == pytest.approx(100 * 12 / (12 + 1.959964 ** 2))
    assert x["attacks"]["rift-pwws"]["avg_queries"] == 40 and x["attacks"]["pwws"]["avg_queries"] == 7
    paths = rp.write_report(report, tmp_path / "out")
    md = paths["md"].read_text()
    assert "| x (rift) vs y (standard) |" not in md  # pairs are named by label
    assert "| x vs y | 1.000 (b=0, c=0) | **0.002** (b=10, c=0) | 1.000 (b=0, c=0) | **0.002** (b=10, c=0) |" in md
    assert "| y (standard) | rift-pwws | 83.3 (10/12) | 40.0 | 1.00 (10.0%) | 12 s |" in md


def test_report_with_two_seeds_shows_each_seed_and_mean_sd(tmp_path):
    import statistics

    robust = {(1, "x"): set(range(12)), (1, "y"): {10, 11}, (2, "x"): set(range(9)), (2, "y"): {0, 1, 2, 3}}
    report = _hand_report(tmp_path, [
        {"label": label, "method": {"x": "rift", "y": "standard"}[label], "seed": seed,
         "records": _method_records(robust[(seed, label)], wrong={11} if (seed, label) == (2, "y") else set())}
        for seed in (1, 2) for label in ("x", "y")
    ], seeds=[1, 2])
    assert report["seeds"]["training"] == [1, 2]
    assert [(r["seed"], r["label"]) for r in report["methods"]] == [(1, "x"), (1, "y"), (2, "x"), (2, "y")]
    assert [(p["seed"], p["first"], p["second"]) for p in report["paired_tests"]] == [(1, "x", "y"), (2, "x", "y")]
    assert report["paired_tests"][1]["attacks"]["rift-pwws"]["b"] == 9 - 4 + 0  # {4..8} x only; {0..3} both
    by = {s["label"]: s for s in report["across_seeds"]}
    per_seed = [100 * 12 / 12, 100 * 9 / 12]
    assert by["x"]["attacks"]["rift-pwws"]["mean"] == pytest.approx(statistics.mean(per_seed))
    assert by["x"]["attacks"]["rift-pwws"]["sd"] == pytest.approx(statistics.stdev(per_seed))
    assert by["y"]["clean_accuracy"]["sd"] == pytest.approx(statistics.stdev([100.0, 100 * 11 / 12]))
    md = rp.write_report(report, tmp_path / "out")["md"].read_text()
    table = rp.markdown_table(report).splitlines()
    assert table[0].startswith("| method | seed | clean % | rift-pwws % | pwws % | all attacks %")
    assert [line.split("|")[1:3] for line in table[2:]] == [
        [" x (rift) ", " 1 "], [" x (rift) ", " 2 "], [" **x** ", " mean ± sd (2) "],
        [" y (standard) ", " 1 "], [" y (standard) ", " 2 "], [" **y** ", " mean ± sd (2) "]]
    mean_row = table[4]
    assert f"| {statistics.mean(per_seed):.1f} ± {statistics.stdev(per_seed):.1f} |" in mean_row
    assert "| 2 | x vs y |" in md and "| x (rift) | 2 | rift-pwws |" in md


# -- the command line ------------------------------------------------------------------------------
def _cli(args, cwd, timeout=900, **kw):
    env = {**os.environ, "TEXTATTACK_RIFT_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "textattack_rift", "run", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, **kw)


def test_cli_bad_recipe_fails_in_one_line_before_training(tmp_path):
    path = write(tmp_path, replace(GOOD, "[methods.ascc]", "[methods.trades]"))
    result = _cli([str(path), "--out", str(tmp_path / "out")], cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("textattack-rift: error: ") and str(path) in last and "methods.trades" in last
    assert "standard, ascc, rift" in last
    assert not (tmp_path / "out").exists()
    result = _cli([str(write(tmp_path, GOOD)), "--out", str(tmp_path / "out"), "--seeds", "4,5,4"], cwd=tmp_path)
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 2 and "training.seeds[2]: seed 4 is listed twice" in last and "exp.toml" in last
    assert not (tmp_path / "out").exists()


# -- a miniature recipe end to end, with a kill and two resumes ------------------------------------
MINI = """
description = "miniature"

[data]
dataset = "rotten_tomatoes"
train_split = "train[:64]"
eval_split = "validation[:32]"

[model]
name = "{model}"
max_length = 32

[training]
num_epochs = 1
batch_size = 16
learning_rate = 1e-3
seed = 5

[training.rift_args]
adv_steps = 2
proj_hidden_dim = 16
proj_dim = 8

[methods.standard]
[methods.rift]

[evaluation]
split = "test"
num_examples = 6
subset_seed = 1
attack_seed = 1
attacks = ["rift-ascc", "rift-pwws"]
"""

_TIMES = ("training_seconds", "evaluation_seconds", "seconds", "results")


def _numbers(report: dict) -> list[dict]:
    """The report's rows without wall-clock fields (those differ between runs)."""

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in _TIMES}
        return obj

    return [strip(row) for row in report["methods"]]


def _check_against_records(report: dict, out: Path) -> None:
    """Recompute every accuracy from the raw results.jsonl lines, independently of report.py."""
    attacks = report["attacks"]
    for row in report["methods"]:
        lines = (out / "eval" / row["label"] / "results.jsonl").read_text().splitlines()
        records = {}
        for line in lines:
            r = rp.outcome_from_record(json.loads(line))
            records[(r.example, r.attack)] = r
        examples = sorted({e for e, _ in records})
        assert len(examples) == report["subset_size"] == 6
        assert all((e, a) in records for e in examples for a in attacks)
        correct = {e: records[(e, attacks[0])].correct for e in examples}
        assert row["clean_accuracy"] == pytest.approx(100 * sum(correct.values()) / 6)
        for a in attacks:
            held = [e for e in examples if correct[e] and records[(e, a)].status == "failed"]
            assert row["attacks"][a]["accuracy"] == pytest.approx(100 * len(held) / 6)
        held_all = [e for e in examples if correct[e] and all(records[(e, a)].status == "failed" for a in attacks)]
        assert row["all_attacks"]["accuracy"] == pytest.approx(100 * len(held_all) / 6)


@pytest.mark.slow
def test_run_miniature_recipe_end_to_end_with_resume(tmp_path, tiny_bert_dir):
    path = write(tmp_path, MINI.format(model=tiny_bert_dir), "mini.toml")
    out = tmp_path / "out"
    env = {**os.environ, "TEXTATTACK_RIFT_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}

    # 1. killed as soon as the first method has finished training
    proc = subprocess.Popen([sys.executable, "-m", "textattack_rift", "run", str(path), "--out", str(out)],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    summary = out / "train" / "standard" / "train_summary.json"
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if summary.is_file() and json.loads(summary.read_text()).get("finished"):
            break
        time.sleep(0.2)
    assert proc.poll() is None, f"run ended before the kill: {proc.stderr.read().decode()[-2000:]}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "report.json").exists()
    weights = next((out / "train" / "standard" / "best_model").glob("*.safetensors"))
    stamp = weights.stat().st_mtime_ns

    # 2. the same command resumes: standard is not trained again, rift is, both are evaluated
    result = _cli([str(path), "--out", str(out)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "trained already" in result.stderr
    assert weights.stat().st_mtime_ns == stamp
    report = json.loads((out / "report.json").read_text())
    assert report["complete"] and [r["label"] for r in report["methods"]] == ["standard", "rift"]
    assert report["attacks"] == ["rift-ascc", "rift-pwws"] and report["subset_size"] == 6
    assert report["threat_model"]["name"] == "wordnet" and report["threat_model"]["size"] > 1000
    assert report["threat_model"]["fingerprint"] == json.loads((out / "threat_model.json").read_text())["fingerprint"]
    assert [r["method"] for r in report["methods"]] == ["standard", "rift"]
    assert all(r["training_finished"] and r["training_seconds"] > 0 for r in report["methods"])
    _check_against_records(report, out)
    # the table is printed at the end, one row per method
    table = result.stdout.strip().splitlines()
    assert table[0].startswith("| method | clean % | rift-ascc % | rift-pwws % | all attacks %")
    assert [line.split("|")[1].strip() for line in table[2:]] == ["standard", "rift"]
    md = (out / "report.md").read_text()
    assert report["threat_model"]["fingerprint"] in md and "test" in md and "6 examples" in md
    assert (out / "report.png").read_bytes()[:4] == b"\x89PNG"

    # 3. half of one method's evaluation lost (as if killed mid-attack): rerun, the same numbers
    results = out / "eval" / "rift" / "results.jsonl"
    lines = results.read_text().splitlines(keepends=True)
    results.write_text("".join(lines[: len(lines) // 2]))
    for name in ("summary.json", "summary.md"):
        (out / "eval" / "rift" / name).unlink(missing_ok=True)
    result = _cli([str(path), "--out", str(out)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    again = json.loads((out / "report.json").read_text())
    assert _numbers(again) == _numbers(report)
    assert len(again["sessions"]) == 3

    # 4. other settings on the same folder are refused before anything runs; so is a smaller subset
    result = _cli([str(path), "--out", str(out), "--set", "evaluation.subset_seed=2"], cwd=tmp_path)
    assert result.returncode == 2 and "evaluation.subset_seed: 1 -> 2" in result.stderr
    result = _cli([str(path), "--out", str(out), "--set", "evaluation.num_examples=5"], cwd=tmp_path)
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 2 and f"{path} (with --set" not in last and str(path) in last
    assert "evaluation.num_examples: " in last and "holds a subset of 6 examples" in last and ">= 6" in last


# -- two training seeds end to end, then a grown subset --------------------------------------------
def _records_of(folder: Path) -> dict:
    return {(r["attack"], r["example"]): r for r in map(json.loads, (folder / "results.jsonl").read_text().splitlines())}


@pytest.mark.slow
def test_two_seed_recipe_end_to_end_then_grow_the_subset(tmp_path, tiny_bert_dir):
    import statistics

    from textattack_rift.evaluation.stats import mcnemar_exact

    text = MINI.format(model=tiny_bert_dir)
    for old, new in (("train[:64]", "train[:32]"), ("validation[:32]", "validation[:16]"), ("num_examples = 6", "num_examples = 4")):
        text = replace(text, old, new)
    path = write(tmp_path, text, "mini.toml")
    out = tmp_path / "out"
    result = _cli([str(path), "--out", str(out), "--seeds", "5,6"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for seed in (5, 6):
        for label in ("standard", "rift"):
            assert (out / f"seed-{seed}" / "train" / label / "train_summary.json").is_file()
            assert (out / f"seed-{seed}" / "eval" / label / "results.jsonl").is_file()
    assert not (out / "train").exists()  # the one-seed layout is not used by a seeds run
    report = json.loads((out / "report.json").read_text())
    assert report["complete"] and report["seeds"] == {"training": [5, 6], "subset": 1, "attack": 1}
    rows = report["methods"]
    assert [(r["seed"], r["label"]) for r in rows] == [(5, "standard"), (5, "rift"), (6, "standard"), (6, "rift")]
    # the two seeds trained different models: their train summaries say which seed they ran with
    weights = {r["seed"]: (out / f"seed-{r['seed']}" / "train" / "rift" / "best_model") for r in rows}
    assert next(weights[5].glob("*.safetensors")).read_bytes() != next(weights[6].glob("*.safetensors")).read_bytes()
    # mean +/- sd across seeds, recomputed from the per-seed rows
    spread = {s["label"]: s for s in report["across_seeds"]}
    for label in ("standard", "rift"):
        mine = [r for r in rows if r["label"] == label]
        for key, values in [("clean_accuracy", [r["clean_accuracy"] for r in mine]),
                            ("all_attacks", [r["all_attacks"]["accuracy"] for r in mine])]:
            got = spread[label][key]
            assert got["mean"] == pytest.approx(statistics.mean(values)) and got["n"] == 2
            assert got["sd"] == pytest.approx(statistics.stdev(values))
    # the paired tests, per seed, recomputed from the raw records
    assert [(p["seed"], p["first"], p["second"]) for p in report["paired_tests"]] == [(5, "standard", "rift"),
                                                                                   (6, "standard", "rift")]
    for pair in report["paired_tests"]:
        a = _records_of(out / f"seed-{pair['seed']}" / "eval" / "standard")
        b = _records_of(out / f"seed-{pair['seed']}" / "eval" / "rift")
        robust = lambda recs, e: all(recs[(att, e)]["status"] == "failed" for att in ("rift-ascc", "rift-pwws"))
        examples = sorted({e for _, e in a})
        first_only = sum(1 for e in examples if robust(a, e) and not robust(b, e))
        second_only = sum(1 for e in examples if robust(b, e) and not robust(a, e))
        test = pair["all_attacks"]
        assert (test["examples"], test["b"], test["c"]) == (4, first_only, second_only)
        assert test["p"] == pytest.approx(mcnemar_exact(first_only, second_only))
    table = result.stdout.strip().splitlines()
    assert table[0].startswith("| method | seed | clean % |")
    assert sum("mean ± sd (2)" in line for line in table) == 2
    md = (out / "report.md").read_text()
    assert "| 5 | standard vs rift |" in md and "| 6 | standard vs rift |" in md and "Wilson" in md

    # grow the subset 4 -> 6: every model keeps its 4 x 2 records and is attacked on 2 new examples only
    kept = {(s, l): _records_of(out / f"seed-{s}" / "eval" / l) for s in (5, 6) for l in ("standard", "rift")}
    result = _cli([str(path), "--out", str(out), "--seeds", "5,6", "--set", "evaluation.num_examples=6"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("trained already") == 4
    for (seed, label), before in kept.items():
        after = _records_of(out / f"seed-{seed}" / "eval" / label)
        assert len(after) == 6 * 2
        new = [k for k in after if k not in before]
        assert len(new) == 2 * 2
        assert all(after[k]["finished_at"] == before[k]["finished_at"] for k in before)  # not redone
    grown = json.loads((out / "report.json").read_text())
    assert grown["subset_size"] == 6 and set(report["subset"]) < set(grown["subset"]) and grown["complete"]
