"""The threat model's TextAttack constraints, applied the way an attack applies them."""

from __future__ import annotations

from collections import OrderedDict

import pytest

from textattack_rift.errors import RiftUserError
from textattack_rift.threat.synonyms.base import SynonymSet
from textattack_rift.threat.threat_model import ThreatModel

TABLE = {
    "the": ["a"], "movie": ["film", "picture"], "is": ["was"], "good": ["great", "fine"], "very": ["really"],
    "actors": ["performers"], "were": ["are"], "funny": ["amusing"], "a": ["one"], "man": ["guy"],
    "sleeps": ["naps"], "film": ["beautiful", "movie"],
}


@pytest.fixture(scope="module")
def synonyms():
    return SynonymSet.from_dict("test", TABLE)


def _transform(threat, text):
    from textattack.shared import AttackedText

    current = text if isinstance(text, AttackedText) else AttackedText(text)
    transformation = threat.transformation()
    pre = [c for c in threat.constraints() if _is_pre(c)]
    post = [c for c in threat.constraints() if not _is_pre(c)]
    out = transformation(current, pre_transformation_constraints=pre)
    for constraint in post:
        out = constraint.call_many(out, current if not constraint.compare_against_original else _original(current))
    return out


def _is_pre(constraint):
    from textattack.constraints import PreTransformationConstraint

    return isinstance(constraint, PreTransformationConstraint)


def _original(text):
    while "previous_attacked_text" in text.attack_attrs:
        text = text.attack_attrs["previous_attacked_text"]
    return text


def _changed(before, after):
    return [i for i, (a, b) in enumerate(zip(before.words, after.words)) if a != b]


def test_stop_words_are_never_swapped_whatever_their_case(synonyms):
    from textattack.constraints.pre_transformation import StopwordModification
    from textattack.shared import AttackedText

    text = AttackedText("The movie is VERY good.")
    swapped = {text.words[i] for t in _transform(ThreatModel(synonyms), text) for i in _changed(text, t)}
    assert swapped == {"movie", "good"}
    # TextAttack's own constraint compares the written form, so it would let "The" and "VERY" change.
    assert {0, 3} <= StopwordModification()(text, ThreatModel(synonyms).transformation())
    everything = {text.words[i] for t in _transform(ThreatModel(synonyms, stopwords=False), text) for i in _changed(text, t)}
    assert everything == {"The", "movie", "is", "VERY", "good"}


def test_no_second_swap_of_a_swapped_word(synonyms):
    threat = ThreatModel(synonyms)
    first = next(t for t in _transform(threat, "the movie is good") if t.words[1] == "film")
    assert first.attack_attrs["modified_indices"] == {1}
    second = _transform(threat, first)
    assert second and all(t.words[1] == "film" for t in second)  # "film" -> "movie"/"beautiful" is not offered
    assert {tuple(_changed(first, t)) for t in second} == {(3,)}


def test_max_word_ratio(synonyms):
    text = "the movie is good and actors were funny"  # 8 words, 4 swappable
    capped = ThreatModel(synonyms, max_word_ratio=0.25)  # ceil(8 * 0.25) = 2 words
    current = _transform(capped, text)[0]
    current = _transform(capped, current)[0]
    assert len(current.attack_attrs["modified_indices"]) == 2
    assert _transform(capped, current) == []
    free = ThreatModel(synonyms)  # the paper's threat model has no cap
    assert _transform(free, current)
    with pytest.raises(RiftUserError, match=r"\(0, 1\]"):
        ThreatModel(synonyms, max_word_ratio=1.5)


@pytest.mark.parametrize("names", [("premise", "hypothesis"), ("sentence1", "sentence2")])
def test_only_the_hypothesis_changes_in_a_pair(synonyms, names):
    from textattack.shared import AttackedText

    pair = AttackedText(OrderedDict([(names[0], "A man sleeps."), (names[1], "The movie is good.")]))
    n_premise = len(pair.words_per_input[0])
    outputs = _transform(ThreatModel(synonyms), pair)
    assert outputs and all(min(_changed(pair, t)) >= n_premise for t in outputs)
    assert all(t.words_per_input[0] == pair.words_per_input[0] for t in outputs)
    premise_only = _transform(ThreatModel(synonyms, perturbable_columns=[names[0]]), pair)
    assert premise_only and all(max(_changed(pair, t)) < n_premise for t in premise_only)
    both = _transform(ThreatModel(synonyms, perturbable_columns="0,1"), pair)
    assert {i < n_premise for t in both for i in _changed(pair, t)} == {True, False}


def test_unknown_column_name_is_an_error_not_a_silent_no_op(synonyms):
    from textattack.shared import AttackedText

    pair = AttackedText(OrderedDict([("sentence1", "A man sleeps."), ("sentence2", "The movie is good.")]))
    with pytest.raises(RiftUserError, match="match none of the input columns"):
        _transform(ThreatModel(synonyms, perturbable_columns=["hypothesis"]), pair)


def test_single_text_is_fully_perturbable_by_default(synonyms):
    outputs = _transform(ThreatModel(synonyms), "A man sleeps")
    assert {tuple(_changed(o.attack_attrs["previous_attacked_text"], o)) for o in outputs} == {(1,), (2,)}


def test_part_of_speech_check_works_offline(synonyms):
    from textattack_rift.threat.constraints import WordNetPartOfSpeech
    from textattack_rift.threat.pos import pos_compatible

    assert pos_compatible("film", "movie") and pos_compatible("good", "fine")
    assert not pos_compatible("film", "beautiful")  # noun/verb vs adjective
    assert pos_compatible("zorblax", "beautiful")  # unknown to WordNet: cannot judge, passes
    without = {t.words[1] for t in _transform(ThreatModel(synonyms), "the film is good") if _changed(t.attack_attrs["previous_attacked_text"], t) == [1]}
    with_check = {t.words[1] for t in _transform(ThreatModel(synonyms, pos_check=True), "the film is good") if t.words[1] != "film"}
    assert without == {"beautiful", "movie"} and with_check == {"movie"}
    assert any(isinstance(c, WordNetPartOfSpeech) for c in ThreatModel(synonyms, pos_check=True).constraints())


def test_constraint_list_reuses_textattack(synonyms):
    from textattack.constraints.pre_transformation import MaxModificationRate, RepeatModification, StopwordModification

    kinds = [type(c) for c in ThreatModel(synonyms, max_word_ratio=0.2).constraints()]
    assert RepeatModification in kinds and MaxModificationRate in kinds
    assert any(issubclass(k, StopwordModification) for k in kinds)
    assert MaxModificationRate not in [type(c) for c in ThreatModel(synonyms).constraints()]
