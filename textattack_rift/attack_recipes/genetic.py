"""rift-genetic (alias rift-ga): the genetic attack of Alzantot et al. (2018) as Jia et al. (2019) run it.

Population 60, 40 iterations, parents sampled by fitness (softmax of scores, temperature 0.3), uniform
crossover, mutation that swaps one substitutable word for its best-scoring candidate: TextAttack's
``AlzantotGeneticAlgorithm``. Candidates and constraints come from the threat model; the language-model
filter (``language_model.py``) drops swaps that make the radius-6 window more than 5.0 nats less likely,
judged against the original text (each pair scored once per example), so children of crossover need no
re-check (as in Jia et al.).
"""

from __future__ import annotations

from textattack import Attack
from textattack.constraints import Constraint
from textattack.search_methods import AlzantotGeneticAlgorithm
from textattack.shared.validators import transformation_consists_of_word_swaps

from textattack_rift.attack_recipes.base import RiftRecipe, positive_float, positive_int, text
from textattack_rift.attack_recipes.language_model import MAX_LOG_PROB_DIFF, SMOLLM2, WINDOW_RADIUS, WindowLanguageModelFilter

NO_LM = {"none", "off", "no", "false", "0"}


class SwapRateCap(Constraint):
    """At most ``max(int(rate * words), 1)`` words differ from the original (the threat model's
    ``max_word_ratio``, which TextAttack applies before a swap only). Crossover can join two parents'
    swaps, so the genetic search checks its children against this cap."""

    def __init__(self, rate: float):
        super().__init__(compare_against_original=True)
        self.rate = rate

    def _check_constraint(self, transformed_text, reference_text):
        changed = sum(a != b for a, b in zip(transformed_text.words, reference_text.words))
        return changed <= max(int(self.rate * len(reference_text.words)), 1)

    def check_compatibility(self, transformation):
        return transformation_consists_of_word_swaps(transformation)

    def extra_repr_keys(self):
        return ["rate"]


class RiftGenetic(RiftRecipe):
    """Genetic attack with an optional language-model filter (``lm="none"`` switches it off)."""

    name = "rift-genetic"
    OPTIONS = {
        "lm": (SMOLLM2, text("lm")),
        "pop_size": (60, positive_int("pop_size")),
        "max_iters": (40, positive_int("max_iters")),
        "lm_max_drop": (MAX_LOG_PROB_DIFF, positive_float("lm_max_drop")),
        "lm_window": (WINDOW_RADIUS, positive_int("lm_window")),
    }

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
        capped = threat_model.max_word_ratio is not None
        if capped:
            constraints.append(SwapRateCap(threat_model.max_word_ratio))
        search = AlzantotGeneticAlgorithm(
            pop_size=options["pop_size"], max_iters=options["max_iters"], post_crossover_check=capped
        )
        attack = Attack(cls.goal_function(model_wrapper), constraints, threat_model.transformation(), search)
        return attack, {"lm_filter": lm_filter, "lm": lm_filter or "none"}
