"""The comparison report of an experiment: ``report.json``, ``report.md`` and ``report.png``.

Every accuracy in it is recomputed here from the per-example records (each method's evaluation
``results.jsonl``), not copied from the evaluation's own ``summary.json``: the report then cannot
disagree with the records it cites, and a partly finished evaluation shows as such. Training time
and model-selection numbers come from each method's ``train_summary.json`` (there are no
per-example records for training); evaluation time is the sum of the per-example attack times.

The uncertainty (``evaluation.stats``): every accuracy carries its 95 % Wilson score interval over
its examples; every pair of methods of one training seed is compared by an exact McNemar test on the
examples both have (clean, each attack, all attacks), with the discordant counts b and c; with
several training seeds, each method's mean and sample standard deviation across seeds. The text and
the chart are in ``report_markdown`` and ``report_plot``.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from textattack_rift.errors import RiftUserError
from textattack_rift.evaluation import stats
from textattack_rift.resources import atomic

REPORT_FORMAT = "textattack-rift/experiment-report"
REPORT_VERSION = 2  # 2: intervals, paired tests, per-seed rows, seeds as {training: [...], subset, attack}
RESULTS_FILE = "results.jsonl"
PARTS_GLOB = "results.part-*.jsonl"  # a parallel evaluation's per-worker files until it merges them
SUCCEEDED, FAILED, SKIPPED = "succeeded", "failed", "skipped"


@dataclass(frozen=True)
class Outcome:
    """One attack on one example, as the report needs it."""

    example: int
    attack: str
    correct: bool           # the model classified the clean example correctly
    status: str             # succeeded (prediction flipped), failed (held), skipped (wrong already)
    words_changed: int | None = None
    num_words: int | None = None
    seconds: float | None = None
    threat_fingerprint: str | None = None
    queries: int | None = None  # model queries the attack spent on this example


# -- reading per-example records -----------------------------------------------------------------
def outcome_from_record(record: Mapping, source: str = "record") -> Outcome:
    """Map one line of the evaluation's ``results.jsonl`` to an :class:`Outcome`."""
    try:
        status = str(record["status"])
        if status not in (SUCCEEDED, FAILED, SKIPPED):
            raise ValueError(f"status {status!r}")
        return Outcome(
            example=int(record["example"]),
            attack=str(record["attack"]),
            correct=bool(record["correct"]),
            status=status,
            words_changed=_opt_int(record.get("words_changed")),
            num_words=_opt_int(record.get("num_words")),
            seconds=_opt_float(record.get("seconds")),
            threat_fingerprint=record.get("threat_fingerprint"),
            queries=_opt_int(record.get("queries")),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise RiftUserError(f"{source}: not a per-example result ({err}); was it written by textattack-rift evaluate?") from None


def _opt_int(value) -> int | None:
    return None if value is None else int(value)


def _opt_float(value) -> float | None:
    return None if value is None else float(value)


def read_outcomes(path: str | os.PathLike) -> list[Outcome]:
    """Every complete line of an evaluation folder's ``results.jsonl`` (and of worker part files not yet
    merged); a torn last line from a kill is ignored, and the last record of an (example, attack) pair
    wins, so a resumed evaluation that redid one counts it once."""
    path = Path(path)
    files = [path / RESULTS_FILE, *sorted(path.glob(PARTS_GLOB))] if path.is_dir() else [path]
    latest: dict[tuple[int, str], Outcome] = {}
    for file in files:
        if not file.is_file():
            continue
        lines = file.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):  # torn by an interruption
                    continue
                raise RiftUserError(f"{file}:{number}: not valid JSON; rerun the evaluation to repair it") from None
            outcome = outcome_from_record(record, f"{file}:{number}")
            latest[(outcome.example, outcome.attack)] = outcome
    return list(latest.values())


# -- numbers -------------------------------------------------------------------------------------
def _pct(count: int, total: int) -> float | None:
    return None if total == 0 else 100.0 * count / total


def _mean(values: Sequence[float]) -> float | None:
    return None if not values else sum(values) / len(values)


