"""Words changed on sentence pairs: the share is over the words the attack may change (the hypothesis of
a premise/hypothesis pair), not over premise + hypothesis (issue 15 item 7)."""

from __future__ import annotations

from collections import OrderedDict

import pytest
from synonym_tables import wordnet_table_for

PREMISE = "A man in a red coat is walking his small dog along the quiet beach at sunset today."
HYPOTHESIS = "The man is walking a happy dog outside."


@pytest.fixture(scope="module")
def wrapper(tiny_bert_dir):
    from textattack_rift.models.loading import load_model

    return load_model(str(tiny_bert_dir))


@pytest.fixture(scope="module")
def threat_model(tmp_path_factory):
    """Real WordNet synonyms of the pair's words, as a small JSON table (quick to precompute)."""
    from textattack_rift.threat import ThreatModel

    return ThreatModel(str(wordnet_table_for([PREMISE + " " + HYPOTHESIS], tmp_path_factory.mktemp("pair-synonyms"))))


def test_pair_record_counts_only_the_hypothesis_words(wrapper, threat_model):
    from textattack.shared import AttackedText

    from textattack_rift.evaluation.worker import AttackSet, attack_one

    inputs = {"premise": PREMISE, "hypothesis": HYPOTHESIS}
    text = AttackedText(OrderedDict(inputs))
    premise_words, hypothesis_words = (len(words) for words in text.words_per_input)
    label = int(wrapper([(PREMISE, HYPOTHESIS)]).argmax(-1)[0])  # the model's own: attacked, not skipped
    record = attack_one(AttackSet(wrapper, threat_model, {}), "rift-pwws", (0, inputs, label), seed=0)

    assert record["status"] != "skipped"
    assert record["num_words"] == hypothesis_words != premise_words + hypothesis_words
    assert record["words_changed_share"] == pytest.approx(record["words_changed"] / hypothesis_words)
    # a swap was made, in the hypothesis only: 1 of the hypothesis' words, not 1 of both columns'
    assert record["words_changed"] >= 1
    assert record["perturbed_text"].startswith(f"Premise: {PREMISE}\n")


def test_stock_column_rule_and_single_texts(wrapper):
    """TextAttack's own ``InputColumnModification`` (the stock recipes' "not the premise") is honoured
    too; an attack without a column rule may change, and so counts, every word."""
    import textattack
    from textattack.constraints.pre_transformation import InputColumnModification, RepeatModification
    from textattack.goal_functions import UntargetedClassification
    from textattack.search_methods import GreedyWordSwapWIR
    from textattack.shared import AttackedText
    from textattack.transformations import WordSwapWordNet

    from textattack_rift.evaluation.records import perturbable_word_count

    def attack(constraints):
        return textattack.Attack(UntargetedClassification(wrapper), constraints, WordSwapWordNet(), GreedyWordSwapWIR("delete"))

    pair = AttackedText(OrderedDict(premise=PREMISE, hypothesis=HYPOTHESIS))
    premise_words, hypothesis_words = (len(words) for words in pair.words_per_input)
    no_premise = InputColumnModification(["premise", "hypothesis"], {"premise"})
    assert perturbable_word_count(attack([RepeatModification(), no_premise]), pair) == hypothesis_words
    assert perturbable_word_count(attack([RepeatModification()]), pair) == premise_words + hypothesis_words
    single = AttackedText(HYPOTHESIS)
    assert perturbable_word_count(attack([RepeatModification(), no_premise]), single) == len(single.words)
