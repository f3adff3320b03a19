"""Attacking examples: the attacks built once per process, one record per (attack, example), and the
two functions a pool worker process runs (``init_worker`` once, ``attack_pair`` per pair).

Before each (attack, example) the random generators are seeded from (seed, attack, example), so a
randomised search (the genetic attack) gives the same result whether the example runs first, after a
resume, in another worker or in another shard.
"""

from __future__ import annotations

import hashlib
import time
from typing import Callable, Mapping, Sequence

from textattack_rift.evaluation.records import perturbable_word_count, record_from_result

# (example index, inputs column -> text, label)
Example = tuple[int, dict, int]


def pair_seed(seed: int, attack: str, example: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{attack}:{example}".encode()).digest()[:4], "little")


class AttackSet:
    """The evaluation's attacks against one model wrapper, each built on first use, with the settings
    each one resolved to (``settings.attack_settings``)."""

    def __init__(self, model_wrapper, threat_model, options: Mapping[str, Mapping]):
        self.model_wrapper = model_wrapper
        self.threat_model = threat_model
        self.options = options
        self._built: dict = {}
        self._settings: dict = {}

    def get(self, name: str):
        if name not in self._built:
            from textattack_rift.attack_recipes import build_attack

            self._built[name] = build_attack(name, self.model_wrapper, self.threat_model, **dict(self.options.get(name) or {}))
        return self._built[name]

    def settings(self, name: str) -> dict:
        """Everything the attack ``name`` runs with (built first if needed); kept after ``release``."""
        if name not in self._settings:
            from textattack_rift.evaluation.settings import attack_settings

            self._settings[name] = attack_settings(name, self.get(name))
        return self._settings[name]

    def release(self, name: str) -> None:
        """Drop a finished attack (and, with it, e.g. the genetic attack's language model)."""
        self._built.pop(name, None)

    def close(self) -> None:
        """Drop every attack and the model (the settings stay), e.g. before pool workers load theirs."""
        self._built.clear()
        self.model_wrapper = None
        import gc

        import torch

        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # this process keeps no GPU memory the workers could use


def load_attack_set(model_path: str, threat_model, options: Mapping[str, Mapping], device=None) -> AttackSet:
    """The model (on ``device``, None: TextAttack's device) and its attacks (built on first use)."""
    from textattack_rift.models.loading import load_model

    return AttackSet(load_model(model_path, device=device), threat_model, options)


def attack_one(attacks: AttackSet, name: str, example: Example, seed: int) -> dict:
    from collections import OrderedDict

    from textattack.shared.utils import set_seed

    index, inputs, label = example
    attack = attacks.get(name)
    settings = attacks.settings(name)
    threat = getattr(attack, "rift_threat_model", None)
    set_seed(pair_seed(seed, name, index))
    started = time.perf_counter()
    result = attack.attack(OrderedDict(inputs), int(label))
    seconds = time.perf_counter() - started
    fingerprint = threat.fingerprint if threat is not None else None
    words = perturbable_word_count(attack, result.original_result.attacked_text)
    return record_from_result(
        name, index, result, seconds, fingerprint, getattr(attack, "rift_options", None), settings, num_words=words
    )


def run_pairs(
    attacks: AttackSet,
    work: Sequence[tuple[str, Example]],
    seed: int,
    append: Callable[[dict], None],
    on_record: Callable[[dict], None] = lambda record: None,
) -> None:
    """Attack each (attack name, example) in order in this process, appending each record as soon as
    it exists; an attack is released once its last pair is done."""
    last = {name: i for i, (name, _) in enumerate(work)}
    for i, (name, example) in enumerate(work):
        record = attack_one(attacks, name, example, seed)
        append(record)
        on_record(record)
        if last[name] == i:
            attacks.release(name)


# -- a pool worker process ----------------------------------------------------------------------
_WORKER: dict = {}  # this process's attacks and seed, set by init_worker


def init_worker(job: dict) -> None:
    """Pool initializer: load the model (on the parent's TextAttack device) and prepare its attacks,
    once per worker process. ``job``: model_path, threat_model, options, seed, device, threads."""
    import torch

    torch.set_num_threads(max(1, int(job["threads"])))
    import textattack_rift  # noqa: F401  (offline NLTK data before TextAttack)
    import textattack

    # the attacks are built by name from the recipes (stock ones already checked by the parent), so
    # nothing needs registering in TextAttack here. The parent's device, also when it was set in code
    # rather than through $TA_DEVICE:
    textattack.shared.utils.device = torch.device(job["device"])
    _WORKER["attacks"] = load_attack_set(job["model_path"], job["threat_model"], job["options"], device=job["device"])
    _WORKER["seed"] = int(job["seed"])


def attack_pair(name: str, example: Example) -> dict:
    """Pool task: attack one (attack, example) pair in this worker; the record goes back to the parent,
    which alone writes it."""
    return attack_one(_WORKER["attacks"], name, example, _WORKER["seed"])
