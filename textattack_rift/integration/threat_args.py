"""The command-line face of ``ThreatModel``: one set of flags shared by every command that takes one.

A model trained by textattack-rift carries its threat model (``threat_model.json``). Commands that
attack or evaluate such a model start from it, and each flag given replaces only what it names:
``--max-word-ratio 0.2`` adds the cap to the model's own synonyms and settings, it does not fall back to
the default WordNet set.
"""

from __future__ import annotations

import os
from argparse import Namespace

THREAT_DESTS = ("synonyms", "max_word_ratio", "pos_check")
THREAT_FLAGS = {"synonyms": "--synonyms", "max_word_ratio": "--max-word-ratio", "pos_check": "--pos-check"}


def add_threat_model_arguments(group) -> None:
    group.add_argument(
        "--synonyms",
        default="wordnet",
        help="synonym set of the threat model: wordnet (offline default), counterfitted (the paper's table) "
        "or a path to a JSON table {word: [synonyms]}",
    )
    group.add_argument(
        "--max-word-ratio", type=float, default=None, help="at most this share of the words may be swapped"
    )
    group.add_argument(
        "--pos-check", action="store_true", help="a swap must keep the word's part of speech (WordNet, offline)"
    )


def given_threat_flags(args) -> list[str]:
    """The threat-model flags set on the command line (for commands whose --synonyms defaults to None)."""
    given = []
    if getattr(args, "synonyms", None) is not None:
        given.append(THREAT_FLAGS["synonyms"])
    if getattr(args, "max_word_ratio", None) is not None:
        given.append(THREAT_FLAGS["max_word_ratio"])
    if getattr(args, "pos_check", False):
        given.append(THREAT_FLAGS["pos_check"])
    return given


def saved_threat_model(model_name: str | None):
    """The ``threat_model.json`` saved beside the model ``model_name`` (a registered name or a
    directory), or None when it has none or the name is not ours to resolve."""
    if not model_name:
        return None
    try:
        from textattack_rift.models.names import resolve_model_name

        path = resolve_model_name(model_name)
    except Exception:  # not ours: TextAttack resolves (or rejects) it later
        return None
    if not os.path.isfile(os.path.join(str(path), "threat_model.json")):
        return None
    from textattack_rift.threat import ThreatModel

    return ThreatModel.load(path)


def threat_model_from_args(args: Namespace, base=None):
    """The threat model the flags describe. Without ``base``: the flags alone (defaults for the rest).
    With ``base`` (a model's saved threat model): ``base``, with only the flags that were given
    replacing what they name (``synonyms`` None, ``max_word_ratio`` None and ``pos_check`` False mean
    not given)."""
    from textattack_rift.threat import ThreatModel

    if base is None:
        return ThreatModel.from_cli(
            args.synonyms, max_word_ratio=args.max_word_ratio, pos_check=bool(args.pos_check)
        )
    settings = dict(
        stopwords=base.stopwords,
        max_word_ratio=base.max_word_ratio if args.max_word_ratio is None else args.max_word_ratio,
        pos_check=True if args.pos_check else base.pos_check,
        perturbable_columns=base.perturbable_columns,
    )
    if args.synonyms is not None:
        return ThreatModel(args.synonyms, **settings)
    if base.synonym_spec is None:  # an in-memory set: keep it (loaded, or failing as the base would)
        return ThreatModel(base.synonyms, **settings)
    return ThreatModel(
        base.synonym_spec,
        synonym_build_args=base.synonym_build_args,
        expected_synonym_fingerprint=base.expected_synonym_fingerprint,
        **settings,
    )
