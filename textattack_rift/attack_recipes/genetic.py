"""rift-genetic (alias rift-ga): the genetic attack the RIFT paper evaluates with.

``selection=paper`` (default) runs the RIFT authors' search (``attack/attack_algorithms/genetic_attack.py``
in dongxinshuai/RIFT-NeurIPS2021, Jia et al.'s variant of Alzantot et al. 2018), written as a TextAttack
search method in ``genetic_search.py``: population 60, 40 generations; parents drawn with probability
proportional to fitness (``1 - p_y``; for more than two classes ``sigmoid(-margin)``); uniform
crossover; a mutation at a uniformly drawn position that has choices sets it to whichever of its
choices (the original word included) gives the lowest ``p_y`` (the lowest margin for more than two
classes), so a swapped word can be re-swapped or reverted; the elite kept; success when TextAttack's
untargeted goal is reached (``p_y < 0.5`` for two classes). A word's choices are its candidates under the
threat model's constraints and the language-model filter, all judged against the ORIGINAL text once per
example (each (position, candidate) window scored once), as the authors' precomputed attack surface.

``selection=textattack`` runs TextAttack 0.3.11's ``AlzantotGeneticAlgorithm`` instead, kept so the two
can be compared. It differs from the paper's search: parents are drawn with probability proportional to
``exp(-score / 0.3)`` with ``score = 1 - p_y``, which favours the LEAST adversarial members; a mutation
draws its position in proportion to the number of candidates, keeps a swap only if it raises the score,
and never touches a swapped word again (``RepeatModification``); each crossover child is queried too.

Where ``selection=paper`` still differs from the authors' script:

- Words and candidates: TextAttack's words (punctuation split off) and the threat model's synonym set
  and constraints (stop words protected unless the threat model says otherwise, part of speech when
  ``pos_check`` is on, only the perturbable columns: the hypothesis of a pair) with capitalisation kept;
  the authors split on whitespace, lower-case the lookup, and perturb every hypothesis word that has
  neighbours in the counter-fitted table.
- Language model: the window filter of ``language_model.py`` (SmolLM2-135M by default, radius 6, a swap
  kept when its window log-probability is MORE than 5.0 below the original's, ``>``); the authors look up
  Jia et al.'s precomputed scores (``attack/lm_scores/*.txt``) and keep a swap at ``>= -5.0``.
- Order of choices: the original word first, then TextAttack's order (sorted by the resulting text);
  the authors' order is their score file's. It decides ties between equally good choices only.
- Random numbers: one NumPy generator per example drives the positions, crossover and parent draws,
  seeded from the option ``seed`` and the example's text, or (``seed`` unset, the default) from one draw
  of NumPy's global generator, which ``evaluate`` seeds per (attack, example) from its attack seed; the
  authors reseed Python's ``random`` with the same seed for every example (positions, crossover) and
  draw parents from NumPy's unseeded global generator. The crossover draws only at positions that have
  choices (the others are the original word in every member).
- Stopping: the search stops as soon as a mutation's chosen text succeeds; the authors finish the
  generation and look at the next one's start, and never look at the last generation they build (40
  generations checked of 41 populations), so a success found only in the last generation counts here
  and not there.
- Success: TextAttack's goal (the predicted class is not the label); the authors' ``p_y < 0.5`` (or
  margin < 0) differs only at an exact tie.
- Budgets and caps, absent in the paper: ``query_budget`` (every text a mutation evaluates is a query,
  repeats included, as the authors send each to the model); the threat model's ``max_word_ratio``
  (at most ``max(int(ratio * words), 1)`` words changed: mutations offer only the original word at an
  unchanged position once the cap is reached, and a crossover child over it is replaced by its first
  parent).
- No choices anywhere: the attack fails at once (the authors' script returns a malformed member).
- Batching: the authors batch model queries across examples (one process per example); here each
  example's new texts go to the model in the goal function's batches. Misclassified examples are
  skipped (TextAttack's ``SkippedAttackResult``), as the authors count them not robust.
"""

from __future__ import annotations

from textattack import Attack
from textattack.constraints import Constraint
from textattack.search_methods import AlzantotGeneticAlgorithm
from textattack.shared.validators import transformation_consists_of_word_swaps

from textattack_rift.attack_recipes.base import RiftRecipe, positive_float, positive_int, text
from textattack_rift.attack_recipes.genetic_search import PaperGeneticSearch, swap_limit
from textattack_rift.attack_recipes.language_model import MAX_LOG_PROB_DIFF, SMOLLM2, WINDOW_RADIUS, WindowLanguageModelFilter
from textattack_rift.errors import RiftUserError

