"""The TextAttack word swap over a threat model's synonyms, under its historical import path.

The class is defined beside :class:`~textattack_rift.threat.threat_model.ThreatModel` (each needs the
other: see that module's docstring); importing it from here keeps ``textattack_rift.threat.transformation.
ThreatModelWordSwap`` working for TextAttack's name tables, pickles and user code.
"""

from __future__ import annotations

from textattack_rift.threat.threat_model import ThreatModelWordSwap

__all__ = ["ThreatModelWordSwap"]
