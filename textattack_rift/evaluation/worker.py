"""Attacking examples: the attacks built once per process, one record per (attack, example), and the
entry point of a ``--parallel`` worker process.

Before each (attack, example) the random generators are seeded from (seed, attack, example), so a
randomised search (the genetic attack) gives the same result whether the example runs first, after a
resume, or in another worker.
"""

from __future__ import annotations

import hashlib
import time
import traceback
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from textattack_rift.evaluation.records import ResultsStore, record_from_result

# (example index, inputs column -> text, label)
Example = tuple[int, dict, int]


def pair_seed(seed: int, attack: str, example: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{attack}:{example}".encode()).digest()[:4], "little")


class AttackSet:
    """The evaluation's attacks against one model wrapper, each built on first use."""

    def __init__(self, model_wrapper, threat_model, options: Mapping[str, Mapping]):
        self.model_wrapper = model_wrapper
        self.threat_model = threat_model
        self.options = options
        self._built: dict = {}

    def get(self, name: str):
        if name not in self._built:
            from textattack_rift.attack_recipes import build_attack

            self._built[name] = build_attack(name, self.model_wrapper, self.threat_model, **dict(self.options.get(name) or {}))
        return self._built[name]

    def release(self, name: str) -> None:
        """Drop a finished attack (and, with it, e.g. the genetic attack's language model)."""
        self._built.pop(name, None)


def attack_one(attacks: AttackSet, name: str, example: Example, seed: int) -> dict:
    from collections import OrderedDict

    from textattack.shared.utils import set_seed

    index, inputs, label = example
    attack = attacks.get(name)
    threat = getattr(attack, "rift_threat_model", None)
    set_seed(pair_seed(seed, name, index))
    started = time.perf_counter()
    result = attack.attack(OrderedDict(inputs), int(label))
    seconds = time.perf_counter() - started
    fingerprint = threat.fingerprint if threat is not None else None
    return record_from_result(name, index, result, seconds, fingerprint, getattr(attack, "rift_options", None))


def run_pairs(
    attacks: AttackSet,
    work: Sequence[tuple[str, Example]],
    seed: int,
    append: Callable[[dict], None],
    on_record: Callable[[dict], None] = lambda record: None,
) -> None:
    """Attack each (attack name, example) in order, appending each record as soon as it exists; an
    attack is released once its last pair is done."""
    last = {name: i for i, (name, _) in enumerate(work)}
    for i, (name, example) in enumerate(work):
        record = attack_one(attacks, name, example, seed)
        append(record)
        on_record(record)
        if last[name] == i:
            attacks.release(name)


def worker_main(rank: int, job: dict, queue) -> None:
    """A ``--parallel`` worker: load the model, attack its share, append to its own part file, and
    report each record's status (or its error) on ``queue``."""
    try:
        import torch

        torch.set_num_threads(max(1, int(job["threads"])))
        import textattack_rift  # noqa: F401  (offline NLTK data before TextAttack)
        from textattack_rift.integration.register import register
        from textattack_rift.models.loading import load_model

        register()
        wrapper = load_model(job["model_path"])
        attacks = AttackSet(wrapper, job["threat_model"], job["options"])
        store = ResultsStore(Path(job["directory"]))
        with store.appender(store.part_path(rank)) as out:
            run_pairs(attacks, job["work"], job["seed"], out.append, lambda r: queue.put(("record", rank, r["status"])))
        queue.put(("finished", rank, None))
    except BaseException as err:  # reported to the parent, which stops the others and raises
        from textattack_rift.errors import RiftUserError

        kind = "user-error" if isinstance(err, RiftUserError) else "error"
        queue.put((kind, rank, str(err) if kind == "user-error" else traceback.format_exc()))


def shard(work: Iterable[tuple[str, Example]], workers: int) -> list[list[tuple[str, Example]]]:
    """Split the pending pairs by example (round robin), keeping the attack-major order in each share."""
    work = list(work)
    examples = sorted({example[0] for _, example in work})
    owner = {index: i % workers for i, index in enumerate(examples)}
    shares: list[list] = [[] for _ in range(workers)]
    for name, example in work:
        shares[owner[example[0]]].append((name, example))
    return [s for s in shares if s]
