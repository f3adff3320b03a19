"""The rift- attack recipes through TextAttack's Attacker and the literal `textattack` command; the
stock recipes' offline preflight; the language-model filter scored once per example."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import time
from argparse import Namespace
from pathlib import Path

import pytest
import torch

import textattack_rift
from textattack_rift.errors import ResourceMissing, RiftUserError
from subprocess_env import offline_env
from synonym_tables import wordnet_table_for

SENTENCES = [
    "A charming and funny film with a wonderful cast and a clever story.",
    "The plot is dull, the acting is weak and the ending feels cheap.",
    "The director delivers a bold and beautiful picture full of surprising moments.",
    "Sloppy writing and awful pacing make this movie a painful experience.",
    "The film is slow, predictable and strangely empty despite its famous stars.",
]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module", autouse=True)
def registered():
    textattack_rift.register()


@pytest.fixture(scope="module")
def synonym_table(tmp_path_factory) -> Path:
    """Real WordNet synonyms (the offline default set) of the words in SENTENCES and the test split's
    first sentences, as a JSON table: a small real synonym set keeps candidate precomputation quick."""
    from textattack_rift.data import load_dataset

    texts = SENTENCES + list(load_dataset("rotten_tomatoes", split="test[:40]")["text"])
    return wordnet_table_for(texts, tmp_path_factory.mktemp("synonyms"))


@pytest.fixture(scope="module")
def threat_model(synonym_table):
    from textattack_rift.threat import ThreatModel

    return ThreatModel(str(synonym_table))


@pytest.fixture(scope="module")
def wrapper(tiny_bert_dir):
    from textattack_rift.models.loading import load_model

    return load_model(str(tiny_bert_dir))


@pytest.fixture(scope="module")
def dataset(wrapper):
    """SENTENCES labelled with the tiny model's own predictions: every example is attacked (none skipped)."""
    import textattack

    predictions = wrapper(SENTENCES).argmax(-1).tolist()
    return textattack.datasets.Dataset([(s, int(p)) for s, p in zip(SENTENCES, predictions)])


def _attack_all(attack, dataset, n=None):
    import textattack

    args = textattack.AttackArgs(
        num_examples=n or len(dataset), silent=True, disable_stdout=True, random_seed=0, query_budget=None
    )
    return textattack.Attacker(attack, dataset, args).attack_dataset()


def _assert_swaps_allowed(results, threat_model, max_changed=None):
    from textattack.attack_results import SkippedAttackResult, SuccessfulAttackResult

    succeeded = 0
    for result in results:
        assert not isinstance(result, SkippedAttackResult)
        before = result.original_result.attacked_text.words
        after = result.perturbed_result.attacked_text.words
        assert len(before) == len(after)
        changed = [(a, b) for a, b in zip(before, after) if a != b]
        for old, new in changed:
            assert new in threat_model.swap_candidates(old), (old, new)
        if max_changed is not None:
            assert len(changed) <= max_changed(len(before))
        if isinstance(result, SuccessfulAttackResult):
            succeeded += 1
            assert changed
            assert result.perturbed_result.output != result.original_result.ground_truth_output
    return succeeded


# -- building -----------------------------------------------------------------------------------------
def test_registry_names_alias_and_labels(wrapper, threat_model):
    from textattack.attack_args import ATTACK_RECIPE_NAMES

    from textattack_rift.attack_recipes import RECIPES, build_attack

    for name in ("rift-pwws", "rift-textfooler", "rift-genetic", "rift-ga", "rift-ascc"):
        assert name in RECIPES
        assert eval(ATTACK_RECIPE_NAMES[name], {"textattack": __import__("textattack")}) is RECIPES[name]
    attack = build_attack("rift-ga", wrapper, threat_model, lm="none", pop_size=4, query_budget=50)
    assert attack.rift_recipe == "rift-genetic"
    assert attack.rift_threat_model is threat_model
    assert attack.rift_options["lm_filter"] is None and attack.rift_options["pop_size"] == 4
    assert attack.goal_function.query_budget == 50
    assert attack.search_method.pop_size == 4 and attack.search_method.max_iters == 40
    with pytest.raises(RiftUserError, match="unknown attack recipe 'rift-nope'.*rift-pwws"):
        build_attack("rift-nope", wrapper)
    with pytest.raises(RiftUserError, match="no option pop_size"):
        build_attack("rift-pwws", wrapper, threat_model, pop_size=3)
    with pytest.raises(RiftUserError, match="positive integer"):
        build_attack("rift-genetic", wrapper, threat_model, lm="none", max_iters="many")


