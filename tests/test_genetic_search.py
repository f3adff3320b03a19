"""rift-genetic's default search is the RIFT authors' genetic search (issue 12 item 1), and its word-list
implementation decides exactly as the straightforward TextAttack-object one (issue 14 item 1).

Real TextAttack Attack objects around tiny random BERT classifiers (initializer range 0.5, so word swaps
move their predictions), real WordNet synonyms."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import textattack_rift
from textattack_rift.errors import RiftUserError
from synonym_tables import wordnet_table_for

SENTENCES = [
    "A charming and funny film with a wonderful cast and a clever story.",
    "The plot is dull, the acting is weak and the ending feels cheap.",
    "The director delivers a bold and beautiful picture full of surprising moments.",
    "Sloppy writing and awful pacing make this movie a painful experience.",
    "The film is slow, predictable and strangely empty despite its famous stars.",
    "An honest, moving story told with great care and quiet humour.",
    "I found the jokes stale and the characters thin, but the music is lovely.",
    "It is a smart, warm and surprisingly tender comedy about growing old.",
]
PAIRS = [
    ("A man is playing a guitar on a small stage.", "A person plays music for a quiet crowd."),
    ("Two children run across a wide green field.", "I think the kids are sitting in a dark room."),
    ("A woman reads a large book in the old library.", "Somebody is reading a heavy novel indoors."),
    ("The dog jumps over a low fence near the house.", "An animal leaps across a small barrier."),
]


@pytest.fixture(scope="module", autouse=True)
def registered():
    textattack_rift.register()


@pytest.fixture(scope="module")
def threat_model(tmp_path_factory):
    """Real WordNet synonyms of the test texts' words, as a small JSON table (quick to precompute)."""
    from textattack_rift.threat import ThreatModel

    texts = SENTENCES + [t for pair in PAIRS for t in pair]
    return ThreatModel(str(wordnet_table_for(texts, tmp_path_factory.mktemp("synonyms"))))


class RecordingWrapper:
    """Our padded wrapper that keeps every batch it is given (to compare what reaches the model)."""

    def __new__(cls, model, tokenizer):
        from textattack_rift.models.wrapper import PaddedHuggingFaceModelWrapper

        class Recording(PaddedHuggingFaceModelWrapper):
            def __call__(self, text_input_list):
                self.batches.append(list(text_input_list))
                return super().__call__(text_input_list)

        wrapper = Recording(model, tokenizer)
        wrapper.batches = []
        return wrapper


@pytest.fixture(scope="module")
def tiny(tiny_bert_dir):
    import transformers

    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(tiny_bert_dir)).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tiny_bert_dir), use_fast=True)
    return model, tokenizer


@pytest.fixture(scope="module")
def sturdy(minilm_dir):
    """A tiny classifier (initializer range 0.2) that some of SENTENCES resist at small budgets, so that
    the search runs through its generations and also fails."""
    import transformers

    from textattack_rift.models.tiny import tiny_bert_classifier

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(minilm_dir), use_fast=True)
    tokenizer.model_max_length = 128
    model = tiny_bert_classifier(tokenizer.vocab_size, initializer_range=0.2, max_positions=128, seed=0).eval()
    return model, tokenizer


@pytest.fixture(scope="module")
def tiny_nli(minilm_dir):
    """A three-class tiny classifier for premise/hypothesis pairs (the margin objective)."""
    import transformers

    from textattack_rift.models.tiny import tiny_bert_classifier

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(minilm_dir), use_fast=True)
    tokenizer.model_max_length = 128
    model = tiny_bert_classifier(tokenizer.vocab_size, num_labels=3, max_positions=128, seed=3).eval()
    return model, tokenizer


def _predicted(wrapper, inputs) -> list[int]:
    return wrapper(inputs).argmax(-1).tolist()


def _build(model, tokenizer, threat_model, **options):
    from textattack_rift.attack_recipes import build_attack

    wrapper = RecordingWrapper(model, tokenizer)
    return build_attack("rift-genetic", wrapper, threat_model, **options), wrapper


