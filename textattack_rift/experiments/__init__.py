"""Experiment recipes (TOML): train several methods under one threat model, attack every model on one
subset, and report the comparison. Names load lazily (importing this package imports no torch)."""

from __future__ import annotations

from textattack_rift._lazy import lazy_exports

_LAZY = {
    "Recipe": "textattack_rift.experiments.recipe",
    "load_recipe": "textattack_rift.experiments.recipe",
    "find_recipe": "textattack_rift.experiments.recipe",
    "available_recipes": "textattack_rift.experiments.recipe",
    "parse_override": "textattack_rift.experiments.recipe",
    "run_recipe": "textattack_rift.experiments.run",
    "default_out_dir": "textattack_rift.experiments.run",
    "build_report": "textattack_rift.experiments.report",
    "read_outcomes": "textattack_rift.experiments.report",
    "write_report": "textattack_rift.experiments.report",
    "markdown_table": "textattack_rift.experiments.report",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
