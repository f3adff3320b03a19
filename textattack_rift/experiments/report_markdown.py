"""``report.md``: the experiment's setting, then three tables, in this order:

1. accuracy: clean, under each attack, under all attacks, each with its 95 % Wilson interval; with
   several training seeds one row per (method, seed) and a ``mean ± sd`` row per method;
2. paired tests: the exact McNemar p-value and the discordant counts (b, c) of every two methods of
   one seed, clean, per attack and under all attacks;
3. per attack: success rate, mean queries, words changed and attack time of each method (and seed).

Everything comes from ``report.json`` (``report.build_report``); nothing is recomputed here.
"""

from __future__ import annotations

from typing import Mapping, Sequence

SIGNIFICANT = 0.05  # p-values below are shown in bold (no correction for multiple comparisons)


# -- cells ---------------------------------------------------------------------------------------
def _fmt_pct(value) -> str:
    return "–" if value is None else f"{value:.1f}"


def _fmt_interval(value, interval) -> str:
    """``75.0 [30.1, 95.4]``."""
    if value is None:
        return "–"
    if not interval:
        return f"{value:.1f}"
    return f"{value:.1f} [{interval[0]:.1f}, {interval[1]:.1f}]"


def _fmt_mean_sd(summary: Mapping) -> str:
    """``71.3 ± 2.1``, or the mean alone for one seed."""
    if summary.get("mean") is None:
        return "–"
    if summary.get("sd") is None:
        return f"{summary['mean']:.1f}"
    return f"{summary['mean']:.1f} ± {summary['sd']:.1f}"


def _fmt_seconds(value) -> str:
    if value is None:
        return "–"
    value = float(value)
    return f"{value:.0f} s" if value < 600 else f"{value / 60:.1f} min"


def _fmt_p(p: float) -> str:
    shown = "< 0.001" if p < 0.001 else f"{p:.3f}"
    return f"**{shown}**" if p < SIGNIFICANT else shown


def _fmt_test(test: Mapping) -> str:
    """``0.031 (b=7, c=1)``."""
    if not test.get("examples"):
        return "–"
    return f"{_fmt_p(test['p'])} (b={test['b']}, c={test['c']})"


def _as_pct(value):
    """Validation accuracies are stored as fractions in train_summary.json; show them as percentages."""
    if value is None:
        return None
    value = float(value)
    return value * 100.0 if value <= 1.0 else value


def _row_label(row: Mapping) -> str:
    label = row["label"] if row["label"] == row["method"] else f"{row['label']} ({row['method']})"
    if not row["complete"] or not row["training_finished"]:
        label += " *"
    return label


def _table(head: Sequence[str], body: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * left + ["---:"] * (len(head) - left)) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return lines


def _multi_seed(report: Mapping) -> bool:
    return len({row["seed"] for row in report["methods"]}) > 1


def _by_method(report: Mapping) -> list[tuple[str, list[Mapping]]]:
    """(label, its rows in seed order), methods in the order they first appear."""
    groups: dict[str, list[Mapping]] = {}
    for row in report["methods"]:
        groups.setdefault(row["label"], []).append(row)
    return list(groups.items())


# -- tables --------------------------------------------------------------------------------------
def accuracy_table(report: Mapping) -> str:
    """One row per method (per method and seed with several seeds, then its ``mean ± sd``): clean,
    each attack, all attacks (each ``value [95% interval]``), training time and attack time (the attacks'
    own seconds summed over the records: with parallel workers, more than the wall time)."""
    attacks = report["attacks"]
    multi = _multi_seed(report)
    head = ["method", *(["seed"] if multi else []), "clean %", *[f"{a} %" for a in attacks], "all attacks %",
            "train time", "attack time"]
    spread = {s["label"]: s for s in report.get("across_seeds") or []}
    body = []
    for label, rows in _by_method(report):
        for row in rows:
            body.append([
                _row_label(row),
                *([str(row["seed"])] if multi else []),
                _fmt_interval(row["clean_accuracy"], row.get("clean_interval")),
                *[_fmt_interval(row["attacks"][a]["accuracy"], row["attacks"][a].get("interval")) for a in attacks],
                _fmt_interval(row["all_attacks"]["accuracy"], row["all_attacks"].get("interval")),
                _fmt_seconds(row["training_seconds"]),
                _fmt_seconds(row["evaluation_seconds"]),
            ])
        if multi and label in spread:
            s = spread[label]
            body.append([
                f"**{label}**", f"mean ± sd ({len(s['seeds'])})",
                _fmt_mean_sd(s["clean_accuracy"]),
                *[_fmt_mean_sd(s["attacks"][a]) for a in attacks],
                _fmt_mean_sd(s["all_attacks"]),
                "", "",
            ])
    return "\n".join(_table(head, body, left=2 if multi else 1))


def paired_table(report: Mapping) -> str:
    """One row per pair of methods (and seed): the McNemar p-value and (b, c) per measure."""
    attacks = report["attacks"]
    multi = _multi_seed(report)
    head = [*(["seed"] if multi else []), "first vs second", "clean", *attacks, "all attacks"]
    body = []
    for pair in report.get("paired_tests") or []:
        body.append([
            *([str(pair["seed"])] if multi else []),
            f"{pair['first']} vs {pair['second']}",
            _fmt_test(pair["clean"]),
            *[_fmt_test(pair["attacks"][a]) for a in attacks],
            _fmt_test(pair["all_attacks"]),
        ])
    return "\n".join(_table(head, body, left=2 if multi else 1))


