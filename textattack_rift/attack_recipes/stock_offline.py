"""Stock TextFooler, Alzantot and faster-Alzantot where their downloads cannot be had: named stand-ins.

The three recipes are rebuilt as TextAttack 0.3.11 builds them (``textattack/attack_recipes/
textfooler_jin_2019.py``, ``genetic_algorithm_alzantot_2018.py``, ``faster_genetic_algorithm_jia_2019.py``):
the same goal function, search method and settings, the same stop-word, repeat, column and
words-perturbed constraints. Only a part whose resource is missing here is replaced, each by the
closest thing that exists offline, and each replacement is one line of ``stand_ins`` (printed when the
attack is built, recorded in every result under ``recipe_options.stand_ins``):

- TextAttack's paragramcf embedding neighbours (``WordSwapEmbedding``, top 50 for TextFooler, top 8 for
  the genetic recipes) -> the threat model's synonyms (the model's own threat model, else WordNet), in
  the table's order and capped at the same number. The embedding-distance check on those vectors
  (``WordEmbeddingDistance``) has no vectors to read and is dropped: the synonym table is itself a
  list of near neighbours.
- NLTK's averaged-perceptron tagger (TextFooler's ``PartOfSpeech``) -> WordNet's parts of speech
  (``threat.constraints.WordNetPartOfSpeech``: the two words must share one).
- TF-Hub's Universal Sentence Encoder v3 -> USE-multilingual v3 from PyPI (``offline_use``), at
  TextFooler's own threshold (0.840845 angular), window (15) and short-text rule.
- Google's 1-billion-word LM (Alzantot: keep the 4 likeliest swaps per position, each word scored
  after the one before it) -> our causal LM (``language_model``, SmolLM2-135M by default) ranking the
  swaps at a position by the log-probability of a 3-word window around it in the original text.
- The learning-to-write LM (faster-Alzantot: a swap kept when a 6-word window's log-probability drops
  by at most 5.0, against the original text) -> our LM over a 7-word window (radius 3, the odd window
  nearest 6) with the same 5.0, against the original text.

With the resources present (the internet, or TextAttack's cache filled), nothing is replaced: the stock
recipe is built by TextAttack itself. ``TEXTATTACK_RIFT_STOCK_STRICT=1`` (``textattack attack
--stock-strict``) refuses every stand-in instead.
"""

from __future__ import annotations

import collections
import os

from textattack import Attack
from textattack.constraints.overlap import MaxWordsPerturbed
from textattack.constraints.pre_transformation import (
    InputColumnModification,
    RepeatModification,
    StopwordModification,
)
from textattack.goal_functions import UntargetedClassification
from textattack.search_methods import AlzantotGeneticAlgorithm, GreedyWordSwapWIR

from textattack_rift.attack_recipes.language_model import SMOLLM2, WindowLanguageModelFilter
from textattack_rift.threat.threat_model import ThreatModelWordSwap

STRICT_ENV = "TEXTATTACK_RIFT_STOCK_STRICT"
STAND_IN_RECIPES = ("textfooler", "alzantot", "faster-alzantot")
USE_THRESHOLD = 0.840845057  # TextFooler's angular threshold


