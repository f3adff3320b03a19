"""rift-textfooler: TextFooler (Jin et al. 2019) over the threat model's synonyms, offline-capable.

Words ranked by how much deleting each one lowers the true class's score (TextAttack's
``GreedyWordSwapWIR("delete")``), then swapped greedily in that order. TextFooler's own candidates (50
counter-fitted embedding neighbours, cosine >= 0.5) are replaced by the threat model's; its NLTK tagger
part-of-speech check by the WordNet one (``threat.constraints.WordNetPartOfSpeech``). Its USE similarity
(>= 0.840845 angular over 15-word windows) is kept: TF-Hub's USE where ``tensorflow_hub`` and TF-Hub are
there, else (the default ``encoder=auto`` offline) USE-multilingual v3 from PyPI at the same angular
0.840845 and 15-word windows; ``encoder=minilm`` runs MiniLM with the cosine threshold that agrees best
with the offline USE (``sentence_encoder.MINILM_THRESHOLD``). Short texts are compared whole (TextFooler
skips them; see ``sentence_encoder``).
"""

from __future__ import annotations

from textattack import Attack
from textattack.search_methods import GreedyWordSwapWIR

from textattack_rift.attack_recipes.base import RiftRecipe, text
from textattack_rift.attack_recipes.sentence_encoder import encoder_choice, similarity_constraint
from textattack_rift.errors import RiftUserError


def _threshold(value):
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "default")):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RiftUserError(f"recipe option similarity must be a number in (0, 1], got {value!r}") from None
    if not 0.0 < number <= 1.0:
        raise RiftUserError(f"recipe option similarity must be a number in (0, 1], got {value!r}")
    return number


def candidate_constraints(threat_model) -> list:
    """The constraints a candidate passes before the similarity check judges it: the threat model's,
    plus the WordNet part-of-speech check when the threat model has none (also read by
    ``bench.similarity``, which scores the windows that reach the similarity check)."""
    from textattack_rift.threat.constraints import WordNetPartOfSpeech

    constraints = threat_model.constraints()
    if not threat_model.pos_check:
        constraints.append(WordNetPartOfSpeech())
    return constraints


def _encoder(value):
    # checked with the other options (before any model or data loads), not when the constraint is built
    return encoder_choice(text("encoder")(value))


class RiftTextFooler(RiftRecipe):
    """Deletion-ranked greedy swaps under the threat model, a WordNet POS check and a sentence-similarity
    check (``encoder``: auto/minilm/use/use-offline/none; ``similarity``: a threshold other than the
    encoder's own)."""

    name = "rift-textfooler"
    OPTIONS = {"encoder": ("auto", _encoder), "similarity": (None, _threshold)}

    @classmethod
    def check_resources(cls, explicit=None) -> None:
        options = cls.resolve_options(dict(explicit or {}))
        if options["encoder"] == "use-offline":
            from textattack_rift.attack_recipes.offline_use import PIP, offline_use_available
            from textattack_rift.errors import ResourceMissing

            if not offline_use_available():
                raise ResourceMissing(f"rift-textfooler encoder=use-offline needs the offline USE: {PIP}")

    @classmethod
    def compose(cls, model_wrapper, threat_model, options):
        constraints = candidate_constraints(threat_model)
        similarity, encoder = similarity_constraint(options["encoder"], options["similarity"])
        if similarity is not None:
            constraints.append(similarity)
        attack = Attack(
            cls.goal_function(model_wrapper), constraints, threat_model.transformation(), GreedyWordSwapWIR("delete")
        )
        record = {
            "sentence_encoder": encoder,
            "similarity": None if similarity is None else float(similarity.threshold),
            "pos_check": True,
        }
        return attack, record