def test_active_threat_model_and_options_reach_argumentless_build(wrapper, threat_model):
    from textattack_rift.attack_recipes import RECIPES, context

    with context.active(threat_model, lm="none", pop_size=7, encoder="none"):
        genetic = RECIPES["rift-genetic"].build(wrapper)  # TextAttack's call: no other argument
        pwws = RECIPES["rift-pwws"].build(wrapper)  # options of other recipes are ignored
    assert genetic.rift_threat_model is threat_model and pwws.rift_threat_model is threat_model
    assert genetic.search_method.pop_size == 7 and genetic.rift_options["lm_filter"] is None
    assert context.active_threat_model().synonym_label == "wordnet"  # restored: the default


def test_attack_command_flags_set_active_threat_model(tiny_bert_dir, synonym_table, tmp_path):
    import shutil

    from textattack_rift.attack_recipes import context
    from textattack_rift.integration.attack_command import apply_rift_arguments
    from textattack_rift.threat import ThreatModel

    base = dict(model=str(tiny_bert_dir), model_from_huggingface=None, max_word_ratio=None, pos_check=False)
    try:
        args = Namespace(**base, synonyms=str(synonym_table), lm="none", pop_size=5, max_iters=None,
                         max_candidates=None, sentence_encoder=None)
        apply_rift_arguments(args)
        assert not hasattr(args, "synonyms") and not hasattr(args, "lm")  # TextAttack's dataclass rejects them
        assert context.active_threat_model() == ThreatModel(str(synonym_table))
        assert context.recipe_options() == {"lm": "none", "pop_size": 5}
        # no --synonyms: the threat model saved beside the model is used
        model_dir = tmp_path / "model"
        shutil.copytree(tiny_bert_dir, model_dir)
        saved = ThreatModel(str(synonym_table), max_word_ratio=0.3)
        saved.save(model_dir)
        args = Namespace(**{**base, "model": str(model_dir)}, synonyms=None, lm=None, pop_size=None,
                         max_iters=None, max_candidates=None, sentence_encoder=None)
        apply_rift_arguments(args)
        assert context.active_threat_model().fingerprint == saved.fingerprint
    finally:
        context.reset()


# -- each recipe through the Attacker ------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    "recipe, options",
    [
        ("rift-pwws", {}),
        ("rift-textfooler", {"encoder": "minilm"}),
        ("rift-genetic", {"lm": "none", "pop_size": 6, "max_iters": 3}),
        ("rift-genetic", {"lm": "none", "pop_size": 6, "max_iters": 3, "selection": "textattack"}),
        ("rift-ascc", {}),
    ],
)
def test_recipe_through_attacker_makes_only_allowed_swaps(recipe, options, wrapper, threat_model, dataset):
    from textattack_rift.attack_recipes import build_attack

    attack = build_attack(recipe, wrapper, threat_model, **options)
    results = _attack_all(attack, dataset)
    assert len(results) == len(SENTENCES)
    succeeded = _assert_swaps_allowed(results, threat_model)
    assert succeeded >= 1, [str(r) for r in results]
    assert all(r.perturbed_result.num_queries >= 1 for r in results)
    if recipe == "rift-textfooler":
        assert attack.rift_options["sentence_encoder"] == "minilm"
    pickle.loads(pickle.dumps(attack))  # --parallel ships the attack to worker processes


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["rift-ascc", "rift-genetic", "rift-genetic:textattack"])
def test_word_ratio_cap_is_kept(recipe, wrapper, synonym_table, dataset):
    from textattack_rift.attack_recipes import build_attack
    from textattack_rift.threat import ThreatModel

    capped = ThreatModel(str(synonym_table), max_word_ratio=0.1)
    options = {"lm": "none", "pop_size": 6, "max_iters": 3} if recipe.startswith("rift-genetic") else {"steps": 5}
    if recipe.endswith(":textattack"):
        recipe, options["selection"] = "rift-genetic", "textattack"
    results = _attack_all(build_attack(recipe, wrapper, capped, **options), dataset, n=3)
    _assert_swaps_allowed(results, capped, max_changed=lambda n: max(int(0.1 * n), 1))