def _outcome(result) -> tuple:
    perturbed = result.perturbed_result
    return (
        type(result).__name__,
        perturbed.attacked_text.text,
        int(perturbed.num_queries),
        np.asarray(perturbed.raw_output).tolist(),
        sorted(perturbed.attacked_text.attack_attrs.get("modified_indices", ())),
    )


def _run_both(model, tokenizer, threat_model, examples, **options):
    """Attack each example with the fast and the reference implementation (fresh Attacks, same seed)."""
    fast, fast_wrapper = _build(model, tokenizer, threat_model, **options)
    reference, reference_wrapper = _build(model, tokenizer, threat_model, **options)
    reference.search_method.fast = False
    assert fast.search_method.fast is True
    outcomes = {"fast": [], "reference": []}
    for index, (example, label) in enumerate(examples):
        for name, attack in (("fast", fast), ("reference", reference)):
            np.random.seed(100 + index)  # the seed=None default draws the example's seed from here
            outcomes[name].append(_outcome(attack.attack(example, label)))
    return outcomes, fast_wrapper.batches, reference_wrapper.batches


# -- parent selection ---------------------------------------------------------------------------------
def test_parents_are_drawn_in_proportion_to_fitness(tiny, threat_model):
    """1 - p_y (two classes) and sigmoid(-margin) (more): the most adversarial member is drawn most,
    unlike TextAttack's exp(-score / temp), which favours the least adversarial one."""
    from textattack_rift.attack_recipes.genetic_search import PaperGeneticSearch, selection_probabilities

    attack, _ = _build(*tiny, threat_model, lm="none", pop_size=60_001)
    search = attack.search_method
    assert isinstance(search, PaperGeneticSearch)
    p_y = [0.9, 0.6, 0.2]
    rng = np.random.default_rng(0)
    parents, _, _ = search._draw_generation(rng, selection_probabilities("p_y", p_y), num_positions=4)
    frequencies = np.bincount(parents.ravel(), minlength=3) / parents.size
    fitness = 1 - np.array(p_y)
    np.testing.assert_allclose(frequencies, fitness / fitness.sum(), atol=0.01)
    assert frequencies.argmax() == 2  # the lowest p_y
    margins = [2.0, 0.0, -1.0]
    parents, _, _ = search._draw_generation(rng, selection_probabilities("margin", margins), num_positions=4)
    frequencies = np.bincount(parents.ravel(), minlength=3) / parents.size
    fitness = 1 / (1 + np.exp(np.array(margins))) + 1e-4
    np.testing.assert_allclose(frequencies, fitness / fitness.sum(), atol=0.01)


# -- mutation ----------------------------------------------------------------------------------------
def test_a_mutation_can_revert_a_swapped_word(tiny, threat_model):
    """When the original word gives the lowest p_y at the drawn position, the mutation puts it back
    (TextAttack's search never touches a swapped word again)."""
    from textattack.shared import AttackedText

    from textattack_rift.attack_recipes.genetic_search import _FastRun, _ReferenceRun, _Setup

    attack, wrapper = _build(*tiny, threat_model, lm="none")
    labels = _predicted(wrapper, SENTENCES)
    reverted = 0
    for sentence, label in zip(SENTENCES, labels):
        original = AttackedText(sentence)
        initial, _ = attack.goal_function.init_attack_example(original, label)
        setup = _Setup(attack.search_method, initial)
        for k, (index, choices) in enumerate(zip(setup.positions, setup.choices)):
            texts = [original.replace_word_at_index(index, w) for w in choices]
            p_y = wrapper([t.text for t in texts]).softmax(-1)[:, label].tolist()
            if int(np.argmin(p_y)) != 0 or max(p_y) == p_y[0]:
                continue
            # A member that has swapped this word (for its worst candidate) and nothing else.
            worst = int(np.argmax(p_y))
            fast = _FastRun(attack.search_method, setup, initial)
            member = np.zeros(len(setup.positions), dtype=np.int32)
            member[k] = worst
            chosen, _ = fast.mutate(member, k)
            assert chosen[0][k] == 0 and not chosen[0].any()
            reference = _ReferenceRun(attack.search_method, setup, initial)
            words = list(original.words)
            words[index] = choices[worst]
            chosen, _ = reference.mutate(words, k)
            assert chosen[0] == list(original.words) and chosen[1].text == original.text
            reverted += 1
    assert reverted >= 2


