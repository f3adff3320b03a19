"""rift-ascc and the attack's constraints: a swap of the adversary's proposal that fails a constraint
is dropped and the other swaps are kept, instead of the clean text being returned (issue 15 item 7)."""

from __future__ import annotations

import pytest

SENTENCE = "A charming and funny film with a wonderful cast and a clever story."


@pytest.fixture(scope="module")
def wrapper(tiny_bert_dir):
    from textattack_rift.models.loading import load_model

    return load_model(str(tiny_bert_dir))


@pytest.fixture(scope="module")
def threat_model():
    from textattack_rift.threat import ThreatModel

    return ThreatModel("wordnet")  # no ratio cap: every confident swap is proposed


def _with_constraint(attack, constraint):
    """The same rift-ascc attack (goal, transformation, search) with one more TextAttack constraint."""
    import textattack

    constraints = list(attack.pre_transformation_constraints) + list(attack.constraints) + [constraint]
    return textattack.Attack(attack.goal_function, constraints, attack.transformation, attack.search_method)


def _swaps(result) -> dict[int, str]:
    before = result.original_result.attacked_text.words
    after = result.perturbed_result.attacked_text.words
    return {i: b for i, (a, b) in enumerate(zip(before, after)) if a != b}


def _label(wrapper) -> int:
    return int(wrapper([SENTENCE]).argmax(-1)[0])


@pytest.fixture(scope="module")
def proposal(wrapper, threat_model) -> dict[int, str]:
    """The swaps rift-ascc makes on SENTENCE with the threat model's constraints only."""
    from textattack_rift.attack_recipes import build_attack

    swaps = _swaps(build_attack("rift-ascc", wrapper, threat_model, steps=3).attack(SENTENCE, _label(wrapper)))
    assert len(swaps) >= 3, swaps  # the tiny model's proposal (seeded) has several swaps to drop from
    return swaps


def test_a_rejected_swap_is_dropped_and_the_others_kept(wrapper, threat_model, proposal):
    from textattack.constraints import Constraint

    from textattack_rift.attack_recipes import build_attack

    rejected = min(proposal)

    class NoSuchSwap(Constraint):
        """Rejects any text that puts proposal[rejected] at word ``rejected``."""

        def __init__(self):
            super().__init__(compare_against_original=True)

        def _check_constraint(self, transformed_text, reference_text):
            words = transformed_text.words
            return not (rejected < len(words) and words[rejected] == proposal[rejected])

    attack = _with_constraint(build_attack("rift-ascc", wrapper, threat_model, steps=3), NoSuchSwap())
    result = attack.attack(SENTENCE, _label(wrapper))
    kept = _swaps(result)
    assert kept == {i: w for i, w in proposal.items() if i != rejected}
    assert result.perturbed_result.num_queries <= 2  # still one proposal after the clean query


def test_a_whole_text_constraint_keeps_the_most_swaps_it_allows(wrapper, threat_model, proposal):
    """TextAttack's ``MaxWordsPerturbed`` judges the combined text: the greedy build stops at its bound,
    the same way on every run."""
    from textattack.constraints.overlap import MaxWordsPerturbed

    from textattack_rift.attack_recipes import build_attack

    runs = []
    for _ in range(2):
        attack = _with_constraint(build_attack("rift-ascc", wrapper, threat_model, steps=3), MaxWordsPerturbed(max_num_words=2))
        runs.append(_swaps(attack.attack(SENTENCE, _label(wrapper))))
    assert len(runs[0]) == 2 and runs[0].items() <= proposal.items()
    assert runs[1] == runs[0]
