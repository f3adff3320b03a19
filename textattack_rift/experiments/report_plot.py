"""``report.png``: grouped bars, one group per measure (clean, each attack, all attacks), one bar per
method, with error bars.

One training seed: the bar is the accuracy and the error bar its 95 % Wilson interval over the
subset. Several seeds: the bar is the mean over the seeds, the error bar ± one sample standard
deviation across seeds, and each seed's accuracy is a dot on the bar. The chart says which.
Drawn on a bare ``Figure`` (Agg), never through pyplot; written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from textattack_rift.evaluation.plot import error_bars
from textattack_rift.resources import atomic


def _values(row: Mapping, attacks) -> tuple[list, list]:
    values = [row["clean_accuracy"], *[row["attacks"][a]["accuracy"] for a in attacks], row["all_attacks"]["accuracy"]]
    intervals = [row.get("clean_interval"), *[row["attacks"][a].get("interval") for a in attacks],
                 row["all_attacks"].get("interval")]
    return values, intervals


def write_plot(report: Mapping, target: str | os.PathLike) -> Path:
    from matplotlib.figure import Figure

    attacks = report["attacks"]
    groups = ["clean", *attacks, "all attacks"]
    rows = report["methods"]
    spread = report.get("across_seeds") or []
    series = []  # (label, bar heights, yerr, per-seed dots)
    if spread:
        for s in spread:
            stats = [s["clean_accuracy"], *[s["attacks"][a] for a in attacks], s["all_attacks"]]
            means = [x["mean"] for x in stats]
            sds = [x["sd"] or 0.0 for x in stats]
            # drawn within 0..100 (the spread of accuracies cannot leave it)
            below = [min(sd, m) if m is not None else 0.0 for sd, m in zip(sds, means)]
            above = [min(sd, 100.0 - m) if m is not None else 0.0 for sd, m in zip(sds, means)]
            dots = [_values(r, attacks)[0] for r in rows if r["label"] == s["label"]]
            series.append((s["label"], means, [below, above], dots))
        bars_are = f"mean over {len({r['seed'] for r in rows})} training seeds, error bars ± 1 sd across seeds, dots: seeds"
    else:
        for row in rows:
            values, intervals = _values(row, attacks)
            series.append((row["label"], values, error_bars(values, intervals), []))
        bars_are = "error bars: 95% Wilson interval"

    fig = Figure(figsize=(max(6.0, 1.4 * len(groups) + 2), 4.4))
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / max(1, len(series))
    for i, (label, values, yerr, dots) in enumerate(series):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        bars = ax.bar(xs, [v or 0.0 for v in values], width, label=label, yerr=yerr, capsize=3, ecolor="#333333")
        for seed_values in dots:
            ax.scatter(xs, [v if v is not None else float("nan") for v in seed_values], s=9, color="black", zorder=3)
        for bar, v in zip(bars, values):
            if v is not None:
                ax.annotate(f"{v:.1f}", (bar.get_x() + bar.get_width() / 2, 1.0), ha="center", va="bottom",
                            fontsize=7, color="white")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=15)
    ax.set_ylim(0, 105)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"{report['recipe'].get('name', '')}: accuracy under attack ({report['threat_model']['name']}, "
                 f"{report['subset_size']} examples)\n{bars_are}", fontsize=9)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=max(1, len(series)), frameon=False)
    fig.tight_layout()
    target = Path(target)
    with atomic.atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return target
