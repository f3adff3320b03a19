"""The RIFT authors' genetic search (Jia et al.'s variant of Alzantot et al.) as a TextAttack search method.

What it does, per example (RIFT-SPEC section 4; ``attack/attack_algorithms/genetic_attack.py`` in
dongxinshuai/RIFT-NeurIPS2021 is the reference; ``attack_recipes/genetic.py`` lists where we differ):

- the CHOICES of each word are fixed once, from the original text: the original word first, then every
  candidate the attack's transformation offers there and its constraints (the language-model filter
  among them) keep, all judged against the original text; positions with at least one candidate are
  the positions the search may change;
- the initial population is ``pop_size`` mutations of the original text;
- a MUTATION draws one of those positions uniformly and puts there whichever of its choices gives the
  lowest objective (``p_y`` for two classes, the margin ``log p_y - max_{c != y} log p_c`` for more), the
  word already there and the original word included: a swapped word can be re-swapped or reverted;
- each generation keeps the elite (lowest objective) and makes ``pop_size - 1`` children: two parents
  drawn independently with probability proportional to their fitness (``1 - p_y + 1e-8`` for two
  classes, ``sigmoid(-margin) + 1e-4`` for more: the authors' two formulas), a uniform crossover (each
  position from either parent), then one mutation;
- it stops as soon as a mutation's chosen text reaches TextAttack's goal (``p_y < 0.5`` for two classes),
  when the query budget is spent, or after ``max_iters`` generations; it returns that text, or the best
  member so far.

With ``max_swaps_ratio`` (the threat model's ``max_word_ratio``) at most ``max(int(ratio * words), 1)``
words differ from the original: a mutation at an unchanged word offers only the original word once the
cap is reached, and a crossover child over the cap is replaced by its first parent.

Queries: every text a mutation evaluates counts as one query (the authors send each to the model), a
repeat included; TextAttack's own genetic search counts the same way. Repeats are looked up, not
re-run through the model.

Two implementations of the same decisions, seeded identically (a NumPy generator per example: from
``seed`` and the original text, so that an example's attack does not depend on which examples ran
before, or with ``seed=None`` from one draw of NumPy's global generator, which ``evaluate`` seeds per
(attack, example) and TextAttack's ``--random-seed`` once):

- ``fast=True`` (default) keeps members as arrays of choice indices, looks every evaluated text up in
  a per-example table, and builds an ``AttackedText`` only for a text the model has not scored yet,
  by pasting the words into the original's layout (checked once per example against TextAttack's own
  ``generate_new_attacked_text``, which is used instead if they disagree);
- ``fast=False`` is the straightforward TextAttack-object path: word lists, an ``AttackedText`` per
  evaluated text built with ``generate_new_attacked_text``, the goal function's cache for repeats.

Both hand the goal function the same texts not seen before, in the same order and batches, so their
results (perturbed text, outcome, queries) are identical; tests check this, ``bench attack`` shows it.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections import OrderedDict

import numpy as np
from textattack.goal_function_results import GoalFunctionResultStatus
from textattack.goal_functions import UntargetedClassification
from textattack.search_methods import SearchMethod
from textattack.shared import AttackedText
from textattack.shared.validators import transformation_consists_of_word_swaps

SPLIT = AttackedText.SPLIT_TOKEN
# The authors' additive terms that keep every member's selection probability above zero.
BINARY_FITNESS_EPS = 1e-8
MARGIN_FITNESS_EPS = 1e-4


def swap_limit(ratio: float | None, num_words: int) -> int | None:
    """At most this many words may differ from the original (None: no cap); the rule of ``SwapRateCap``
    and ``rift-ascc``."""
    return None if ratio is None else max(int(ratio * num_words), 1)


# -- what the search minimises ----------------------------------------------------------------------
def objective_kind(goal_function, initial_result) -> str:
    """``p_y`` (untargeted, two classes), ``margin`` (untargeted, more classes), or ``score`` (any other
    goal function: minimise minus TextAttack's score)."""
    width = int(np.size(initial_result.raw_output))
    if isinstance(goal_function, UntargetedClassification) and not isinstance(goal_function.ground_truth_output, float):
        if width == 2:
            return "p_y"
        if width > 2:
            return "margin"
    return "score"


def objective(kind: str, row: list[float], label, score) -> float:
    """The value a mutation minimises, from the goal function's probabilities ``row``. The margin is
    taken in log-probabilities, equal to the logit margin the authors use (softmax keeps differences)."""
    if kind == "p_y":
        return row[label]
    if kind == "margin":
        others = max(p for c, p in enumerate(row) if c != label)
        return _log(row[label]) - _log(others)
    return -float(score)


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -math.inf


def selection_probabilities(kind: str, objectives) -> np.ndarray:
    """Each member's chance to be drawn as a parent: proportional to its fitness, the authors' formulas."""
    values = np.asarray(objectives, dtype=np.float64)
    if kind == "p_y":
        fitness = 1.0 - values + BINARY_FITNESS_EPS
    elif kind == "margin":
        with np.errstate(over="ignore"):
            fitness = 1.0 / (1.0 + np.exp(values)) + MARGIN_FITNESS_EPS
    else:
        fitness = np.maximum(-values, 0.0) + BINARY_FITNESS_EPS
    return fitness / fitness.sum()


def first_min(values) -> int:
    """Index of the first smallest value (the authors' ``min(enumerate(...))``)."""
    best = 0
    for index in range(1, len(values)):
        if values[index] < values[best]:
            best = index
    return best


def example_rng(seed: int | None, original: AttackedText) -> np.random.Generator:
    """The example's generator: from ``seed`` and the text (the same attack whatever ran before), or,
    with no seed, from one draw of NumPy's global generator (which TextAttack's ``--random-seed`` and
    ``evaluate``'s per-(attack, example) seeding set, as for TextAttack's own searches)."""
    if seed is None:
        return np.random.default_rng(int(np.random.randint(0, 2**63 - 1, dtype=np.int64)))
    digest = hashlib.sha256(f"{int(seed)}\n{original.text}".encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


# -- the original text's layout ---------------------------------------------------------------------
def joined_input(text: AttackedText) -> str:
    """All columns of ``text`` joined by TextAttack's split token (what ``generate_new_attacked_text`` edits)."""
    value = text.tokenizer_input
    return value if isinstance(value, str) else SPLIT.join(value)


def _locate(remaining: str, word: str) -> int:
    """Where ``generate_new_attacked_text`` finds ``word`` in ``remaining`` (its split-token detour included)."""
    if word in SPLIT and SPLIT in remaining:
        split_start = remaining.index(SPLIT)
        if split_start <= remaining.index(word) < split_start + len(SPLIT):
            return remaining.replace(SPLIT, "").index(word) + len(SPLIT)
    return remaining.index(word)


class TextLayout:
    """The original text cut into the text between words (``gaps``) and after the last word (``tail``),
    found as ``generate_new_attacked_text`` finds them, so that pasting words back into the gaps gives
    the text it would build for them."""

    def __init__(self, original: AttackedText):
        remaining = joined_input(original)
        self.gaps: list[str] = []
        for word in original.words:
            start = _locate(remaining, word)
            self.gaps.append(remaining[:start])
            remaining = remaining[start + len(word) :]
        self.tail = remaining
        self.columns = original.column_labels
        self.words = list(original.words)
        self.text = self.joined(self.words)
        # Where each word sits in ``self.text``: a one-word swap at i keeps text[:start] and text[end:].
        self.starts, self.ends = [], []
        offset = 0
        for gap, word in zip(self.gaps, self.words):
            offset += len(gap)
            self.starts.append(offset)
            offset += len(word)
            self.ends.append(offset)

    def joined(self, words) -> str:
        return "".join(gap + word for gap, word in zip(self.gaps, words)) + self.tail

    def word_in(self, joined: str, index: int) -> str | None:
        """The word at ``index`` of ``joined``, a text that differs from the original at ``index`` only
        (None if it is not such a text)."""
        start, kept_after = self.starts[index], len(self.text) - self.ends[index]
        if len(joined) < start + kept_after or joined[:start] != self.text[:start]:
            return None
        if joined[len(joined) - kept_after :] != self.text[self.ends[index] :]:
            return None
        return joined[start : len(joined) - kept_after]


def columns_of(layout: TextLayout, joined: str) -> OrderedDict:
    return OrderedDict(zip(layout.columns, joined.split(SPLIT)))


# ``AttackedText.__init__`` splits the text into words at once (``setdefault`` evaluates its default,
# ``np.arange(self.num_words)``, even when the attribute is given), the largest framework cost of a query.
# A text built for the model only needs its columns and attributes, so it is assembled with the fields
# ``__init__`` sets (TextAttack 0.3.11's), its words left to be split lazily if anyone asks.
_FIELDS = ("_text_input", "_words", "_words_per_input", "_pos_tags", "_ner_tags", "attack_attrs")


@functools.lru_cache(maxsize=1)
def _fields_match() -> bool:
    return set(vars(AttackedText("probe"))) == set(_FIELDS)


def lazy_attacked_text(columns: OrderedDict, attack_attrs: dict) -> AttackedText:
    """An ``AttackedText`` equal to ``AttackedText(columns, attack_attrs)`` (which must hold
    ``original_index_map`` and ``modified_indices``), without splitting its words up front."""
    if not _fields_match():  # another TextAttack: its own constructor
        return AttackedText(columns, attack_attrs=attack_attrs)
    text = AttackedText.__new__(AttackedText)
    text._text_input = columns
    text._words = text._words_per_input = text._pos_tags = text._ner_tags = None
    text.attack_attrs = attack_attrs
    return text


# -- the search -------------------------------------------------------------------------------------
class _Setup:
    """What both implementations share for one example: the choices, the cap, the objective, the RNG."""

    def __init__(self, search, initial_result):
        self.original = original = initial_result.attacked_text
        self.label = search.goal_function.ground_truth_output
        self.kind = objective_kind(search.goal_function, initial_result)
        self.layout = TextLayout(original)
        self.positions, self.choices = search.word_choices(original, self.layout)
        self.limit = swap_limit(search.max_swaps_ratio, len(self.layout.words))
        self.rng = example_rng(search.seed, original)

    def objective_of(self, result) -> float:
        return objective(self.kind, np.asarray(result.raw_output).tolist(), self.label, result.score)


class PaperGeneticSearch(SearchMethod):
    """The RIFT authors' genetic search (see the module docstring).

    Args:
        pop_size: population size (the paper: 60).
        max_iters: generations after the initial population (the paper: 40).
        max_swaps_ratio: the threat model's ``max_word_ratio`` (None: no cap, as in the paper).
        seed: seeds each example's generator together with its text (None: from NumPy's global generator).
        fast: the word-list implementation (True) or the TextAttack-object one (False); same results.
    """

    def __init__(self, pop_size: int = 60, max_iters: int = 40, max_swaps_ratio: float | None = None,
                 seed: int | None = None, fast: bool = True):
        self.pop_size = int(pop_size)
        self.max_iters = int(max_iters)
        self.max_swaps_ratio = max_swaps_ratio
        self.seed = None if seed is None else int(seed)
        self.fast = bool(fast)

    # -- shared parts -------------------------------------------------------------------------------
    def word_choices(self, original: AttackedText, layout: TextLayout) -> tuple[list[int], list[list[str]]]:
        """``(positions, choices)``: the word positions that have at least one candidate, and for each the
        words allowed there, the original first, then the candidates in TextAttack's order (it sorts the
        transformations by text); every constraint judged against the original text."""
        found: dict[int, list[str]] = {}
        for text in self.get_transformations(original, original_text=original):
            modified = text.attack_attrs.get("newly_modified_indices") or ()
            if not modified:
                continue
            index = min(modified)
            word = layout.word_in(joined_input(text), index)
            if word is None or word == layout.words[index]:
                continue  # not a one-word swap of the original (cannot happen with a WordSwap)
            entry = found.setdefault(index, [layout.words[index]])
            if word not in entry:
                entry.append(word)
        positions = sorted(found)
        return positions, [found[i] for i in positions]

    def perform_search(self, initial_result):
        setup = _Setup(self, initial_result)
        if not setup.positions:
            return initial_result
        if self.fast:
            return _FastRun(self, setup, initial_result).run()
        return _ReferenceRun(self, setup, initial_result).run()

    def _draw_generation(self, rng: np.random.Generator, probabilities: np.ndarray, num_positions: int):
        """One generation's random choices, drawn up front in one fixed order by both implementations:
        parent pairs, crossover masks (True: the word comes from the second parent), mutation positions."""
        children = self.pop_size - 1
        parents = rng.choice(len(probabilities), size=(children, 2), p=probabilities)
        from_second = rng.random((children, num_positions)) < 0.5
        positions = rng.integers(num_positions, size=children)
        return parents, from_second, positions

    def check_transformation_compatibility(self, transformation):
        return transformation_consists_of_word_swaps(transformation)

    @property
    def is_black_box(self):
        return True

    def extra_repr_keys(self):
        return ["pop_size", "max_iters", "max_swaps_ratio", "seed", "fast"]


class _Run:
    """The search loop, one for both implementations; the subclasses hold members their own way.

    A member is whatever ``mutate`` returns; ``objective_of_member``, ``succeeded`` and ``result_of``
    read it; ``crossover`` makes a child from two members.
    """

    def __init__(self, search: PaperGeneticSearch, setup: _Setup, initial_result):
        self.search, self.setup, self.initial_result = search, setup, initial_result
        self.goal_function = search.goal_function

    def run(self):
        search, setup = self.search, self.setup
        m = len(setup.positions)
        population = []
        for position in setup.rng.integers(m, size=search.pop_size):
            member, over = self.mutate(self.start_member(), int(position))
            if member is not None:
                population.append(member)
                if self.succeeded(member):
                    return self.result_of(member)
            if over:
                return self.best_of(population)
        for _ in range(search.max_iters):
            objectives = [self.objective_of_member(p) for p in population]
            children = [population[first_min(objectives)]]
            probabilities = selection_probabilities(setup.kind, objectives)
            parents, from_second, positions = search._draw_generation(setup.rng, probabilities, m)
            for k in range(search.pop_size - 1):
                child = self.crossover(population[parents[k, 0]], population[parents[k, 1]], from_second[k])
                member, over = self.mutate(child, int(positions[k]))
                if member is not None:
                    children.append(member)
                    if self.succeeded(member):
                        return self.result_of(member)
                if over:
                    return self.best_of(children)
            population = children
        return self.best_of(population)

    def best_of(self, members):
        if not members:
            return self.initial_result
        return self.result_of(members[first_min([self.objective_of_member(p) for p in members])])

    def budget_left(self) -> float:
        budget = self.goal_function.query_budget
        return budget - self.goal_function.num_queries if budget < float("inf") else float("inf")

    def budget_spent(self) -> bool:
        return self.goal_function.num_queries == self.goal_function.query_budget


class _ReferenceRun(_Run):
    """Members are ``(words, AttackedText, result, objective)``; every evaluated text is an AttackedText
    built from the original with ``generate_new_attacked_text`` and goes through the goal function."""

    def start_member(self):
        return list(self.setup.layout.words)

    def crossover(self, first, second, from_second):
        words = list(first[0])
        for k, index in enumerate(self.setup.positions):
            if from_second[k]:
                words[index] = second[0][index]
        if self.setup.limit is not None and self._changed(words) > self.setup.limit:
            words = list(first[0])
        return words

    def _changed(self, words) -> int:
        return sum(a != b for a, b in zip(words, self.setup.layout.words))

    def mutate(self, words, k):
        setup = self.setup
        index = setup.positions[k]
        original_word = setup.layout.words[index]
        elsewhere = self._changed(words) - (words[index] != original_word)
        allowed = setup.choices[k] if setup.limit is None or elsewhere < setup.limit else [words[index]]
        texts = [setup.original.generate_new_attacked_text(words[:index] + [w] + words[index + 1 :]) for w in allowed]
        results, over = self.search.get_goal_results(texts)
        if not results:
            return None, over
        objectives = [setup.objective_of(r) for r in results]
        best = first_min(objectives)
        chosen = words[:index] + [allowed[best]] + words[index + 1 :]
        return (chosen, texts[best], results[best], objectives[best]), over

    def objective_of_member(self, member):
        return member[3]

    def succeeded(self, member):
        return member[2].goal_status == GoalFunctionResultStatus.SUCCEEDED

    def result_of(self, member):
        return member[2]


class _FastRun(_Run):
    """Members are ``(choice indices over the changeable positions, entry)``, ``entry`` the per-example
    table's ``(objective, succeeded, result)`` of the member's text; texts are built only for the model."""

    def __init__(self, search, setup, initial_result):
        super().__init__(search, setup, initial_result)
        layout, positions = setup.layout, setup.positions
        # The text between changeable positions never changes: keep it as ``m + 1`` fixed chunks.
        pieces = [gap + word for gap, word in zip(layout.gaps, layout.words)]
        self.chunks = []
        start = 0
        for index in positions:
            self.chunks.append("".join(pieces[start:index]) + layout.gaps[index])
            start = index + 1
        self.chunks.append("".join(pieces[start:]) + layout.tail)
        self.table: dict[bytes, tuple] = {}
        self.label_names = setup.original.attack_attrs.get("label_names")
        self.paste_ok = self._check_paste()

    def _check_paste(self) -> bool:
        """Pasting words into the layout must give TextAttack's text; checked once, with every
        changeable position swapped."""
        probe = [len(c) - 1 for c in self.setup.choices]
        built = self.setup.original.generate_new_attacked_text(self._words(probe))
        return joined_input(built) == self._joined(probe)

    def _words(self, member) -> list[str]:
        words = list(self.setup.layout.words)
        for k, index in enumerate(self.setup.positions):
            words[index] = self.setup.choices[k][member[k]]
        return words

    def _joined(self, member) -> str:
        parts = [self.chunks[0]]
        for k, chunk in enumerate(self.chunks[1:]):
            parts.append(self.setup.choices[k][member[k]])
            parts.append(chunk)
        return "".join(parts)

    def _attacked_text(self, member) -> AttackedText:
        """The AttackedText TextAttack would build from the original for this member: the same text and
        the same attribute keys (the goal function's cache compares texts and the number of keys)."""
        original = self.setup.original
        if not self.paste_ok:
            return original.generate_new_attacked_text(self._words(member))
        changed = {self.setup.positions[k] for k in np.flatnonzero(member)}
        attrs = {}
        if self.label_names is not None:
            attrs["label_names"] = self.label_names
        attrs["newly_modified_indices"] = set(changed)
        attrs["previous_attacked_text"] = original
        attrs["modified_indices"] = original.attack_attrs["modified_indices"] | changed
        attrs["original_index_map"] = original.attack_attrs["original_index_map"].copy()
        return lazy_attacked_text(columns_of(self.setup.layout, self._joined(member)), attrs)

    def start_member(self):
        return np.zeros(len(self.setup.positions), dtype=np.int32)

    def crossover(self, first, second, from_second):
        child = np.where(from_second, second[0], first[0])
        limit = self.setup.limit
        if limit is not None and np.count_nonzero(child) > limit:
            child = first[0].copy()
        return child

    def mutate(self, child, k):
        limit = self.setup.limit
        current = int(child[k])
        elsewhere = np.count_nonzero(child) - (current != 0)
        if limit is None or elsewhere < limit:
            allowed = list(range(len(self.setup.choices[k])))
        else:
            allowed = [current]
        left = self.budget_left()
        if left < len(allowed):
            allowed = allowed[: int(left)]
        candidates, keys = [], []
        for choice in allowed:
            candidate = child.copy()
            candidate[k] = choice
            candidates.append(candidate)
            keys.append(candidate.tobytes())
        missing = [i for i, key in enumerate(keys) if key not in self.table]
        if missing:
            texts = [self._attacked_text(candidates[i]) for i in missing]
            results, _ = self.search.get_goal_results(texts)
            for i, result in zip(missing, results):
                succeeded = result.goal_status == GoalFunctionResultStatus.SUCCEEDED
                self.table[keys[i]] = (self.setup.objective_of(result), succeeded, result, candidates[i])
        # A repeat is a query too (TextAttack's goal function counts its cache hits the same way).
        self.goal_function.num_queries += len(keys) - len(missing)
        over = self.budget_spent()
        if not keys:
            return None, over
        entries = [self.table[key] for key in keys]
        best = first_min([entry[0] for entry in entries])
        return (candidates[best], entries[best]), over

    def objective_of_member(self, member):
        return member[1][0]

    def succeeded(self, member):
        return member[1][1]

    def result_of(self, member):
        result = member[1][2]
        # The final text as TextAttack builds it (attributes and all), whatever path built the query.
        result.attacked_text = self.setup.original.generate_new_attacked_text(self._words(member[0]))
        return result
