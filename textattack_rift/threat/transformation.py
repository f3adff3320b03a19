"""A TextAttack word swap that draws its candidates from a threat model's synonym set."""

from __future__ import annotations

from textattack.transformations import WordSwap


class ThreatModelWordSwap(WordSwap):
    """Swap a word for one of its synonyms (capitalisation kept), as the threat model allows.

    ``ThreatModelWordSwap()`` uses the default threat model (the ``wordnet`` set) so that TextAttack's
    ``--transformation`` can build it by name; ``synonyms`` takes ``counterfitted``/``wordnet``/a path,
    ``threat_model`` a whole :class:`~textattack_rift.threat.threat_model.ThreatModel`. The set itself is
    loaded at the first swap.
    """

    def __init__(self, threat_model=None, synonyms=None):
        super().__init__()
        from textattack_rift.threat.threat_model import ThreatModel

        if threat_model is not None and synonyms is not None:
            raise TypeError("give threat_model or synonyms, not both")
        if threat_model is None:
            threat_model = ThreatModel(synonyms if synonyms is not None else "wordnet")
        elif not isinstance(threat_model, ThreatModel):
            raise TypeError(f"threat_model must be a ThreatModel, got {type(threat_model).__name__}")
        self.threat_model = threat_model
        self.synonyms_name = threat_model.synonym_label  # for TextAttack's repr, without loading the set

    def _get_replacement_words(self, word):
        return self.threat_model.synonyms.recased_candidates(word)

    def extra_repr_keys(self):
        return ["synonyms_name"]