def test_ascc_search_is_white_box_and_one_proposal(wrapper, threat_model, dataset):
    from textattack_rift.attack_recipes import build_attack

    attack = build_attack("rift-ascc", wrapper, threat_model, steps=3)
    assert attack.is_black_box is False
    text, label = dataset[0]
    result = attack.attack(text["text"], label)
    # the clean query plus at most one proposal
    assert result.perturbed_result.num_queries <= 2
    assert attack.search_method.adversary_seconds > 0


# -- the language-model filter ------------------------------------------------------------------------
def test_minilm_encoder_encodes_each_distinct_window_once():
    from textattack_rift.attack_recipes.sentence_encoder import MiniLMSentenceEncoder, _load_minilm, mean_pooled

    encoder = MiniLMSentenceEncoder(window_size=15)
    windows = [SENTENCES[0], SENTENCES[1], SENTENCES[0], SENTENCES[0]]
    model, tokenizer = _load_minilm("minilm")
    calls = []
    real = model.forward
    model.forward = lambda *a, **k: calls.append(k["input_ids"].shape[0]) or real(*a, **k)
    try:
        embeddings = encoder.encode(windows)
    finally:
        del model.forward
    assert calls == [2]  # two distinct windows, one batch
    reference = mean_pooled(model, tokenizer, windows)
    assert embeddings.shape == reference.shape and torch.allclose(embeddings, reference, atol=1e-5)


def test_lm_filter_scores_each_pair_once_and_applies_the_bound(tiny_lm_dir, threat_model):
    from textattack.shared import AttackedText

    from textattack_rift.attack_recipes.language_model import WindowLanguageModelFilter, load_causal_lm, window_log_probs

    lm = WindowLanguageModelFilter(str(tiny_lm_dir), threat_model=threat_model, max_log_prob_diff=2.0)
    original = AttackedText(SENTENCES[0])
    table = lm.full_table(original)
    expected = sum(1 + len(threat_model.swap_candidates(w)) for w in original.words if threat_model.swap_candidates(w))
    assert lm.windows_scored == expected == len(table) > 0
    model, tokenizer = load_causal_lm(str(tiny_lm_dir))
    decisions = set()
    for (index, word), score in table.items():
        window = original.replace_word_at_index(index, word).text_window_around_index(index, 13)
        assert window_log_probs(model, tokenizer, [window])[0].item() == pytest.approx(score, abs=1e-3)
        if word == original.words[index]:
            continue
        swapped = original.replace_word_at_index(index, word)
        allowed = lm._check_constraint(swapped, original)
        assert allowed == (score > table[(index, original.words[index])] - 2.0)
        decisions.add(allowed)
    assert decisions == {True, False}  # the random LM both keeps and drops some swaps here
    lm.full_table(original)
    assert lm.windows_scored == expected  # looked up, not rescored
    # asked lazily, a fresh filter scores only the pairs of the swaps it is given, in one batch, and
    # decides exactly as from the full table
    lazy = WindowLanguageModelFilter(str(tiny_lm_dir), threat_model=threat_model, max_log_prob_diff=2.0)
    index = next(i for i, w in enumerate(original.words) if len(threat_model.swap_candidates(w)) >= 2)
    swaps = [original.replace_word_at_index(index, c) for c in threat_model.swap_candidates(original.words[index])]
    for swapped in swaps:
        swapped.attack_attrs["newly_modified_indices"] = {index}
        swapped.attack_attrs["last_transformation"] = None
    kept = lazy._check_constraint_many(swaps, original)
    assert lazy.windows_scored == 1 + len(swaps) < expected
    assert [t.text for t in kept] == [t.text for t in swaps if lm._check_constraint(t, original)]


