"""Stock TextFooler, Alzantot and faster-Alzantot offline: TextAttack's own search and constraints with
named stand-ins for what cannot be downloaded; --stock-strict refuses them; other stock recipes still
stop at once."""

from __future__ import annotations

import subprocess
import time

import pytest
import textattack

import textattack_rift
from textattack_rift.errors import ResourceMissing
from subprocess_env import offline_env

STAND_IN_LINE = "textattack-rift: stock {} offline stand-in: "
SENTENCE = "the movie was a wonderful and moving experience for the whole family"


@pytest.fixture(scope="module", autouse=True)
def registered():
    textattack_rift.register()


@pytest.fixture(scope="module")
def wrapper(tiny_bert_dir):
    from textattack_rift.models.loading import load_model

    return load_model(str(tiny_bert_dir))


# recipe -> (search class, its settings, candidates cap, stand-in lines that must be there)
EXPECTED = {
    "textfooler": ("GreedyWordSwapWIR", {"wir_method": "delete"}, 50, ("word candidates", "part of speech", "sentence similarity")),
    "alzantot": ("AlzantotGeneticAlgorithm", {"pop_size": 60, "max_iters": 20}, 8, ("word candidates", "language model")),
    "faster-alzantot": ("AlzantotGeneticAlgorithm", {"pop_size": 60, "max_iters": 40}, 8, ("word candidates", "language model")),
}


@pytest.mark.parametrize("recipe", sorted(EXPECTED))
def test_stock_recipe_offline_is_textattacks_search_with_named_stand_ins(recipe, offline, wrapper, capsys, monkeypatch):
    from textattack.attack_args import ATTACK_RECIPE_NAMES

    from textattack_rift.attack_recipes import build_attack
    from textattack_rift.attack_recipes.stock_offline import CappedThreatModelWordSwap
    from textattack_rift.threat import ThreatModel

    monkeypatch.delenv("TEXTATTACK_RIFT_STOCK_STRICT", raising=False)
    search, settings, cap, needed = EXPECTED[recipe]
    threat = ThreatModel("wordnet")
    attack = build_attack(recipe, wrapper, threat)
    assert type(attack.search_method).__name__ == search
    assert {k: getattr(attack.search_method, k) for k in settings} == settings
    assert isinstance(attack.transformation, CappedThreatModelWordSwap) and attack.transformation.max_candidates == cap
    assert attack.rift_threat_model is threat  # the stand-in's candidates: recorded with the results
    stand_ins = attack.rift_options["stand_ins"]
    assert all(any(line.startswith(what) for line in stand_ins) for what in needed), stand_ins
    printed = [line for line in capsys.readouterr().err.splitlines() if line.startswith(STAND_IN_LINE.format(recipe))]
    assert [line[len(STAND_IN_LINE.format(recipe)):] for line in printed] == stand_ins
    # the stock constraints that need no download are TextAttack's own, as the recipe builds them
    names = {type(c).__name__ for c in (*attack.pre_transformation_constraints, *attack.constraints)}
    assert {"RepeatModification", "StopwordModification"} <= names
    assert ("MaxWordsPerturbed" in names) == (recipe != "textfooler")
    assert "WordEmbeddingDistance" not in names  # its paragramcf vectors do not exist here
    # TextAttack's own --recipe path (what `textattack attack --recipe textfooler` evaluates) builds the same
    context_attack = eval(f"{ATTACK_RECIPE_NAMES[recipe]}.build(model_wrapper)", {"textattack": textattack, "model_wrapper": wrapper})
    assert type(context_attack.search_method).__name__ == search
    assert context_attack.rift_stand_ins == stand_ins


def test_textfooler_stop_words_are_textattacks_own_list(offline, wrapper):
    from textattack_rift.attack_recipes import build_attack

    attack = build_attack("textfooler", wrapper, "wordnet")
    stopwords = next(c for c in attack.pre_transformation_constraints if type(c).__name__ == "StopwordModification").stopwords
    # TextFooler's list (not NLTK's, not the threat model's): "across" and "afterwards" are in it, "movie" is not
    assert {"across", "afterwards", "hundred", "a", "the"} <= stopwords and "movie" not in stopwords
    assert len(stopwords) > 200


