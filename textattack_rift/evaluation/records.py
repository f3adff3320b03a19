"""Per-example results as JSON lines: one line per (attack, example), appended and flushed as it is made.

A record: ``attack``, ``example`` (row index in the split), ``status`` (``succeeded``: the prediction
flipped; ``failed``: it held; ``skipped``: the clean prediction was already wrong), ``correct``,
``ground_truth``, ``original_output`` / ``perturbed_output`` (predicted labels), ``original_text`` /
``perturbed_text``, ``queries``, ``words_changed``, ``num_words``, ``words_changed_share``,
``seconds``, ``threat_fingerprint`` (None for a stock recipe), ``recipe_options`` (the recipe's options
in effect, e.g. whether the genetic attack's language-model filter was on), ``settings`` (everything the
attack ran with, see ``settings.attack_settings``; compared on resume) and ``finished_at``.

Words changed: ``words_changed`` counts the words of the original text that differ in the perturbed
one (0 when skipped); ``num_words`` counts the words the attack may change, those of its perturbable
columns (``perturbable_word_count``): for a premise/hypothesis pair under the default rule only the
hypothesis, so a swap of one hypothesis word in a 10-word premise and a 5-word hypothesis is 1 of 5,
not 1 of 15; for a single text every word. ``words_changed_share`` is their ratio (what the summary's
"words changed" averages over successful attacks). Records written before this rule counted every
column's words (a difference for pair datasets only); a resumed folder keeps them as they were.

One process appends to one file: an unsharded run to ``results.jsonl`` (its pool workers hand their
records to it), a shard to ``results.shard-K-of-N.jsonl`` (``shards``). A killed run leaves at most a
torn last line. On resume every readable line is kept; a torn or corrupt line is dropped with a
warning (the run's own file is rewritten without it; another shard's file is only read, as its owner
may be writing), and its pair is attacked again. ``merge`` folds the shard files, and the
``results.part-<k>.jsonl`` files of earlier versions' ``--parallel`` workers, into ``results.jsonl``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from textattack_rift.resources import atomic

logger = logging.getLogger("textattack_rift.evaluation")

RESULTS_FILE = "results.jsonl"
PART_GLOB = "results.part-*.jsonl"
STATUSES = ("succeeded", "failed", "skipped")
_REQUIRED = ("attack", "example", "status")


def record_from_result(
    attack_name: str,
    example: int,
    result,
    seconds: float,
    threat_fingerprint: str | None,
    options: dict | None = None,
    settings: dict | None = None,
    num_words: int | None = None,
) -> dict:
    """A JSON-ready record from a TextAttack ``AttackResult`` (``options``: the recipe's options in
    effect; ``settings``: the attack's resolved settings; ``num_words``: the words the attack may change,
    see ``perturbable_word_count``; None counts every word of the text)."""
    from textattack.attack_results import SkippedAttackResult, SuccessfulAttackResult

    if isinstance(result, SkippedAttackResult):
        status = "skipped"
    elif isinstance(result, SuccessfulAttackResult):
        status = "succeeded"
    else:
        status = "failed"
    original = result.original_result.attacked_text
    perturbed = result.perturbed_result.attacked_text
    num_words = len(original.words) if num_words is None else int(num_words)
    changed = 0 if status == "skipped" else len(original.all_words_diff(perturbed))
    return {
        "attack": attack_name,
        "example": int(example),
        "status": status,
        "correct": status != "skipped",
        "ground_truth": _plain(result.original_result.ground_truth_output),
        "original_output": _plain(result.original_result.output),
        "perturbed_output": _plain(result.perturbed_result.output),
        "original_text": original.printable_text(),
        "perturbed_text": perturbed.printable_text(),
        "queries": int(result.perturbed_result.num_queries),
        "words_changed": changed,
        "num_words": num_words,
        "words_changed_share": (changed / num_words) if num_words else 0.0,
        "seconds": round(float(seconds), 4),
        "threat_fingerprint": threat_fingerprint,
        "recipe_options": json.loads(json.dumps(options or {}, default=str)),
        "settings": json.loads(json.dumps(settings or {}, default=str)),
        "finished_at": _now(),
    }


def perturbable_word_count(attack, text) -> int:
    """How many words of ``text`` (an ``AttackedText``) lie in the columns ``attack`` may perturb.

    The columns are those the attack's own column constraints leave open: ours
    (``PerturbableColumnsModification``, the threat model's rule from ``threat.columns``) and TextAttack's
    ``InputColumnModification`` (the stock recipes' "not the premise"). An attack with neither may change
    every column. Only the column constraints count: a stop word or a word already swapped is still a
    word of the text the attack works on.
    """
    from textattack.constraints.pre_transformation import InputColumnModification

    from textattack_rift.threat.constraints import PerturbableColumnsModification

    column_rules = [
        c for c in getattr(attack, "pre_transformation_constraints", ())
        if isinstance(c, (PerturbableColumnsModification, InputColumnModification))
    ]
    allowed = set(range(len(text.words)))
    for rule in column_rules:
        allowed &= set(rule._get_modifiable_indices(text))
    return len(allowed)


def _plain(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _valid(record) -> bool:
    return (
        isinstance(record, dict)
        and all(k in record for k in _REQUIRED)
        and record["status"] in STATUSES
        and isinstance(record["example"], int)
    )


def read_records(path: Path, repair: bool = True) -> list[dict]:
    """Readable records of one file. Bad lines (torn, corrupt, not a record) are dropped with a warning;
    with ``repair`` the file is rewritten without them so the next append starts on a clean line."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    good, bad = [], []
    lines = raw.split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            record = None
        if _valid(record):
            good.append(record)
        else:
            bad.append(number)
    torn_end = bool(raw) and not raw.endswith(b"\n")
    if bad:
        logger.warning(
            f"{path}: dropped {len(bad)} unreadable line(s) (line {', '.join(map(str, bad[:5]))}"
            f"{', ...' if len(bad) > 5 else ''}), probably from an interrupted run; those examples are attacked again"
        )
    if repair and (bad or torn_end):
        write_records(path, good)
    return good


def write_records(path: Path, records: Iterable[dict]) -> None:
    atomic.write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


class ResultsStore:
    """The records of one evaluation folder: ``results.jsonl``, the shards' files and any old part files.

    ``own``: the file this run appends to (default ``results.jsonl``); the only one ``load`` repairs.
    """

    def __init__(self, directory: str | os.PathLike, own: str | os.PathLike | None = None):
        self.directory = Path(directory)
        self.path = self.directory / RESULTS_FILE
        self.own = self.path if own is None else self.directory / Path(own).name

    def part_path(self, rank: int) -> Path:
        return self.directory / f"results.part-{rank}.jsonl"

    def part_paths(self) -> list[Path]:
        """Files to fold into ``results.jsonl``: the shards' and old ``--parallel`` workers' parts."""
        from textattack_rift.evaluation.shards import SHARD_GLOB

        return sorted({*self.directory.glob(PART_GLOB), *self.directory.glob(SHARD_GLOB)})

    def load(self) -> dict[tuple[str, int], dict]:
        """(attack, example) -> record over the main file, the shards and the parts; a later record of a
        pair wins."""
        done: dict[tuple[str, int], dict] = {}
        for path in (self.path, *self.part_paths()):
            for record in read_records(path, repair=path == self.own):
                done[(record["attack"], record["example"])] = record
        return done

    @contextlib.contextmanager
    def appender(self, path: Path | None = None) -> Iterator["Appender"]:
        """Append records to ``path`` (default: this run's own file), each flushed to disk at once."""
        path = self.own if path is None else path
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            yield Appender(handle)

    def merge(self, attack_order: Sequence[str]) -> None:
        """Fold the shard and part files into ``results.jsonl`` (ordered by attack, then example; written
        before they are removed) and remove them. Only for a run without ``--shard``, after the shards."""
        parts = self.part_paths()
        if not parts:
            return
        rank = {name: i for i, name in enumerate(attack_order)}
        records = sorted(self.load().values(), key=lambda r: (rank.get(r["attack"], len(rank)), r["attack"], r["example"]))
        write_records(self.path, records)
        for part in parts:
            part.unlink(missing_ok=True)


class Appender:
    def __init__(self, handle):
        self._handle = handle

    def append(self, record: dict) -> None:
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