def _by_attack(outcomes: Iterable[Outcome], attacks: Sequence[str], subset: Iterable[int] | None):
    """(attack -> example -> Outcome, example -> clean correctness) over the subset's records, after
    checking that every attack saw the same clean prediction of each example."""
    keep = None if subset is None else set(subset)
    by_attack: dict[str, dict[int, Outcome]] = {a: {} for a in attacks}
    for o in outcomes:
        if o.attack in by_attack and (keep is None or o.example in keep):
            by_attack[o.attack][o.example] = o
    correct: dict[int, bool] = {}
    for attack, per in by_attack.items():
        for example, o in per.items():
            if correct.setdefault(example, o.correct) != o.correct:
                raise RiftUserError(
                    f"example {example}: attack {attack!r} records clean correctness {o.correct}, another attack "
                    f"{correct[example]}: the evaluation results mix different models or subsets"
                )
    return by_attack, correct


def per_example(outcomes: Iterable[Outcome], attacks: Sequence[str], subset: Iterable[int] | None = None) -> dict:
    """What the paired tests pair: ``{"clean": {example: right}, "attacks": {attack: {example:
    robust}}, "all_attacks": {example: robust under every attack}}``; an example is in a map only
    when its records for that measure exist."""
    by_attack, correct = _by_attack(outcomes, attacks, subset)
    done_all = set(correct)
    for per in by_attack.values():
        done_all &= set(per)
    return {
        "clean": dict(correct),
        "attacks": {a: {e: o.correct and o.status == FAILED for e, o in per.items()} for a, per in by_attack.items()},
        "all_attacks": {e: correct[e] and all(by_attack[a][e].status == FAILED for a in attacks) for e in done_all},
    }


def method_row(
    outcomes: Iterable[Outcome], attacks: Sequence[str], num_examples: int, subset: Iterable[int] | None = None
) -> dict:
    """Clean accuracy, accuracy under each attack and under all of them (each with its 95 % Wilson
    interval, ``interval``, in percent), and per attack the success rate, mean queries, words changed
    and attack time.

    Accuracies are over the examples of the subset (``subset``: its row indices, when known; records of
    other rows are left out) that have a record: ``examples_done`` says how many, ``complete``
    whether every attack covered all ``num_examples``. Robust = correct on the clean input and not
    flipped. "All attacks" = robust under every attack. Success rate: flipped over attacked (not
    skipped); queries: mean over attacked examples; words changed: mean over successful attacks.
    ``avg_words_changed`` of the row pools every attack (kept for readers of version 1; the text
    shows the per-attack numbers, which are comparable between methods).
    """
    by_attack, correct = _by_attack(outcomes, attacks, subset)
    done_all = set(correct)
    for per in by_attack.values():
        done_all &= set(per)
    right = sum(correct.values())
    row: dict = {
        "examples": num_examples,
        "examples_done": len(correct),
        "complete": all(len(per) == num_examples for per in by_attack.values()) and len(correct) == num_examples,
        "clean_accuracy": _pct(right, len(correct)),
        "clean_correct": right,
        "clean_interval": stats.wilson_percent(right, len(correct)),
        "attacks": {},
    }
    changed_all: list[float] = []
    changed_words_all: list[int] = []
    seconds = 0.0
    for attack, per in by_attack.items():
        robust = sum(1 for o in per.values() if o.correct and o.status == FAILED)
        succeeded = [o for o in per.values() if o.status == SUCCEEDED]
        attacked = [o for o in per.values() if o.status != SKIPPED]
        changed = [100.0 * o.words_changed / o.num_words for o in succeeded if o.words_changed is not None and o.num_words]
        changed_words = [o.words_changed for o in succeeded if o.words_changed is not None]
        changed_all += changed
        changed_words_all += changed_words
        attack_seconds = sum(o.seconds or 0.0 for o in per.values())
        seconds += attack_seconds
        row["attacks"][attack] = {
            "examples_done": len(per),
            "accuracy": _pct(robust, len(per)),
            "interval": stats.wilson_percent(robust, len(per)),
            "robust": robust,
            "succeeded": len(succeeded),
            "attacked": len(attacked),
            "success_rate": _pct(len(succeeded), len(attacked)),
            "avg_queries": _mean([o.queries for o in attacked if o.queries is not None]),
            "avg_words_changed": _mean(changed_words),
            "avg_words_changed_pct": _mean(changed),
            "seconds": attack_seconds,
        }
    robust_all = sum(
        1 for e in done_all if correct[e] and all(by_attack[a][e].status == FAILED for a in attacks)
    )
    row["all_attacks"] = {"examples_done": len(done_all), "accuracy": _pct(robust_all, len(done_all)),
                          "interval": stats.wilson_percent(robust_all, len(done_all)), "robust": robust_all}
    row["avg_words_changed"] = _mean(changed_words_all)
    row["avg_words_changed_pct"] = _mean(changed_all)
    row["evaluation_seconds"] = seconds
    return row