# -- texts built without TextAttack's word splitting ---------------------------------------------------
@pytest.mark.parametrize(
    "text_input",
    [
        "Well -- it's a 'strange', half-baked film... (really)!",
        OrderedDict([("premise", "A man sleeps."), ("hypothesis", "I think he is awake, or isn't he?")]),
    ],
)
def test_pasted_texts_equal_textattacks_own(text_input):
    from textattack.shared import AttackedText

    from textattack_rift.attack_recipes.genetic_search import TextLayout, columns_of, joined_input, lazy_attacked_text

    original = AttackedText(text_input)
    layout = TextLayout(original)
    assert layout.joined(layout.words) == joined_input(original)
    swapped = [w.upper() + "x" if i % 2 else w for i, w in enumerate(original.words)]
    built = original.generate_new_attacked_text(swapped)
    assert layout.joined(swapped) == joined_input(built)
    for i in range(len(original.words)):
        one = original.replace_word_at_index(i, "zz")
        assert layout.word_in(joined_input(one), i) == "zz"
    lazy = lazy_attacked_text(columns_of(layout, layout.joined(swapped)), dict(built.attack_attrs))
    assert lazy == built and hash(lazy) == hash(built) and lazy.tokenizer_input == built.tokenizer_input
    assert lazy._words is None and lazy.words == built.words  # split only when asked


# -- the same results from both implementations --------------------------------------------------------
def _examples(wrapper, texts):
    return list(zip(texts, _predicted(wrapper, texts)))


@pytest.mark.parametrize(
    "options",
    [
        {"lm": "none", "pop_size": 8, "max_iters": 6},
        {"lm": "none", "pop_size": 10, "max_iters": 4, "seed": 7, "query_budget": 200},
    ],
    ids=["plain", "query-budget"],
)
def test_fast_and_reference_give_identical_results(sturdy, threat_model, options):
    from textattack_rift.models.wrapper import PaddedHuggingFaceModelWrapper

    examples = _examples(PaddedHuggingFaceModelWrapper(*sturdy), SENTENCES[:4])
    outcomes, fast_batches, reference_batches = _run_both(*sturdy, threat_model, examples, **options)
    assert outcomes["fast"] == outcomes["reference"]
    assert fast_batches == reference_batches  # the same texts reach the model, in the same batches
    kinds = [o[0] for o in outcomes["fast"]]
    if "query_budget" in options:
        assert all(o[2] <= options["query_budget"] for o in outcomes["fast"])
        assert any(o[2] == options["query_budget"] for o in outcomes["fast"])  # stopped by the budget
    else:  # failures ran every generation: pop_size mutations, then max_iters * (pop_size - 1)
        assert "SuccessfulAttackResult" in kinds and "FailedAttackResult" in kinds, kinds
        assert all(o[2] > 8 + 6 * 7 for o in outcomes["fast"] if o[0] == "FailedAttackResult")


def test_identical_with_the_lm_filter_and_a_swap_cap(tiny, tiny_lm_dir, threat_model):
    from textattack_rift.models.wrapper import PaddedHuggingFaceModelWrapper
    from textattack_rift.threat import ThreatModel

    capped = ThreatModel(threat_model.synonyms, max_word_ratio=0.2)
    examples = _examples(PaddedHuggingFaceModelWrapper(*tiny), SENTENCES[:4])
    outcomes, fast_batches, reference_batches = _run_both(
        *tiny, capped, examples, lm=str(tiny_lm_dir), pop_size=8, max_iters=5
    )
    assert outcomes["fast"] == outcomes["reference"] and fast_batches == reference_batches
    from textattack.shared import AttackedText

    for (text, _), outcome in zip(examples, outcomes["fast"]):
        before, after = AttackedText(text).words, AttackedText(outcome[1]).words
        assert sum(a != b for a, b in zip(before, after)) <= max(int(0.2 * len(before)), 1)