def strict() -> bool:
    """Stand-ins refused (``$TEXTATTACK_RIFT_STOCK_STRICT`` set to 1/true/yes)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


class CappedThreatModelWordSwap(ThreatModelWordSwap):
    """The threat model's synonyms of a word, at most ``max_candidates`` of them, in the table's order."""

    def __init__(self, threat_model, max_candidates: int):
        super().__init__(threat_model=threat_model)
        self.max_candidates = int(max_candidates)

    def _get_replacement_words(self, word):
        return super()._get_replacement_words(word)[: self.max_candidates]

    def extra_repr_keys(self):
        return super().extra_repr_keys() + ["max_candidates"]


class WindowLanguageModelTopN(WindowLanguageModelFilter):
    """Keep, at each position, the ``top_n_per_index`` swaps whose window in the original text scores
    highest under the LM (ties: the order TextAttack gave them); Google's LM constraint keeps its top
    swaps per position the same way, with its own scores."""

    def __init__(self, lm: str = SMOLLM2, top_n_per_index: int = 4, window_radius: int = 1, **kwargs):
        super().__init__(lm, window_radius=window_radius, **kwargs)
        self.top_n_per_index = int(top_n_per_index)

    def _check_constraint_many(self, transformed_texts, reference_text):
        by_index = collections.defaultdict(list)
        for position, text in enumerate(transformed_texts):
            indices = self._swapped_indices(text, reference_text)
            if indices is not None and len(indices) == 1:  # a mutation swaps one word
                by_index[indices[0]].append((position, text))
        pairs = [(index, text.words[index]) for index, texts in by_index.items() for _, text in texts]
        table = self.score_pairs(reference_text, pairs)
        kept = []
        for index, texts in by_index.items():
            ranked = sorted(texts, key=lambda item: -table[(index, item[1].words[index])])
            kept.extend(ranked[: self.top_n_per_index])
        return [text for _, text in sorted(kept, key=lambda item: item[0])]

    def extra_repr_keys(self):
        return ["top_n_per_index"] + super().extra_repr_keys()


def _candidates(threat_model, missing: set, max_candidates: int, stand_ins: list):
    """The word swap and the embedding-distance check (None when dropped)."""
    if "paragramcf" not in missing:
        from textattack.constraints.semantics import WordEmbeddingDistance
        from textattack.transformations import WordSwapEmbedding

        return WordSwapEmbedding(max_candidates=max_candidates), WordEmbeddingDistance
    stand_ins.append(
        f"word candidates: the threat model's {threat_model.synonym_label} synonyms (at most {max_candidates}) "
        "for TextAttack's paragramcf embedding neighbours"
    )
    stand_ins.append("embedding-distance check: dropped (it reads the paragramcf vectors; the synonyms are near neighbours)")
    return CappedThreatModelWordSwap(threat_model, max_candidates), None


def textfooler(model_wrapper, threat_model, missing: set):
    from textattack.attack_recipes.textfooler_jin_2019 import TextFoolerJin2019

    stand_ins: list[str] = []
    transformation, distance = _candidates(threat_model, missing, 50, stand_ins)
    constraints = [
        RepeatModification(),
        StopwordModification(stopwords=_textfooler_stopwords(TextFoolerJin2019)),
        InputColumnModification(["premise", "hypothesis"], {"premise"}),
    ]
    if distance is not None:
        constraints.append(distance(min_cos_sim=0.5))
    if "tagger" in missing:
        from textattack_rift.threat.constraints import WordNetPartOfSpeech

        constraints.append(WordNetPartOfSpeech())
        stand_ins.append("part of speech: WordNet's parts of speech for NLTK's averaged-perceptron tagger")
    else:
        from textattack.constraints.grammaticality import PartOfSpeech

        constraints.append(PartOfSpeech(allow_verb_noun_swap=True))
    use_options = dict(
        threshold=USE_THRESHOLD, metric="angular", compare_against_original=False, window_size=15,
        skip_text_shorter_than_window=True,
    )
    if "use" in missing:
        from textattack_rift.attack_recipes.offline_use import DESCRIPTION, OfflineUniversalSentenceEncoder

        constraints.append(OfflineUniversalSentenceEncoder(**use_options))
        stand_ins.append(f"sentence similarity: {DESCRIPTION} for TF-Hub's USE v3, same threshold 0.840845 angular")
    else:
        from textattack.constraints.semantics.sentence_encoders import UniversalSentenceEncoder

        constraints.append(UniversalSentenceEncoder(**use_options))
    attack = Attack(UntargetedClassification(model_wrapper), constraints, transformation, GreedyWordSwapWIR("delete"))
    return attack, stand_ins


def _textfooler_stopwords(recipe_class) -> set:
    """TextFooler's own stop-word list, read from TextAttack's recipe (it builds the set inside build())."""
    import inspect
    import re

    source = inspect.getsource(recipe_class.build)
    start = source.index("stopwords = set(")
    listing = source[start : source.index("]", start)]
    return set(re.findall(r'"([^"]*)"', listing))


def alzantot(model_wrapper, threat_model, missing: set):
    stand_ins: list[str] = []
    transformation, distance = _candidates(threat_model, missing, 8, stand_ins)
    constraints = [
        RepeatModification(),
        StopwordModification(),
        InputColumnModification(["premise", "hypothesis"], {"premise"}),
        MaxWordsPerturbed(max_percent=0.2),
    ]
    if distance is not None:
        constraints.append(distance(max_mse_dist=0.5, compare_against_original=False))
    if missing & {"google_lm", "tensorflow"}:
        constraints.append(WindowLanguageModelTopN(SMOLLM2, top_n_per_index=4, window_radius=1))
        stand_ins.append(
            "language model: SmolLM2-135M keeping the 4 likeliest swaps per position (3-word windows in the "
            "original text) for Google's 1-billion-word LM"
        )
    else:
        from textattack.constraints.grammaticality.language_models import Google1BillionWordsLanguageModel

        constraints.append(Google1BillionWordsLanguageModel(top_n_per_index=4, compare_against_original=False))
    search = AlzantotGeneticAlgorithm(pop_size=60, max_iters=20, post_crossover_check=False)
    return Attack(UntargetedClassification(model_wrapper), constraints, transformation, search), stand_ins


def faster_alzantot(model_wrapper, threat_model, missing: set):
    stand_ins: list[str] = []
    transformation, distance = _candidates(threat_model, missing, 8, stand_ins)
    constraints = [RepeatModification(), StopwordModification(), MaxWordsPerturbed(max_percent=0.2)]
    if distance is not None:
        constraints.append(distance(max_mse_dist=0.5))
    if "l2w" in missing:
        constraints.append(WindowLanguageModelFilter(SMOLLM2, max_log_prob_diff=5.0, window_radius=3))
        stand_ins.append(
            "language model: SmolLM2-135M over 7-word windows (drop <= 5.0, against the original text) for "
            "the learning-to-write LM's 6-word windows"
        )
    else:
        from textattack.constraints.grammaticality.language_models import LearningToWriteLanguageModel

        constraints.append(LearningToWriteLanguageModel(window_size=6, max_log_prob_diff=5.0, compare_against_original=True))
    search = AlzantotGeneticAlgorithm(pop_size=60, max_iters=40, post_crossover_check=False)
    return Attack(UntargetedClassification(model_wrapper), constraints, transformation, search), stand_ins


BUILDERS = {"textfooler": textfooler, "alzantot": alzantot, "faster-alzantot": faster_alzantot}

# the resources (stock.REQUIREMENTS) each builder can replace, by the short key the builders read
REPLACEABLE = {"paragramcf", "tagger", "use", "google_lm", "tensorflow", "l2w"}


def stand_in_prerequisites(recipe: str, missing: set) -> list[str]:
    """What the stand-ins themselves need and lack here (the offline USE, the LM), as one-line reasons."""
    from textattack_rift.attack_recipes.language_model import check_lm_available
    from textattack_rift.attack_recipes.offline_use import PIP, offline_use_available
    from textattack_rift.errors import ResourceMissing

    lacking = []
    if "use" in missing and not offline_use_available():
        lacking.append(f"the offline USE ({PIP})")
    if missing & {"google_lm", "tensorflow", "l2w"}:
        try:
            check_lm_available(SMOLLM2)
        except ResourceMissing as error:
            lacking.append(str(error))
    return lacking