@pytest.mark.slow
def test_genetic_with_lm_filter_through_attacker(tiny_lm_dir, wrapper, threat_model, dataset):
    from textattack_rift.attack_recipes import build_attack
    from textattack_rift.attack_recipes.language_model import WindowLanguageModelFilter

    attack = build_attack("rift-genetic", wrapper, threat_model, lm=str(tiny_lm_dir), pop_size=6, max_iters=3)
    assert attack.rift_options["lm_filter"] == str(tiny_lm_dir)
    lm = next(c for c in attack.constraints if isinstance(c, WindowLanguageModelFilter))
    scored = []  # (original text, (index, word)) for every pair the LM scored
    score_pairs = lm.score_pairs

    def spy(original, pairs):
        before = set(lm.table(original))
        table = score_pairs(original, pairs)
        scored.extend((original.text, pair) for pair in set(table) - before)
        return table

    lm.score_pairs = spy
    results = _attack_all(attack, dataset, n=3)
    _assert_swaps_allowed(results, threat_model)
    # at most once per example, nothing per query: no pair scored twice, each one the threat model lists
    assert 0 < lm.windows_scored == len(scored) == len(set(scored))
    listed = 0
    for result in results:
        words = result.original_result.attacked_text.words
        listed += sum(1 + len(threat_model.swap_candidates(w)) for w in words if threat_model.swap_candidates(w))
        assert result.perturbed_result.num_queries > 0
    assert all(text in {r.original_result.attacked_text.text for r in results} for text, _ in scored)
    assert len(scored) <= listed
    for result in results:  # each swap passes the filter against the original text
        original = result.original_result.attacked_text
        perturbed = result.perturbed_result.attacked_text
        fresh = WindowLanguageModelFilter(str(tiny_lm_dir), threat_model=threat_model)
        table = fresh.full_table(original)
        for i, (a, b) in enumerate(zip(original.words, perturbed.words)):
            if a != b:
                assert table[(i, b)] > table[(i, a)] - 5.0


def test_lm_none_and_missing_lm(wrapper, threat_model, tmp_path):
    from textattack_rift.attack_recipes import build_attack

    attack = build_attack("rift-genetic", wrapper, threat_model, lm="none")
    assert attack.rift_options["lm_filter"] is None and attack.rift_options["lm"] == "none"
    with pytest.raises(ResourceMissing, match="no config.json"):
        build_attack("rift-genetic", wrapper, threat_model, lm=str(tmp_path))


# -- stock recipes offline ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "recipe, resource, instead",
    [
        ("textfooler", "counter-fitted word embeddings", "rift-textfooler"),
        ("alzantot", "Google 1-billion-word language model", "rift-genetic"),
        ("faster-alzantot", "learning-to-write language model", "rift-genetic"),
    ],
)
def test_stock_recipes_fail_at_once_offline_when_stand_ins_are_refused(recipe, resource, instead, offline, wrapper, monkeypatch):
    import textattack
    from textattack.attack_args import ATTACK_RECIPE_NAMES
    from textattack.shared.utils import TEXTATTACK_CACHE_DIR

    from textattack_rift.attack_recipes import build_attack

    monkeypatch.setenv("TEXTATTACK_RIFT_STOCK_STRICT", "1")
    locks_before = sorted(Path(TEXTATTACK_CACHE_DIR).rglob("*.lock"))
    began = time.perf_counter()
    with pytest.raises(ResourceMissing) as caught:
        build_attack(recipe, wrapper)
    message = str(caught.value)
    assert resource in message and "--stock-strict" in message and "\n" not in message
    with pytest.raises(ResourceMissing, match="stand-ins are refused"):  # TextAttack's own --recipe path too
        eval(f"{ATTACK_RECIPE_NAMES[recipe]}.build(model_wrapper)", {"textattack": textattack, "model_wrapper": wrapper})
    assert time.perf_counter() - began < 10
    assert sorted(Path(TEXTATTACK_CACHE_DIR).rglob("*.lock")) == locks_before


@pytest.mark.slow
def test_stock_pwws_still_works_offline(offline, wrapper, dataset):
    from textattack_rift.attack_recipes import build_attack

    attack = build_attack("pwws", wrapper)
    assert attack.rift_recipe == "pwws" and attack.rift_threat_model is None
    text, label = dataset[0]
    result = attack.attack(text["text"], label)
    assert result.perturbed_result.num_queries > 1