def test_identical_on_pairs_with_three_classes(tiny_nli, threat_model):
    """The margin objective, and texts of two columns (only the hypothesis changes)."""
    from textattack_rift.models.wrapper import PaddedHuggingFaceModelWrapper

    wrapper = PaddedHuggingFaceModelWrapper(*tiny_nli)
    inputs = [OrderedDict([("premise", p), ("hypothesis", h)]) for p, h in PAIRS]
    labels = _predicted(wrapper, [tuple(x.values()) for x in inputs])
    outcomes, fast_batches, reference_batches = _run_both(
        *tiny_nli, threat_model, list(zip(inputs, labels)), lm="none", pop_size=8, max_iters=6
    )
    assert outcomes["fast"] == outcomes["reference"] and fast_batches == reference_batches
    for (pair, _), outcome in zip(zip(inputs, labels), outcomes["fast"]):
        assert outcome[1].startswith(pair["premise"] + "\n")  # the premise never changes


def test_seeds(tiny, threat_model):
    """``seed=N``: an example's attack depends on N and its text only; unset: on NumPy's global generator
    (which evaluate seeds per (attack, example))."""
    from textattack_rift.models.wrapper import PaddedHuggingFaceModelWrapper

    examples = _examples(PaddedHuggingFaceModelWrapper(*tiny), SENTENCES[:4])

    def attack_all(examples, global_seed=0, **options):
        attack, _ = _build(*tiny, threat_model, lm="none", pop_size=6, max_iters=3, **options)
        np.random.seed(global_seed)
        return [_outcome(attack.attack(text, label)) for text, label in examples]

    first = attack_all(examples, seed=0)
    assert attack_all(examples[::-1], global_seed=1, seed=0) == first[::-1]
    assert [o[2] for o in attack_all(examples, seed=1)] != [o[2] for o in first]
    unset = attack_all(examples, global_seed=5)
    assert attack_all(examples, global_seed=5) == unset
    assert [o[2] for o in attack_all(examples, global_seed=6)] != [o[2] for o in unset]


# -- the recipe ---------------------------------------------------------------------------------------
def test_recipe_records_the_search_and_keeps_textattacks(tiny, threat_model):
    from textattack.search_methods import AlzantotGeneticAlgorithm

    from textattack_rift.attack_recipes.genetic_search import PaperGeneticSearch

    attack, _ = _build(*tiny, threat_model, lm="none")
    assert isinstance(attack.search_method, PaperGeneticSearch)
    assert (attack.search_method.pop_size, attack.search_method.max_iters) == (60, 40)
    assert attack.rift_options["selection"] == "paper" and attack.rift_options["search"] == "PaperGeneticSearch"
    assert attack.rift_options["pop_size"] == 60 and attack.rift_options["max_iters"] == 40
    stock, _ = _build(*tiny, threat_model, lm="none", selection="TextAttack", pop_size=5, max_iters=2)
    assert isinstance(stock.search_method, AlzantotGeneticAlgorithm)
    assert stock.rift_options["selection"] == "textattack" and stock.rift_options["search"] == "AlzantotGeneticAlgorithm"
    assert (stock.rift_options["pop_size"], stock.rift_options["max_iters"]) == (5, 2)


def test_unknown_selection_is_one_line_before_any_work(threat_model, monkeypatch):
    from textattack_rift.attack_recipes import build_attack
    from textattack_rift.attack_recipes import genetic

    def no_work(*args, **kwargs):
        raise AssertionError("the attack was composed before the option was checked")

    monkeypatch.setattr(genetic.RiftGenetic, "compose", classmethod(no_work))
    with pytest.raises(RiftUserError) as caught:
        build_attack("rift-genetic", None, threat_model, selection="tournament")
    message = str(caught.value)
    assert "selection" in message and "paper" in message and "textattack" in message and "tournament" in message
    assert "\n" not in message
