"""The command-line face of ``ThreatModel``: one set of flags shared by every command that takes one."""

from __future__ import annotations

from argparse import Namespace

THREAT_DESTS = ("synonyms", "max_word_ratio", "pos_check")


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


def threat_model_from_args(args: Namespace):
    from textattack_rift.threat import ThreatModel

    return ThreatModel.from_cli(
        args.synonyms, max_word_ratio=args.max_word_ratio, pos_check=bool(args.pos_check)
    )