def paired_tests(first: Mapping, second: Mapping, attacks: Sequence[str]) -> dict:
    """Exact McNemar tests of two methods' ``per_example`` maps: ``{"clean": test, "attacks": {attack:
    test}, "all_attacks": test}``, each test ``{examples, b, c, both, neither, p}`` (b: only the first
    is right or robust, c: only the second)."""
    return {
        "clean": stats.paired_test(first["clean"], second["clean"]),
        "attacks": {a: stats.paired_test(first["attacks"][a], second["attacks"][a]) for a in attacks},
        "all_attacks": stats.paired_test(first["all_attacks"], second["all_attacks"]),
    }


def across_seeds(rows: Sequence[Mapping], attacks: Sequence[str]) -> list[dict]:
    """Per method (in order of first appearance): mean and sample sd of its accuracies over its seeds."""
    labels: list[str] = []
    for row in rows:
        if row["label"] not in labels:
            labels.append(row["label"])
    out = []
    for label in labels:
        mine = [r for r in rows if r["label"] == label]
        out.append({
            "label": label,
            "method": mine[0]["method"],
            "seeds": [r["seed"] for r in mine],
            "complete": all(r["complete"] and r["training_finished"] for r in mine),
            "clean_accuracy": stats.mean_sd(r["clean_accuracy"] for r in mine),
            "attacks": {a: stats.mean_sd(r["attacks"][a]["accuracy"] for r in mine) for a in attacks},
            "all_attacks": stats.mean_sd(r["all_attacks"]["accuracy"] for r in mine),
        })
    return out