# -- the literal commands -------------------------------------------------------------------------------
def test_literal_list_shows_rift_recipes(textattack_exe):
    listed = subprocess.run([textattack_exe, "list", "attack-recipes"], capture_output=True, text=True,
                            timeout=300, env=offline_env())
    assert listed.returncode == 0, listed.stderr[-2000:]
    names = {line.split()[0] for line in ANSI.sub("", listed.stdout).splitlines() if line.strip()}
    assert {"rift-pwws", "rift-textfooler", "rift-genetic", "rift-ga", "rift-ascc", "pwws"} <= names


@pytest.mark.slow
def test_literal_textattack_attack_rift_pwws(tiny_bert_dir, synonym_table, wrapper, textattack_exe):
    from textattack_rift.data import load_dataset

    texts = list(load_dataset("rotten_tomatoes", split="test[:20]")["text"])
    predicted = wrapper(texts).argmax(-1).tolist()
    label = max(set(predicted), key=predicted.count)  # the class the tiny model mostly predicts: attacked, not skipped
    result = subprocess.run(
        [
            textattack_exe, "attack", "--recipe", "rift-pwws", "--model", str(tiny_bert_dir),
            "--dataset-from-huggingface", "rotten_tomatoes", "--dataset-split", "test[:20]",
            "--filter-by-labels", str(label), "--num-examples", "4", "--synonyms", str(synonym_table),
            "--disable-stdout",
        ],
        capture_output=True, text=True, timeout=600, env=offline_env(),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    counts = {
        key: int(re.search(rf"Number of {key} attacks:\s*\|\s*(\d+)", result.stdout).group(1))
        for key in ("successful", "failed", "skipped")
    }
    assert sum(counts.values()) == 4
    assert counts["successful"] + counts["failed"] >= 1, result.stdout


def test_literal_textattack_stock_textfooler_stock_strict_offline_message(tiny_bert_dir, textattack_exe):
    began = time.perf_counter()
    result = subprocess.run(
        [textattack_exe, "attack", "--recipe", "textfooler", "--model", str(tiny_bert_dir),
         "--dataset-from-huggingface", "rotten_tomatoes", "--num-examples", "1", "--stock-strict"],
        capture_output=True, text=True, timeout=300, env=offline_env(),
    )
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("textattack: error: recipe 'textfooler' needs") and "--stock-strict" in last
    assert "Traceback" not in result.stderr
    assert time.perf_counter() - began < 120


# -- the benchmark's parts ------------------------------------------------------------------------------
def test_bench_wrappers_agree_and_count(tiny_bert_dir, synonym_table):
    from textattack_rift.bench.attack import bench_attack, format_result

    result = bench_attack(model=str(tiny_bert_dir), num_examples=2, recipes="rift-pwws",
                          synonyms=str(synonym_table))
    row = result["recipes"]["rift-pwws"]
    assert row["identical"], row
    assert row["ours"]["queries"] == row["stock"]["queries"] > 0
    assert row["ours"]["model_rows"] == row["stock"]["model_rows"] > 0
    assert 0 < row["ours"]["model_share"] <= 1 and row["speedup"] > 0
    assert "rift-pwws" in format_result(result)


def test_bench_compares_the_paper_genetic_search_with_its_reference(tiny_bert_dir, synonym_table):
    from textattack_rift.bench.attack import bench_attack, format_result

    result = bench_attack(model=str(tiny_bert_dir), num_examples=2, recipes="rift-genetic", synonyms=str(synonym_table),
                          pop_size=6, max_iters=3, lm="none", genetic_against="reference")
    row = result["recipes"]["rift-genetic"]
    assert row["against"] == "reference" and "stock" not in row
    assert row["identical"], row
    assert row["ours"]["queries"] == row["reference"]["queries"] > 0
    assert row["ours"]["model_rows"] == row["reference"]["model_rows"] > 0
    assert row["ours"]["rift_options"]["selection"] == "paper"
    assert "rift-genetic" in format_result(result)
    with pytest.raises(RiftUserError, match="--selection paper"):
        bench_attack(model=str(tiny_bert_dir), recipes="rift-genetic", selection="textattack", genetic_against="reference")
