"""Bar chart of clean accuracy and accuracy under each attack (and all attacks together), as a PNG.

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
    ax.bar([x - width / 2 for x in xs], clean, width, label="clean accuracy", color="#9bb7d4")
    bars = ax.bar([x + width / 2 for x in xs], robust, width, label="accuracy under attack", color="#c0504d")
    for bar, value in zip(bars, robust):
        ax.annotate(f"{value:.1f}", (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(names, rotation=15)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    target = Path(target)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png")
    return target