# -- environment ---------------------------------------------------------------------------------
def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def software_versions() -> dict:
    import textattack_rift

    return {
        "python": platform.python_version(),
        "torch": _version("torch"),
        "transformers": _version("transformers"),
        "datasets": _version("datasets"),
        "textattack": _version("textattack"),
        "textattack_rift": textattack_rift.__version__,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> dict:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count()
    gpus: list[str] = []
    try:
        import torch

        if torch.cuda.is_available():
            gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:  # a broken CUDA set-up must not stop the report
        pass
    return {"cpu": _cpu_model(), "cpu_cores": cores, "gpus": gpus, "platform": platform.platform()}


# -- the report ----------------------------------------------------------------------------------
def _training_seeds(training: Mapping) -> list[int]:
    seeds = training.get("seeds")
    return list(seeds) if seeds is not None else [training.get("seed")]


def build_report(
    *,
    recipe: Mapping,
    methods: Sequence[Mapping],
    threat_model: Mapping,
    environment: Mapping | None = None,
    sessions: Sequence[Mapping] = (),
    subset: Sequence[int] | None = None,
) -> dict:
    """Assemble report.json. ``methods``: one mapping per (training seed, method) with ``label``,
    ``method``, ``outcomes`` (Outcome list), ``train_summary`` (dict or None), optional ``seed``
    (default: the recipe's first training seed) and ``eval_dir``. ``recipe`` is the resolved recipe
    (``Recipe.to_dict()``) plus its ``name``; ``subset`` the row indices every method was evaluated
    on (None: the first ``num_examples`` records count)."""
    fingerprint = threat_model["fingerprint"]
    for m in methods:
        other = {o.threat_fingerprint for o in m["outcomes"]} - {None, fingerprint}
        if other:
            raise RiftUserError(
                f"the results of {m['label']} were attacked under threat model {sorted(other)[0]}, not this "
                f"run's {fingerprint}: they belong to another experiment"
            )
    evaluation = recipe["evaluation"]
    attacks = list(evaluation["attacks"])
    training_seeds = _training_seeds(recipe["training"])
    n = int(evaluation["num_examples"]) if subset is None else len(subset)
    rows, examples = [], []
    for m in methods:
        seed = m.get("seed", training_seeds[0])
        row = {"label": m["label"], "method": m["method"], "seed": seed,
               **method_row(m["outcomes"], attacks, n, subset)}
        summary = m.get("train_summary") or {}
        validation = summary.get("validation") or {}
        row["training_seconds"] = summary.get("seconds")
        row["training_finished"] = bool(summary.get("finished"))
        row["best_step"] = summary.get("best_step")
        row["validation"] = {k: validation.get(k) for k in ("clean_accuracy", "ascc_accuracy")}
        if m.get("eval_dir"):
            row["results"] = str(m["eval_dir"])
        rows.append(row)
        examples.append(per_example(m["outcomes"], attacks, subset))
    pairs = []
    for seed in dict.fromkeys(r["seed"] for r in rows):
        mine = [i for i, r in enumerate(rows) if r["seed"] == seed]
        for k, i in enumerate(mine):
            for j in mine[k + 1:]:
                pairs.append({"seed": seed, "first": rows[i]["label"], "second": rows[j]["label"],
                              **paired_tests(examples[i], examples[j], attacks)})
    seeds_seen = list(dict.fromkeys(r["seed"] for r in rows))
    return {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "recipe": dict(recipe),
        "threat_model": {
            "name": threat_model["synonyms"]["name"],
            "size": threat_model["synonyms"]["size"],
            "synonym_fingerprint": threat_model["synonyms"]["fingerprint"],
            "fingerprint": threat_model["fingerprint"],
            "max_word_ratio": threat_model.get("max_word_ratio"),
            "pos_check": threat_model.get("pos_check"),
            "perturbable_columns": threat_model.get("perturbable_columns"),
        },
        "dataset": recipe["data"]["dataset"],
        "split": evaluation["split"],
        "subset_size": n,
        "subset": None if subset is None else list(subset),
        "seeds": {"training": training_seeds, "subset": evaluation.get("subset_seed"),
                  "attack": evaluation.get("attack_seed")},
        "attacks": attacks,
        "complete": all(r["complete"] and r["training_finished"] for r in rows),
        "interval": {"name": stats.INTERVAL_NAME, "confidence": stats.CONFIDENCE, "unit": "percent",
                     "over": "the examples of the subset with a record (a binomial interval: it does not "
                             "cover the training seed)"},
        "paired_test": {"name": stats.TEST_NAME,
                        "b": "examples the first method gets right (clean) or holds (under attack) and the second does not",
                        "c": "examples the second method gets right or holds and the first does not",
                        "pairs": "every two methods of one training seed, on the examples both have"},
        "methods": rows,
        "paired_tests": pairs,
        "across_seeds": across_seeds(rows, attacks) if len(seeds_seen) > 1 else [],
        "environment": dict(environment or {"software": software_versions(), "hardware": hardware()}),
        "sessions": list(sessions),
        "numbers_from": "accuracies, intervals, paired tests, queries, words changed and evaluation time: the "
        "per-example records (results.jsonl); training time and validation accuracy: train_summary.json",
    }


def markdown_table(report: Mapping) -> str:
    """The main table: accuracy with its interval per method (and per seed, then mean +/- sd)."""
    from textattack_rift.experiments.report_markdown import accuracy_table

    return accuracy_table(report)


def markdown_report(report: Mapping) -> str:
    from textattack_rift.experiments.report_markdown import markdown_report as text

    return text(report)


def write_plot(report: Mapping, target: str | os.PathLike) -> Path:
    from textattack_rift.experiments.report_plot import write_plot as plot

    return plot(report, target)


def write_report(report: Mapping, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write report.json, report.md and report.png into ``out_dir`` (each atomically)."""
    out_dir = Path(out_dir)
    paths = {"json": out_dir / "report.json", "md": out_dir / "report.md", "png": out_dir / "report.png"}
    atomic.write_json(paths["json"], report)
    atomic.write_text(paths["md"], markdown_report(report))
    write_plot(report, paths["png"])
    return paths
