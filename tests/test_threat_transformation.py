"""The threat model's word swap inside real TextAttack attacks on a tiny BERT classifier."""

from __future__ import annotations

import pytest

from textattack_rift.threat.synonyms.base import SynonymSet
from textattack_rift.threat.threat_model import ThreatModel

TABLE = {
    "movie": ["film", "picture", "flick", "cinema"], "good": ["great", "fine", "nice", "decent"],
    "actors": ["performers", "players", "cast"], "funny": ["amusing", "comic", "hilarious"],
    "story": ["tale", "plot", "narrative"], "the": ["a"], "boring": ["dull", "tedious", "tiresome"],
    "acting": ["performance", "playing"], "script": ["screenplay", "text"], "bad": ["poor", "awful", "terrible"],
}
TEXTS = [
    ("The movie was good, and the actors were funny.", 1),
    ("A boring story with bad acting and a bad script.", 0),
    ("Good movie: the story is funny and the acting is good.", 1),
    ("The actors were boring, the script was bad.", 0),
]


@pytest.fixture(scope="module")
def model_wrapper(tiny_bert_dir):
    import transformers
    from textattack.models.wrappers import HuggingFaceModelWrapper

    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(tiny_bert_dir)).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tiny_bert_dir))
    return HuggingFaceModelWrapper(model, tokenizer)


def _attack(threat, model_wrapper, search="greedy"):
    from textattack import Attack
    from textattack.goal_functions import UntargetedClassification
    from textattack.search_methods import AlzantotGeneticAlgorithm, GreedySearch

    goal = UntargetedClassification(model_wrapper)
    method = GreedySearch() if search == "greedy" else AlzantotGeneticAlgorithm(pop_size=6, max_iters=3, post_crossover_check=False)
    return Attack(goal, threat.constraints(), threat.transformation(), method)


def _swaps(result):
    before = result.original_result.attacked_text.words
    after = result.perturbed_result.attacked_text.words
    assert len(before) == len(after)
    return [(a, b) for a, b in zip(before, after) if a != b]


def _check_in_threat_model(result, synonyms):
    for old, new in _swaps(result):
        assert old.lower() not in {"the", "a", "and", "with", "was", "were", "is"}
        assert new in synonyms.recased_candidates(old), (old, new)


def test_greedy_attack_uses_the_threat_models_swaps(model_wrapper):
    from textattack.attack_results import SkippedAttackResult, SuccessfulAttackResult

    synonyms = SynonymSet.from_dict("test", TABLE)
    attack = _attack(ThreatModel(synonyms), model_wrapper)
    results = [attack.attack(text, label) for text, label in TEXTS]
    attacked = [r for r in results if not isinstance(r, SkippedAttackResult)]
    assert attacked, "the tiny model should get some examples right"
    assert any(isinstance(r, SuccessfulAttackResult) for r in attacked)
    for result in attacked:
        _check_in_threat_model(result, synonyms)
        text = result.perturbed_result.attacked_text.text
        assert text.count(",") == result.original_result.attacked_text.text.count(",")  # punctuation stays
        assert text[0].isupper()  # "The"/"A"/"Good" keep their capital when swapped or kept


def test_genetic_attack_stays_inside_the_threat_model(model_wrapper):
    from textattack.attack_results import SkippedAttackResult

    synonyms = SynonymSet.from_dict("test", TABLE)
    attack = _attack(ThreatModel(synonyms, max_word_ratio=0.3), model_wrapper, search="genetic")
    for text, label in TEXTS[:2]:
        result = attack.attack(text, label)
        if isinstance(result, SkippedAttackResult):
            continue
        _check_in_threat_model(result, synonyms)
        assert len(_swaps(result)) <= 3  # ceil(0.3 * 9 or 10 words)


def test_counterfitted_attack(model_wrapper, counterfitted_path):
    from textattack.attack_results import SkippedAttackResult

    threat = ThreatModel(str(counterfitted_path))
    attack = _attack(threat, model_wrapper)
    for text, label in TEXTS:
        result = attack.attack(text, label)
        if not isinstance(result, SkippedAttackResult):
            _check_in_threat_model(result, threat.synonyms)


def test_swaps_keep_case_and_punctuation():
    from textattack.shared import AttackedText

    transformation = ThreatModel(SynonymSet.from_dict("t", TABLE), stopwords=False).transformation()
    outputs = {t.text for t in transformation(AttackedText('"Good" MOVIE, the actors!'))}
    assert '"Great" MOVIE, the actors!' in outputs
    assert '"Good" FILM, the actors!' in outputs
    assert '"Good" MOVIE, a actors!' in outputs
    assert '"Good" MOVIE, the performers!' in outputs
    assert len(outputs) == 4 + 4 + 1 + 3


def test_constructible_by_name_like_textattacks_cli(monkeypatch, tmp_path):
    import json

    import textattack
    from textattack.attack_args import BLACK_BOX_TRANSFORMATION_CLASS_NAMES, CommandLineAttackArgs

    from textattack_rift.threat.transformation import ThreatModelWordSwap

    default = ThreatModelWordSwap()  # what `--transformation NAME` evaluates
    assert default.threat_model.synonym_spec == "wordnet" and default.threat_model._synonyms is None  # loaded lazily
    assert "wordnet" in repr(default)

    table = tmp_path / "table.json"
    table.write_text(json.dumps(TABLE))
    # The registration the package performs: a name in TextAttack's table, the class on its module.
    monkeypatch.setattr(textattack.transformations, "ThreatModelWordSwap", ThreatModelWordSwap, raising=False)
    monkeypatch.setitem(BLACK_BOX_TRANSFORMATION_CLASS_NAMES, "rift-synonyms", "textattack.transformations.ThreatModelWordSwap")

    class Args:
        transformation = f"rift-synonyms^synonyms='{table}'"

    built = CommandLineAttackArgs._create_transformation_from_args(Args, model_wrapper=None)
    assert isinstance(built, ThreatModelWordSwap)
    assert built._get_replacement_words("Movie") == ["Film", "Picture", "Flick", "Cinema"]
