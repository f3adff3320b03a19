"""textattack-rift: RIFT robust fine-tuning and a shared synonym threat model for TextAttack.

Importing the package puts an offline NLTK data directory on NLTK's path (so that ``import textattack``
works without the internet) and nothing else; the public names below load lazily.
"""

from __future__ import annotations

from textattack_rift._lazy import lazy_exports
from textattack_rift.resources.nltk_data import bootstrap as _bootstrap_nltk

__version__ = "0.1.0.dev0"

_bootstrap_nltk()

# public name -> module that defines it (imported on first access, keeping `import` cheap)
_LAZY = {
    "register": "textattack_rift.integration.register",
    "RiftUserError": "textattack_rift.errors",
    "load_dataset": "textattack_rift.data",
    "load_textattack_dataset": "textattack_rift.data",
    "resolve_model_name": "textattack_rift.models.names",
    "load_model": "textattack_rift.models.loading",
    "register_model": "textattack_rift.models.registry",
    "evaluate": "textattack_rift.evaluation.runner",
    "ThreatModel": "textattack_rift.threat.threat_model",
    "SynonymSet": "textattack_rift.threat.synonyms.base",
    "CandidateBuilder": "textattack_rift.threat.candidates",
    "RiftArgs": "textattack_rift.training.args",
    "RiftTrainer": "textattack_rift.training.trainer",
    "train_model": "textattack_rift.training.api",
    "build_attack": "textattack_rift.attack_recipes",
    "run_recipe": "textattack_rift.experiments.run",
}

__all__ = ["__version__", *_LAZY]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
