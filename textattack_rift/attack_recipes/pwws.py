"""rift-pwws: PWWS (Ren et al. 2019) over the threat model's synonyms instead of raw WordNet."""

from __future__ import annotations

from textattack import Attack
from textattack.search_methods import GreedyWordSwapWIR

from textattack_rift.attack_recipes.base import RiftRecipe


class RiftPWWS(RiftRecipe):
    """Probability-weighted word saliency ranking (TextAttack's ``GreedyWordSwapWIR("weighted-saliency")``),
    then greedy swaps in that order; candidates and constraints from the threat model."""

    name = "rift-pwws"

    @classmethod
    def compose(cls, model_wrapper, threat_model, options):
        attack = Attack(
            cls.goal_function(model_wrapper),
            threat_model.constraints(),
            threat_model.transformation(),
            GreedyWordSwapWIR("weighted-saliency"),
        )
        return attack, {}
