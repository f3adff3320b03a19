"""The comparison report of an experiment: ``report.json``, ``report.md`` and ``report.png``.

Every accuracy in it is recomputed here from the per-example records (each method's evaluation
``results.jsonl``), not copied from the evaluation's own ``summary.json``: the report then cannot
disagree with the records it cites, and a partly finished evaluation shows as such. Training time
and model-selection numbers come from each method's ``train_summary.json`` (there are no
per-example records for training); evaluation time is the sum of the per-example attack times.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from textattack_rift.errors import RiftUserError
from textattack_rift.resources import atomic

REPORT_FORMAT = "textattack-rift/experiment-report"
REPORT_VERSION = 1
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


def method_row(
    outcomes: Iterable[Outcome], attacks: Sequence[str], num_examples: int, subset: Iterable[int] | None = None
) -> dict:
    """Clean accuracy, accuracy under each attack and under all of them, words changed, attack time.

    Accuracies are over the examples of the subset (``subset``: its row indices, when known; records of
    other rows are left out) that have a record: ``examples_done`` says how many, ``complete``
    whether every attack covered all ``num_examples``. Robust = correct on the clean input and not
    flipped. "All attacks" = robust under every attack.
    """
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
    done_all = set(correct)
    for per in by_attack.values():
        done_all &= set(per)
    row: dict = {
        "examples": num_examples,
        "examples_done": len(correct),
        "complete": all(len(per) == num_examples for per in by_attack.values()) and len(correct) == num_examples,
        "clean_accuracy": _pct(sum(correct.values()), len(correct)),
        "attacks": {},
    }
    changed_all: list[float] = []
    changed_words_all: list[int] = []
    seconds = 0.0
    for attack, per in by_attack.items():
        robust = sum(1 for o in per.values() if o.correct and o.status == FAILED)
        succeeded = [o for o in per.values() if o.status == SUCCEEDED]
        attacked = sum(1 for o in per.values() if o.status != SKIPPED)
        changed = [100.0 * o.words_changed / o.num_words for o in succeeded if o.words_changed is not None and o.num_words]
        changed_words = [o.words_changed for o in succeeded if o.words_changed is not None]
        changed_all += changed
        changed_words_all += changed_words
        attack_seconds = sum(o.seconds or 0.0 for o in per.values())
        seconds += attack_seconds
        row["attacks"][attack] = {
            "examples_done": len(per),
            "accuracy": _pct(robust, len(per)),
            "robust": robust,
            "succeeded": len(succeeded),
            "attacked": attacked,
            "success_rate": _pct(len(succeeded), attacked),
            "avg_words_changed": _mean(changed_words),
            "avg_words_changed_pct": _mean(changed),
            "seconds": attack_seconds,
        }
    robust_all = sum(
        1 for e in done_all if correct[e] and all(by_attack[a][e].status == FAILED for a in attacks)
    )
    row["all_attacks"] = {"examples_done": len(done_all), "accuracy": _pct(robust_all, len(done_all)), "robust": robust_all}
    row["avg_words_changed"] = _mean(changed_words_all)
    row["avg_words_changed_pct"] = _mean(changed_all)
    row["evaluation_seconds"] = seconds
    return row


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
def build_report(
    *,
    recipe: Mapping,
    methods: Sequence[Mapping],
    threat_model: Mapping,
    environment: Mapping | None = None,
    sessions: Sequence[Mapping] = (),
    subset: Sequence[int] | None = None,
) -> dict:
    """Assemble report.json. ``methods``: one mapping per method with ``label``, ``method``,
    ``outcomes`` (Outcome list), ``train_summary`` (dict or None) and optional ``eval_dir``.
    ``recipe`` is the resolved recipe (``Recipe.to_dict()``) plus its ``name``; ``subset`` the row
    indices every method was evaluated on (None: the first ``num_examples`` records count)."""
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
    n = int(evaluation["num_examples"]) if subset is None else len(subset)
    rows = []
    for m in methods:
        row = {"label": m["label"], "method": m["method"], **method_row(m["outcomes"], attacks, n, subset)}
        summary = m.get("train_summary") or {}
        validation = summary.get("validation") or {}
        row["training_seconds"] = summary.get("seconds")
        row["training_finished"] = bool(summary.get("finished"))
        row["best_step"] = summary.get("best_step")
        row["validation"] = {k: validation.get(k) for k in ("clean_accuracy", "ascc_accuracy")}
        if m.get("eval_dir"):
            row["results"] = str(m["eval_dir"])
        rows.append(row)
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
        "seeds": {"training": recipe["training"]["seed"], "evaluation": evaluation["seed"]},
        "attacks": attacks,
        "complete": all(r["complete"] and r["training_finished"] for r in rows),
        "methods": rows,
        "environment": dict(environment or {"software": software_versions(), "hardware": hardware()}),
        "sessions": list(sessions),
        "numbers_from": "accuracies, words changed and evaluation time: the per-example records "
        "(results.jsonl); training time and validation accuracy: train_summary.json",
    }


def _fmt_pct(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def _fmt_seconds(value) -> str:
    if value is None:
        return "–"
    value = float(value)
    return f"{value:.0f} s" if value < 600 else f"{value / 60:.1f} min"


def markdown_table(report: Mapping) -> str:
    """One row per method: clean, each attack, all attacks, words changed, training and evaluation time."""
    attacks = report["attacks"]
    head = ["method", "clean %", *[f"{a} %" for a in attacks], "all attacks %", "words changed", "train time", "eval time"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for row in report["methods"]:
        label = row["label"] if row["label"] == row["method"] else f"{row['label']} ({row['method']})"
        if not row["complete"] or not row["training_finished"]:
            label += " *"
        words = row["avg_words_changed"]
        cells = [
            label,
            _fmt_pct(row["clean_accuracy"]),
            *[_fmt_pct(row["attacks"][a]["accuracy"]) for a in attacks],
            _fmt_pct(row["all_attacks"]["accuracy"]),
            "–" if words is None else f"{words:.2f} ({_fmt_pct(row['avg_words_changed_pct'])}%)",
            _fmt_seconds(row["training_seconds"]),
            _fmt_seconds(row["evaluation_seconds"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_report(report: Mapping) -> str:
    recipe = report["recipe"]
    tm = report["threat_model"]
    env = report["environment"]
    sw = env["software"]
    hw = env["hardware"]
    training = recipe["training"]
    data = recipe["data"]
    gpus = ", ".join(hw.get("gpus") or []) or "none"
    out = [
        f"# Experiment report: {recipe.get('name', '')}",
        "",
        recipe.get("description") or "",
        "",
        f"- Threat model: synonyms `{tm['name']}` ({tm['size']:,} words with candidates, synonym fingerprint "
        f"`{tm['synonym_fingerprint']}`), threat-model fingerprint `{tm['fingerprint']}`"
        + (f", max word ratio {tm['max_word_ratio']}" if tm.get("max_word_ratio") else ", no word-ratio cap")
        + (", POS check" if tm.get("pos_check") else "")
        + (f", perturbable columns {tm['perturbable_columns']}" if tm.get("perturbable_columns") else ""),
        f"- Model `{recipe['model']['name']}`, max length {recipe['model']['max_length']}; dataset `{report['dataset']}`: "
        f"trained on `{data['train_split']}`, model selection on `{data['eval_split']}`, "
        f"{training['num_epochs']} epoch(s)" + (f" / at most {training['max_steps']} steps" if training.get("max_steps") else "")
        + f", batch {training['batch_size']}, learning rate {training['learning_rate']:g}",
        f"- Evaluation: `{report['split']}`, a seeded subset of {report['subset_size']} examples, the same for every "
        f"method and attack; attacks: {', '.join(report['attacks'])}",
        f"- Seeds: training {report['seeds']['training']}, evaluation subset {report['seeds']['evaluation']}",
        f"- Software: Python {sw['python']}, torch {sw['torch']}, transformers {sw['transformers']}, "
        f"datasets {sw.get('datasets')}, textattack {sw['textattack']}, textattack-rift {sw['textattack_rift']}",
        f"- Hardware: {hw['cpu']}, {hw['cpu_cores']} CPU cores, GPU: {gpus}",
        "",
        "Accuracy (%) over the subset; under an attack, an example counts when it is classified correctly and "
        "the attack does not flip it; \"all attacks\": not flipped by any of them. Words changed: mean number "
        "(and share) of words swapped in successful attacks.",
        "",
        markdown_table(report),
        "",
    ]
    if not report["complete"]:
        out += ["\\* not finished: accuracies are over the examples evaluated so far; rerun the same command to resume.", ""]
    out += ["Per-attack details (from results.jsonl):", ""]
    for row in report["methods"]:
        parts = []
        for attack, a in row["attacks"].items():
            parts.append(
                f"{attack}: {a['succeeded']}/{a['attacked']} attacked examples flipped, "
                f"{_fmt_seconds(a['seconds'])}"
            )
        val = row["validation"]
        out.append(
            f"- **{row['label']}**: validation clean {_fmt_pct(_as_pct(val.get('clean_accuracy')))}%, ASCC "
            f"{_fmt_pct(_as_pct(val.get('ascc_accuracy')))}% (best step {row['best_step']}); " + "; ".join(parts)
        )
    out += ["", f"Numbers from: {report['numbers_from']}.", ""]
    return "\n".join(out)


def _as_pct(value):
    """Validation accuracies are stored as fractions in train_summary.json; show them as percentages."""
    if value is None:
        return None
    value = float(value)
    return value * 100.0 if value <= 1.0 else value


def write_plot(report: Mapping, target: str | os.PathLike) -> Path:
    """Grouped bar chart: one group per attack (plus clean and all attacks), one bar per method."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    groups = ["clean", *report["attacks"], "all attacks"]
    rows = report["methods"]
    fig = Figure(figsize=(max(6.0, 1.4 * len(groups) + 2), 4.2))
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / max(1, len(rows))
    for i, row in enumerate(rows):
        values = [row["clean_accuracy"], *[row["attacks"][a]["accuracy"] for a in report["attacks"]],
                  row["all_attacks"]["accuracy"]]
        xs = [g + (i - (len(rows) - 1) / 2) * width for g in range(len(groups))]
        bars = ax.bar(xs, [v or 0.0 for v in values], width, label=row["label"])
        for bar, v in zip(bars, values):
            if v is not None:
                ax.annotate(f"{v:.0f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=15)
    ax.set_ylim(0, 105)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"{report['recipe'].get('name', '')}: accuracy under attack ({report['threat_model']['name']}, "
                 f"{report['subset_size']} examples)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    target = Path(target)
    with atomic.atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return target


def write_report(report: Mapping, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write report.json, report.md and report.png into ``out_dir`` (each atomically)."""
    out_dir = Path(out_dir)
    paths = {"json": out_dir / "report.json", "md": out_dir / "report.md", "png": out_dir / "report.png"}
    atomic.write_json(paths["json"], report)
    atomic.write_text(paths["md"], markdown_report(report))
    write_plot(report, paths["png"])
    return paths
