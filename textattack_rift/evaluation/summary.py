"""Numbers from per-example records: per attack, and robust accuracy under all attacks together.

All accuracies and rates are percentages. Per attack, over the subset's examples that have a record:
- clean accuracy: examples the model gets right before any attack (status not ``skipped``);
- accuracy under attack: right and not flipped (``failed``), over all examples;
- attack success rate: flipped (``succeeded``) over the examples that were right;
- words changed: mean share of words changed, over successful attacks only (as TextAttack reports it);
- queries: mean model queries over attacked examples (not skipped), as TextAttack reports it;
- seconds: total attack time.
All attacks together: an example is robust only when it is right and no attack flipped it, over the
examples that every attack has a record for (``complete`` says whether that is the whole subset).

Every accuracy (clean, under each attack, under all attacks) comes with ``..._interval``: the 95 %
Wilson score interval in percent over the same examples (``stats.wilson_interval``), so a reader sees
how far 50 examples are from telling two numbers apart.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from textattack_rift.evaluation.stats import CONFIDENCE, INTERVAL_NAME, wilson_percent

INTERVAL = {"name": INTERVAL_NAME, "confidence": CONFIDENCE, "unit": "percent"}


def _pct(count: int, total: int) -> float | None:
    return None if total == 0 else 100.0 * count / total


def _mean(values: Sequence[float]) -> float | None:
    return None if not values else sum(values) / len(values)


def attack_numbers(records: Iterable[Mapping]) -> dict:
    records = list(records)
    n = len(records)
    succeeded = [r for r in records if r["status"] == "succeeded"]
    failed = sum(1 for r in records if r["status"] == "failed")
    correct = len(succeeded) + failed
    attacked = [r for r in records if r["status"] != "skipped"]
    return {
        "examples": n,
        "correct": correct,
        "succeeded": len(succeeded),
        "failed": failed,
        "skipped": n - correct,
        "clean_accuracy": _pct(correct, n),
        "clean_accuracy_interval": wilson_percent(correct, n),
        "accuracy_under_attack": _pct(failed, n),
        "accuracy_under_attack_interval": wilson_percent(failed, n),
        "attack_success_rate": _pct(len(succeeded), correct),
        "words_changed": _mean([100.0 * float(r.get("words_changed_share") or 0.0) for r in succeeded]),
        "queries": _mean([float(r.get("queries") or 0) for r in attacked]),
        "seconds": sum(float(r.get("seconds") or 0.0) for r in records),
    }


def summarize(records: Iterable[Mapping], attacks: Sequence[str], indices: Sequence[int]) -> dict:
    """``{"attacks": {name: numbers}, "all_attacks": numbers, "complete": bool}`` for the records of
    ``attacks`` on the examples ``indices`` (records of other attacks or rows are ignored)."""
    wanted = set(indices)
    table: dict[str, dict[int, Mapping]] = {a: {} for a in attacks}
    for r in records:
        if r["attack"] in table and r["example"] in wanted:
            table[r["attack"]][r["example"]] = r
    per_attack = {a: attack_numbers(table[a].values()) for a in attacks}
    for a in attacks:  # the options in effect, as the latest record of the attack states them
        latest = max(table[a].values(), key=lambda r: str(r.get("finished_at", "")), default={})
        per_attack[a]["recipe_options"] = latest.get("recipe_options")
    covered = set(wanted)
    for per in table.values():
        covered &= set(per)
    correct = sum(1 for i in covered if all(table[a][i]["status"] != "skipped" for a in attacks))
    robust = sum(1 for i in covered if all(table[a][i]["status"] == "failed" for a in attacks))
    union = {
        "examples": len(covered),
        "correct": correct,
        "robust": robust,
        "clean_accuracy": _pct(correct, len(covered)),
        "clean_accuracy_interval": wilson_percent(correct, len(covered)),
        "accuracy_under_attack": _pct(robust, len(covered)),
        "accuracy_under_attack_interval": wilson_percent(robust, len(covered)),
        "attack_success_rate": _pct(correct - robust, correct),
        "seconds": sum(p["seconds"] for p in per_attack.values()),
    }
    complete = all(len(per) == len(wanted) for per in table.values())
    return {"attacks": per_attack, "all_attacks": union, "complete": complete, "num_examples": len(wanted),
            "interval": dict(INTERVAL)}


def _p(value) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _pi(value, interval) -> str:
    """``80.0% [37.6, 96.4]``: an accuracy and its interval."""
    if value is None:
        return "-"
    return f"{value:.1f}%" if not interval else f"{value:.1f}% [{interval[0]:.1f}, {interval[1]:.1f}]"


def _f(value, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def summary_markdown(summary: Mapping, title: str | None = None, lines_before: Sequence[str] = ()) -> str:
    """The summary as a Markdown table (one row per attack, then all attacks together)."""
    out = [title, ""] if title else []
    out += [*lines_before, ""] if lines_before else []
    out += [
        "| attack | examples | clean accuracy | accuracy under attack | attack success rate | words changed | queries | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, n in summary["attacks"].items():
        out.append(
            f"| {name} | {n['examples']} | {_pi(n['clean_accuracy'], n.get('clean_accuracy_interval'))} | "
            f"{_pi(n['accuracy_under_attack'], n.get('accuracy_under_attack_interval'))} | "
            f"{_p(n['attack_success_rate'])} | {_p(n['words_changed'])} | {_f(n['queries'])} | {_f(n['seconds'])} |"
        )
    u = summary["all_attacks"]
    out.append(
        f"| **all attacks** | {u['examples']} | {_pi(u['clean_accuracy'], u.get('clean_accuracy_interval'))} | "
        f"**{_pi(u['accuracy_under_attack'], u.get('accuracy_under_attack_interval'))}** | "
        f"{_p(u['attack_success_rate'])} | - | - | {_f(u['seconds'])} |"
    )
    options = []
    for name, n in summary["attacks"].items():
        shown = ", ".join(f"{k}={v}" for k, v in sorted((n.get("recipe_options") or {}).items()) if v is not None)
        if shown:
            options.append(f"{name}: {shown}")
    if options:
        out += ["", "Recipe options in effect: " + "; ".join(options) + "."]
    out.append("")
    out.append(
        "Accuracy under attack: correct and not flipped, over all examples; attack success rate: flipped over "
        "correctly classified; words changed: mean share over successful attacks; queries: mean over attacked "
        "examples. All attacks: an example counts as robust only if no attack flipped it. In brackets: the 95% "
        "Wilson score interval of each accuracy over its examples (a binomial interval: it says how much the "
        "number could move with another sample of the same size; it does not cover the training seed)."
    )
    if not summary.get("complete", True):
        out.append("")
        out.append("*Not finished: numbers cover the examples attacked so far; rerun the same command to resume.*")
    return "\n".join(out) + "\n"
