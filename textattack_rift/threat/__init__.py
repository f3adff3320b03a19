"""The threat model shared by training and every attack: which words may become which words.

A word may be swapped for one of its synonyms (from one named :class:`SynonymSet`), in any
combination, under a few constraints (stop words, one swap per word, an optional ratio, an optional
part-of-speech check, the perturbable input columns). :class:`ThreatModel` holds all of that, saves it
as ``threat_model.json`` and gives the attack recipes their TextAttack transformation and constraints;
:class:`CandidateBuilder` turns it into the sub-token candidate tensors of RIFT's embedding-space
adversary.

Importing this package is cheap: each public name loads its module (TextAttack, torch) on first use.
"""

from __future__ import annotations

from textattack_rift._lazy import lazy_exports

# public name -> module that defines it
_LAZY = {
    "ThreatModel": "textattack_rift.threat.threat_model",
    "SynonymSet": "textattack_rift.threat.synonyms.base",
    "build_synonym_set": "textattack_rift.threat.synonyms.registry",
    "describe_synonym_sets": "textattack_rift.threat.synonyms.registry",
    "CandidateBuilder": "textattack_rift.threat.candidates",
    "CandidateTensors": "textattack_rift.threat.candidates",
    "ThreatModelWordSwap": "textattack_rift.threat.transformation",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