@pytest.mark.slow
def test_stand_in_textfooler_attacks_with_threat_model_words_only(offline, wrapper):
    from textattack_rift.attack_recipes import build_attack
    from textattack_rift.threat import ThreatModel

    threat = ThreatModel("wordnet")
    attack = build_attack("textfooler", wrapper, threat)
    label = int(wrapper([SENTENCE]).argmax(-1)[0])
    result = attack.attack(SENTENCE, label)
    assert result.perturbed_result.num_queries > 1
    original, perturbed = result.original_result.attacked_text.words, result.perturbed_result.attacked_text.words
    for old, new in zip(original, perturbed):
        if old != new:
            assert new in threat.swap_candidates(old)[:50]


def test_top_n_language_model_keeps_the_likeliest_swaps_per_position(tiny_lm_dir):
    from textattack.shared import AttackedText

    from textattack_rift.attack_recipes.stock_offline import WindowLanguageModelTopN

    original = AttackedText("the film was good and the cast was great")
    candidates = {3: ["fine", "nice", "decent", "solid", "grand", "sound"], 8: ["big", "large"]}
    texts = []
    for index, words in candidates.items():
        for word in words:
            text = original.replace_word_at_index(index, word)
            text.attack_attrs["newly_modified_indices"] = {index}
            texts.append(text)
    top = WindowLanguageModelTopN(str(tiny_lm_dir), top_n_per_index=4, window_radius=1, cache=False)
    kept = top._check_constraint_many(texts, original)
    table = top.table(original)
    kept_at = {index: [t.words[index] for t in kept if t.words[index] != original.words[index]] for index in candidates}
    assert len(kept_at[3]) == 4 and sorted(kept_at[8]) == ["big", "large"]
    ranked = sorted(candidates[3], key=lambda w: -table[(3, w)])
    assert set(kept_at[3]) == set(ranked[:4])
    assert kept == [t for t in texts if t in kept]  # TextAttack's order kept


def test_stock_strict_and_recipes_without_stand_ins_stop_at_once(offline, wrapper, monkeypatch):
    from textattack_rift.attack_recipes import build_attack

    began = time.perf_counter()
    with pytest.raises(ResourceMissing, match="--recipe rift-textfooler"):  # no stand-ins for TextBugger
        build_attack("textbugger", wrapper)
    monkeypatch.setenv("TEXTATTACK_RIFT_STOCK_STRICT", "1")
    with pytest.raises(ResourceMissing, match="stand-ins are refused") as caught:
        build_attack("textfooler", wrapper)
    assert "\n" not in str(caught.value)
    assert time.perf_counter() - began < 10


@pytest.mark.slow
def test_literal_textattack_attack_textfooler_and_rift_genetic_on_rift_bert(tiny_bert_dir, tmp_path, monkeypatch, textattack_exe):
    """The design's literal commands after training, offline, on a tiny model registered as rift-bert."""
    from textattack_rift.models import registry

    monkeypatch.setenv(registry.REGISTRY_ENV, str(tmp_path / "registry.json"))
    assert registry.register_model(tiny_bert_dir, name="rift-bert-tiny", dataset="rotten_tomatoes", method="rift")[-1] == "rift-bert"
    env = offline_env()
    for recipe, lines in (("textfooler", 4), ("rift-genetic", 0)):
        result = subprocess.run(
            [textattack_exe, "attack", "--recipe", recipe, "--model", "rift-bert", "--num-examples", "5"],
            env=env, capture_output=True, text=True, timeout=900,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Number of successful attacks" in result.stdout and "Original accuracy" in result.stdout
        said = [line for line in result.stderr.splitlines() if line.startswith(STAND_IN_LINE.format(recipe))]
        assert len(said) == lines, result.stderr[-3000:]
        assert "error" not in result.stderr.lower().replace("errors=", "")