NO_LM = {"none", "off", "no", "false", "0"}
SELECTIONS = ("paper", "textattack")


def one_of(name: str, allowed) -> callable:
    def parse(value):
        chosen = str(value).strip().lower() if value is not None else ""
        if chosen not in allowed:
            raise RiftUserError(f"recipe option {name} must be one of {', '.join(allowed)}, got {value!r}")
        return chosen

    return parse


def optional_non_negative_int(name: str) -> callable:
    def parse(value):
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise RiftUserError(f"recipe option {name} must be an integer >= 0, got {value!r}") from None
        if number < 0 or (isinstance(value, float) and value != number):
            raise RiftUserError(f"recipe option {name} must be an integer >= 0, got {value!r}")
        return number

    return parse


class SwapRateCap(Constraint):
    """At most ``max(int(rate * words), 1)`` words differ from the original (the threat model's
    ``max_word_ratio``, which TextAttack applies before a swap only). Crossover can join two parents'
    swaps, so ``selection=textattack`` checks its children against this cap."""

    def __init__(self, rate: float):
        super().__init__(compare_against_original=True)
        self.rate = rate

    def _check_constraint(self, transformed_text, reference_text):
        changed = sum(a != b for a, b in zip(transformed_text.words, reference_text.words))
        return changed <= swap_limit(self.rate, len(reference_text.words))

    def check_compatibility(self, transformation):
        return transformation_consists_of_word_swaps(transformation)

    def extra_repr_keys(self):
        return ["rate"]


class RiftGenetic(RiftRecipe):
    """Genetic attack with an optional language-model filter (``lm="none"`` switches it off); ``selection``
    picks the paper's search or TextAttack's; ``seed`` (an integer >= 0) seeds the paper's search per
    example together with the text (unset: from NumPy's global generator, as TextAttack's searches)."""

    name = "rift-genetic"
    OPTIONS = {
        "lm": (SMOLLM2, text("lm")),
        "pop_size": (60, positive_int("pop_size")),
        "max_iters": (40, positive_int("max_iters")),
        "lm_max_drop": (MAX_LOG_PROB_DIFF, positive_float("lm_max_drop")),
        "lm_window": (WINDOW_RADIUS, positive_int("lm_window")),
        "selection": ("paper", one_of("selection", SELECTIONS)),
        "seed": (None, optional_non_negative_int("seed")),
    }

    @classmethod
    def check_resources(cls, explicit=None) -> None:
        """The language model the filter would load (unless ``lm`` is none): ResourceMissing when absent."""
        from textattack_rift.attack_recipes.language_model import check_lm_available

        lm = cls.resolve_options(dict(explicit or {}))["lm"]
        if lm.lower() not in NO_LM:
            check_lm_available(lm)

    @classmethod
    def compose(cls, model_wrapper, threat_model, options):
        constraints = threat_model.constraints()
        lm_filter = None
        if options["lm"].lower() not in NO_LM:
            lm_filter = options["lm"]
            constraints.append(
                WindowLanguageModelFilter(
                    lm_filter,
                    threat_model=threat_model,
                    max_log_prob_diff=options["lm_max_drop"],
                    window_radius=options["lm_window"],
                )
            )
        selection = options["selection"]
        if selection == "paper":
            # The search caps the swaps itself (its choices are judged against the original text).
            search = PaperGeneticSearch(
                pop_size=options["pop_size"],
                max_iters=options["max_iters"],
                max_swaps_ratio=threat_model.max_word_ratio,
                seed=options["seed"],
            )
        else:
            capped = threat_model.max_word_ratio is not None
            if capped:
                constraints.append(SwapRateCap(threat_model.max_word_ratio))
            search = AlzantotGeneticAlgorithm(
                pop_size=options["pop_size"], max_iters=options["max_iters"], post_crossover_check=capped
            )
        attack = Attack(cls.goal_function(model_wrapper), constraints, threat_model.transformation(), search)
        record = {
            "lm_filter": lm_filter,
            "lm": lm_filter or "none",
            "selection": selection,
            "search": type(search).__name__,
            "pop_size": options["pop_size"],
            "max_iters": options["max_iters"],
            "seed": options["seed"] if selection == "paper" else None,
        }
        return attack, record
