"""Evaluation: one seeded subset of a split, several attacks, per-example records, and the report.

``evaluate(model, dataset, split, attacks, num_examples, seed, ...)`` (``runner``) writes
``results.jsonl`` (``records``), ``summary.json`` / ``summary.md`` (``summary``) and ``accuracy.png``
(``plot``) into one folder, and resumes when called again with the same arguments.
"""

from __future__ import annotations

from textattack_rift._lazy import lazy_exports

_LAZY = {
    "evaluate": "textattack_rift.evaluation.runner",
    "subset_indices": "textattack_rift.evaluation.subset",
    "summarize": "textattack_rift.evaluation.summary",
    "summary_markdown": "textattack_rift.evaluation.summary",
    "ResultsStore": "textattack_rift.evaluation.records",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