def per_attack_table(report: Mapping) -> str:
    """One row per (method, seed, attack): success rate (flipped / attacked), mean queries over the
    attacked examples, words changed in successful attacks, attack time."""
    multi = _multi_seed(report)
    head = ["method", *(["seed"] if multi else []), "attack", "success rate %", "mean queries", "words changed",
            "attack time"]
    body = []
    for _, rows in _by_method(report):
        for row in rows:
            for attack, a in row["attacks"].items():
                words = a.get("avg_words_changed")
                queries = a.get("avg_queries")
                body.append([
                    _row_label(row),
                    *([str(row["seed"])] if multi else []),
                    attack,
                    "–" if a["success_rate"] is None else f"{a['success_rate']:.1f} ({a['succeeded']}/{a['attacked']})",
                    "–" if queries is None else f"{queries:.1f}",
                    "–" if words is None else f"{words:.2f} ({_fmt_pct(a.get('avg_words_changed_pct'))}%)",
                    _fmt_seconds(a["seconds"]),
                ])
    return "\n".join(_table(head, body, left=3 if multi else 2))


# -- the document --------------------------------------------------------------------------------
def _seeds_line(report: Mapping) -> str:
    seeds = report["seeds"]
    training = ", ".join(str(s) for s in seeds["training"])
    word = "seeds" if len(seeds["training"]) > 1 else "seed"
    return (f"- Seeds: training {word} {training} (each method trained once per seed); evaluation subset seed "
            f"{seeds.get('subset')}; attack seed {seeds.get('attack')}")


def _wall_time_line(report: Mapping) -> list[str]:
    """``- Wall time: ...`` summed over the invocations in ``sessions.json`` (none recorded: no line)."""
    sessions = [s for s in report.get("sessions") or []
                if isinstance(s, Mapping) and isinstance(s.get("seconds"), (int, float))]
    if not sessions:
        return []
    total = sum(float(s["seconds"]) for s in sessions)
    parts = f" over {len(sessions)} invocations" if len(sessions) > 1 else ""
    return [f"- Wall time: {total / 60:.1f} min{parts} of `textattack-rift run` (as recorded after each part)"]


def markdown_report(report: Mapping) -> str:
    recipe = report["recipe"]
    tm = report["threat_model"]
    env = report["environment"]
    sw = env["software"]
    hw = env["hardware"]
    training = recipe["training"]
    data = recipe["data"]
    gpus = ", ".join(hw.get("gpus") or []) or "none"
    multi = _multi_seed(report)
    interval = report.get("interval") or {}
    confidence = f"{100 * interval.get('confidence', 0.95):.0f}%"
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
        f"method, seed and attack; attacks: {', '.join(report['attacks'])}",
        _seeds_line(report),
        f"- Software: Python {sw['python']}, torch {sw['torch']}, transformers {sw['transformers']}, "
        f"datasets {sw.get('datasets')}, textattack {sw['textattack']}, textattack-rift {sw['textattack_rift']}",
        f"- Hardware: {hw['cpu']}, {hw['cpu_cores']} CPU cores, GPU: {gpus}",
        *_wall_time_line(report),
        "",
        "## Accuracy",
        "",
        "Accuracy (%) over the subset; under an attack, an example counts when it is classified correctly and "
        "the attack does not flip it; \"all attacks\": not flipped by any of them. In brackets: the "
        f"{confidence} Wilson score interval of the accuracy over the subset's examples (a binomial interval: "
        "how far another sample of this size could move the number; it does not cover the training seed). "
        "Attack time: the attacks' own seconds summed over the records; with several evaluation workers "
        "(`evaluation.parallel`) it exceeds the wall time, which the header gives."
        + (" With several training seeds, each method's rows are followed by the mean ± sample standard "
           "deviation of the per-seed accuracies (n - 1 in the denominator): the spread the seed causes."
           if multi else ""),
        "",
        accuracy_table(report),
        "",
    ]
    if not report["complete"]:
        out += ["\\* not finished: accuracies are over the examples evaluated so far; rerun the same command to resume.", ""]
    if report.get("pending_seeds"):
        pending = ", ".join(str(s) for s in report["pending_seeds"])
        out += [f"Interim report: training seed(s) {pending} not run yet; the same command resumes the run.", ""]
    out += [
        "## Paired tests",
        "",
        "Exact McNemar test between every two methods" + (" of one training seed" if multi else "")
        + ", on the examples both were evaluated on (the same subset, so each example is a pair): b = examples "
        "the first method gets right (clean) or holds (under attack) and the second does not, c = the reverse. "
        "Under \"no difference\" b is Binomial(b + c, 1/2); p = the two-sided exact binomial p-value (1 when "
        f"b + c = 0). **Bold**: p < {SIGNIFICANT:g}, not corrected for the number of comparisons in the table.",
        "",
    ]
    if report.get("paired_tests"):
        out += [paired_table(report), ""]
    else:
        out += ["(one method: nothing to pair)", ""]
    out += [
        "## Per attack",
        "",
        "Success rate: flipped over attacked (correctly classified) examples; mean queries: model queries per "
        "attacked example; words changed: mean number (and share) of words swapped in successful attacks.",
        "",
        per_attack_table(report),
        "",
        "## Training",
        "",
    ]
    for row in report["methods"]:
        val = row["validation"]
        seed = f" seed {row['seed']}" if multi else ""
        out.append(
            f"- **{row['label']}**{seed}: validation clean {_fmt_pct(_as_pct(val.get('clean_accuracy')))}%, ASCC "
            f"{_fmt_pct(_as_pct(val.get('ascc_accuracy')))}% (best step {row['best_step']}), training "
            f"{_fmt_seconds(row['training_seconds'])}"
        )
    out += ["", f"Numbers from: {report['numbers_from']}.", ""]
    return "\n".join(out)
