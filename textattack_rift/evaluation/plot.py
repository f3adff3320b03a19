"""Bar chart of clean accuracy and accuracy under each attack (and all attacks together), as a PNG,
with the summary's 95 % Wilson intervals as error bars (``stats``; none drawn where a summary has none).

Drawn on a bare ``matplotlib.figure.Figure`` (the Agg canvas), never through pyplot, so no GUI backend
is touched and nothing global changes; written to a temporary file and renamed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from textattack_rift.resources.atomic import atomic_path


def accuracy_chart(summary: Mapping, target: str | os.PathLike, title: str = "") -> Path:
    from matplotlib.figure import Figure

    names = [*summary["attacks"], "all attacks"]
    rows = [*summary["attacks"].values(), summary["all_attacks"]]
    clean = [r["clean_accuracy"] or 0.0 for r in rows]
    robust = [r["accuracy_under_attack"] or 0.0 for r in rows]
    fig = Figure(figsize=(max(5.0, 1.3 * len(names) + 2), 4.0), dpi=100)
    ax = fig.subplots()
    width = 0.38
    xs = range(len(names))
    ax.bar([x - width / 2 for x in xs], clean, width, label="clean accuracy", color="#9bb7d4",
           yerr=error_bars(clean, [r.get("clean_accuracy_interval") for r in rows]), capsize=3, ecolor="#333333")
    bars = ax.bar([x + width / 2 for x in xs], robust, width, label="accuracy under attack", color="#c0504d",
                  yerr=error_bars(robust, [r.get("accuracy_under_attack_interval") for r in rows]), capsize=3,
                  ecolor="#333333")
    for bar, value in zip(bars, robust):
        ax.annotate(f"{value:.1f}", (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(names, rotation=15)
    ax.set_ylim(0, 105)
    ax.set_ylabel("% (error bars: 95% Wilson interval)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    target = Path(target)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png")
    return target


def error_bars(values, intervals) -> list[list[float]] | None:
    """Matplotlib's asymmetric ``yerr`` ([below], [above]) from [low, high] intervals around ``values``;
    None when no value has an interval (then no bars are drawn)."""
    if not any(intervals):
        return None
    below, above = [], []
    for value, interval in zip(values, intervals):
        if not interval or value is None:
            below.append(0.0)
            above.append(0.0)
        else:
            below.append(max(0.0, value - interval[0]))
            above.append(max(0.0, interval[1] - value))
    return [below, above]
