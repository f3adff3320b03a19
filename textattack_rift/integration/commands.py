"""textattack-rift's own subcommands (``doctor``, ``prepare``), in TextAttack's command style."""

from __future__ import annotations

import sys
from argparse import ArgumentDefaultsHelpFormatter

from textattack.commands import TextAttackCommand


class DoctorCommand(TextAttackCommand):
    """List every resource, where it was found or how to get it; exit 0 when the core set is there."""

    def run(self, args):
        from textattack_rift.resources.doctor import core_ok, format_table, run_checks

        rows = run_checks()
        print(format_table(rows))
        ok = core_ok(rows)
        print("core resources: " + ("all present" if ok else "MISSING (see above)"))
        return 0 if ok else 1

    @staticmethod
    def register_subcommand(subparsers):
        parser = subparsers.add_parser(
            "doctor", help="check offline resources and optional extras", formatter_class=ArgumentDefaultsHelpFormatter
        )
        parser.set_defaults(func=DoctorCommand())


class PrepareCommand(TextAttackCommand):
    """Build the offline resources once: NLTK data, the local dataset copies, the WordNet synonym set."""

    def run(self, args):
        from textattack_rift.data import build_rotten_tomatoes
        from textattack_rift.resources import nltk_data

        root = nltk_data.bootstrap()
        print(f"NLTK data: {root}")
        if nltk_data.ensure_wordnet(root) is None:
            print(f"WordNet: not found ({nltk_data.WORDNET_APT_HINT})", file=sys.stderr)
        path = build_rotten_tomatoes(force=args.force)
        print(f"rotten_tomatoes: {path}")
        if not args.skip_synonyms:
            from textattack_rift.threat import build_synonym_set

            synonyms = build_synonym_set("wordnet")
            print(f"synonyms wordnet: {len(synonyms)} words with candidates")
        return 0

    @staticmethod
    def register_subcommand(subparsers):
        parser = subparsers.add_parser(
            "prepare",
            help="build offline resources (NLTK data, rotten_tomatoes copy, WordNet synonyms)",
            formatter_class=ArgumentDefaultsHelpFormatter,
        )
        parser.add_argument("--force", action="store_true", help="rebuild the dataset copies")
        parser.add_argument("--skip-synonyms", action="store_true", help="do not build the WordNet synonym set")
        parser.set_defaults(func=PrepareCommand())


class ThreatCommand(TextAttackCommand):
    """Build a threat model from the shared flags, describe it, optionally save ``threat_model.json``."""

    def run(self, args):
        from textattack_rift.integration.threat_args import threat_model_from_args

        threat_model = threat_model_from_args(args)
        print(threat_model.describe())
        print(f"synonym set {threat_model.synonyms.name}: {len(threat_model.synonyms)} words with candidates, "
              f"fingerprint {threat_model.synonyms.fingerprint}; threat model fingerprint {threat_model.fingerprint}")
        if args.save:
            threat_model.save(args.save)
            print(f"wrote {args.save}/threat_model.json")
        return 0

    @staticmethod
    def register_subcommand(subparsers):
        from textattack_rift.integration.threat_args import add_threat_model_arguments

        parser = subparsers.add_parser(
            "threat", help="build and describe a threat model (synonym set + constraints)",
            formatter_class=ArgumentDefaultsHelpFormatter,
        )
        add_threat_model_arguments(parser)
        parser.add_argument("--save", metavar="DIR", default=None, help="write DIR/threat_model.json")
        parser.set_defaults(func=ThreatCommand())


class BenchCommand(TextAttackCommand):
    """Benchmarks that print ratios measured in one run."""

    def run(self, args):
        if args.what == "startup":
            from textattack_rift.bench.startup import bench_startup, format_startup

            print(format_startup(bench_startup(args.runs or 20)))
        elif args.what == "train-step":
            import json

            from textattack_rift.training.bench import bench_train_step

            result = bench_train_step(repeats=args.runs or 3)
            print(json.dumps(result, indent=2))
            print(
                f"RIFT step / plain step: {result['rift_ratio']:.1f}x with {result['adv_steps']} fresh adversary steps, "
                f"{result['rift_warm_ratio']:.1f}x warm-started ({result['warm_steps']} steps), "
                f"{result['rift_short_ratio']:.1f}x with {result['warm_steps']} fresh steps at lr {result['short_lr']}"
            )
        return 0

    @staticmethod
    def register_subcommand(subparsers):
        parser = subparsers.add_parser(
            "bench", help="benchmarks (ratios measured in one run)", formatter_class=ArgumentDefaultsHelpFormatter
        )
        parser.add_argument(
            "what",
            choices=["startup", "train-step"],
            help="startup: cost of the .pth hook; train-step: one RIFT step against one plain fine-tuning step (MiniLM)",
        )
        parser.add_argument("--runs", type=int, default=None, help="repetitions (startup 20, train-step 3)")
        parser.set_defaults(func=BenchCommand())


def register_all(subparsers) -> None:
    for command in (DoctorCommand, PrepareCommand, ThreatCommand, BenchCommand):
        command.register_subcommand(subparsers)
