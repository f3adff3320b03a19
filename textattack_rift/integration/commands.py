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
        _print_nltk_stopwords(nltk_data.ensure_stopwords(root))
        absent = [name for name, present in nltk_data.textattack_first_run_report().items() if not present]
        if absent:
            print(
                f"NLTK data that TextAttack's first import downloads when online, absent here: {', '.join(absent)} "
                f"(only some stock recipes use them and say so; online: python -m nltk.downloader {' '.join(absent)})"
            )
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


def _print_nltk_stopwords(path) -> None:
    from textattack_rift.resources import nltk_stopwords

    if path is not None:
        print(f"NLTK stop words: NLTK's own corpus from {nltk_stopwords.DISTRIBUTION} "
              f"{nltk_stopwords.packaged_version() or ''}: {path.parent}".replace("  ", " "))
        return
    try:
        import nltk

        print(f"NLTK stop words: NLTK's own download: {nltk.data.find('corpora/stopwords/english')}")
    except LookupError:
        print(f"NLTK stop words: not installed (stock recipes' stop-word constraint needs them: {nltk_stopwords.PIP}, "
              "then textattack-rift prepare)")


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
            from textattack_rift.bench.train_step import run_train_step_cli

            return run_train_step_cli(args)
        elif args.what == "attack":
            from textattack_rift.bench.attack import run_from_args

            return run_from_args(args)
        elif args.what == "similarity":
            from textattack_rift.bench.similarity import run_from_args as run_similarity

            return run_similarity(args)
        return 0

    @staticmethod
    def register_subcommand(subparsers):
        parser = subparsers.add_parser(
            "bench", help="benchmarks (ratios measured in one run)", formatter_class=ArgumentDefaultsHelpFormatter
        )
        parser.add_argument(
            "what",
            choices=["startup", "train-step", "attack", "similarity"],
            help="startup: cost of the .pth hook; train-step: one RIFT step against one plain fine-tuning step (MiniLM); "
            "attack: each recipe through our batch-longest wrapper against TextAttack's stock wrapper; "
            "similarity: rift-textfooler's MiniLM check against the offline USE (validation windows)",
        )
        parser.add_argument("--runs", type=int, default=None, help="repetitions (startup 20, train-step 3)")
        step = parser.add_argument_group("train-step (real rotten_tomatoes batch; see docs/benchmarks.md)")
        step.add_argument("--model", metavar="DIR", default="minilm",
                          help="classifier to time, and for the strength figures as is ('minilm': the packaged "
                          "MiniLM, fine-tuned here first for --finetune-steps)")
        step.add_argument("--synonyms", default="wordnet", help="candidates: wordnet, counterfitted or a JSON table path")
        step.add_argument("--pad-to", type=int, default=None, metavar="N",
                          help="pad our rows' batch to N tokens (64: the issue's reference condition); default: the longest sentence")
        step.add_argument("--variants", default=None, metavar="A,B",
                          help="only these variants (plus the plain ones); default: all (see the table)")
        step.add_argument("--warmup", type=int, default=1, help="untimed rounds (the first visit of warm-started rows)")
        step.add_argument("--threads", type=int, default=2, help="torch threads (0: torch's default)")
        step.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
        step.add_argument("--bf16", action="store_true", help="bf16 autocast")
        step.add_argument("--bf16-compare", action="store_true",
                          help="time every variant with and without bf16 autocast in the same rounds (<name>+bf16 rows)")
        step.add_argument("--seed", type=int, default=0, help="seed of the batch and of the adversaries")
        step.add_argument("--no-timing", action="store_true", help="skip the timing rounds")
        step.add_argument("--no-memory", action="store_true", help="skip the per-variant peak-memory processes")
        step.add_argument("--no-strength", action="store_true", help="skip the adversary-strength figures")
        step.add_argument("--finetune-steps", type=int, default=100,
                          help="plain fine-tuning steps before the strength figures (with --model minilm)")
        step.add_argument("--visits", type=int, default=4, help="simulated visits of the examples (strength)")
        step.add_argument("--val-examples", type=int, default=64, help="validation sentences attacked (strength)")
        step.add_argument("--save-model", metavar="DIR", default=None,
                          help="save the fine-tuned strength model here (reuse it with --model DIR)")
        step.add_argument("--json", metavar="OUT", default=None, help="also write the full result as JSON")
        from textattack_rift.bench.attack import add_arguments as _add_attack_bench_arguments

        _add_attack_bench_arguments(parser)
        from textattack_rift.bench.similarity import add_arguments as _add_similarity_bench_arguments

        _add_similarity_bench_arguments(parser)
        parser.set_defaults(func=BenchCommand())


class RunCommand(TextAttackCommand):
    """Run an experiment recipe: train each method, attack each model on one subset, write the report."""

    def run(self, args):
        from textattack_rift.experiments.report import markdown_table
        from textattack_rift.experiments.run import run_recipe

        report = run_recipe(args.recipe, out_dir=args.out, synonyms=args.synonyms, overrides=args.set or (),
                            seeds=args.seeds)
        print(markdown_table(report))
        return 0 if report["complete"] else 1

    @staticmethod
    def register_subcommand(subparsers):
        parser = subparsers.add_parser(
            "run",
            help="run an experiment recipe (train standard/ASCC/RIFT, attack, report); resumes when rerun",
            formatter_class=ArgumentDefaultsHelpFormatter,
        )
        parser.add_argument("recipe", help="a recipe .toml file, or the name of a shipped one (e.g. rotten_tomatoes-minilm)")
        parser.add_argument("--out", metavar="DIR", default=None,
                            help="output folder (default: runs/<recipe>-<synonyms>/); rerun with it to resume")
        parser.add_argument("--synonyms", default=None,
                            help="synonym set instead of the recipe's: wordnet, counterfitted or a JSON table path")
        parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=None,
                            help="override a recipe value by dotted key, read as TOML (repeatable), "
                            "e.g. --set training.num_epochs=2 --set methods.rift.rift_args.gamma=0.5")
        parser.add_argument("--seeds", metavar="S1,S2,...", default=None,
                            help="train every method once per seed (instead of the recipe's training seed or seeds); "
                            "each seed's models and evaluations go into <out>/seed-<s>/")
        parser.set_defaults(func=RunCommand())


class EvaluateCommand(TextAttackCommand):
    """Attack one model with several attacks on one seeded subset; print the summary table."""

    def run(self, args):
        from textattack_rift.evaluation.runner import evaluate
        from textattack_rift.evaluation.summary import summary_markdown
        from textattack_rift.integration.threat_args import given_threat_flags, saved_threat_model, threat_model_from_args

        threat_model = None  # the model's own threat_model.json (else wordnet), chosen by evaluate
        if given_threat_flags(args):  # the model's own, with only what the flags name replaced
            threat_model = threat_model_from_args(args, base=saved_threat_model(args.model))
        summary = evaluate(
            args.model,
            dataset=args.dataset,
            split=args.split,
            attacks=args.attacks,
            num_examples=args.num_examples,
            seed=args.seed,
            out_dir=args.out,
            threat_model=threat_model,
            parallel=args.parallel,
            attack_options=_parse_attack_options(args.attack_option or ()),
            progress=not args.no_progress,
            shard=args.shard,
        )
        from pathlib import Path

        print((Path(summary["out_dir"]) / "summary.md").read_text(encoding="utf-8"))
        print(f"results in {summary['out_dir']} (results.jsonl, summary.json, summary.md, accuracy.png)")
        return 0

    @staticmethod
    def register_subcommand(subparsers):
        from textattack_rift.integration.threat_args import add_threat_model_arguments

        parser = subparsers.add_parser(
            "evaluate",
            help="attack a model with several attacks on one seeded subset of a split; resumable",
            description="Attack a model with several attacks on ONE seeded subset of a split and write results.jsonl, "
            "summary.json/.md and accuracy.png. Threat model: the flags below, else the model's threat_model.json, "
            "else wordnet. Rerun the same command to resume.",
            formatter_class=ArgumentDefaultsHelpFormatter,
        )
        parser.add_argument("--model", required=True, help="registered name (rift-bert), model directory, or alias/hub id")
        parser.add_argument("--dataset", default="rotten_tomatoes", help="dataset name (name^subset) or a local data file")
        parser.add_argument("--split", default="test", help="split, slices allowed (test, validation[:500])")
        parser.add_argument("--attacks", default="rift-pwws,rift-textfooler,rift-genetic,rift-ascc",
                            help="comma-separated attack recipes (rift-* or stock names such as pwws)")
        parser.add_argument("--num-examples", type=_num_examples, default=100,
                            help="size of the seeded subset ('all' for the whole split)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the subset (and of randomised attacks)")
        parser.add_argument("--out", default=None,
                            help="output folder (default <model dir>/evaluation/<dataset>-<split>-n<N>-seed<S>)")
        parser.add_argument("--parallel", type=int, default=1, help="worker processes")
        parser.add_argument("--shard", default=None, metavar="K/N",
                            help="attack only the K-th of N disjoint shares (K from 1; 'auto': from RANK/WORLD_SIZE or "
                            "SLURM_ARRAY_TASK_ID/COUNT); rerun without --shard to merge")
        parser.add_argument("--attack-option", action="append", metavar="[ATTACK:]KEY=VALUE", default=None,
                            help="a recipe option, for one attack or all (repeatable), e.g. rift-genetic:pop_size=20")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        add_threat_model_arguments(parser.add_argument_group("threat model"))
        parser.set_defaults(func=EvaluateCommand(), synonyms=None)


def _num_examples(value: str):
    from argparse import ArgumentTypeError

    if value.strip().lower() == "all":
        return None
    try:
        number = int(value)
    except ValueError:
        raise ArgumentTypeError(f"expected a positive integer or 'all', got {value!r}") from None
    if number < 1:
        raise ArgumentTypeError(f"expected a positive integer or 'all', got {value!r}")
    return number


def _parse_attack_options(items) -> dict:
    """``[ATTACK:]KEY=VALUE`` strings -> ``{attack or "*": {key: value}}``; values read as JSON when they parse."""
    import json

    from textattack_rift.errors import RiftUserError

    out: dict = {}
    for item in items:
        head, sep, value = item.partition("=")
        if not sep or not head.strip():
            raise RiftUserError(f"--attack-option {item!r}: write [ATTACK:]KEY=VALUE, e.g. rift-genetic:pop_size=20")
        attack, _, key = head.rpartition(":")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        out.setdefault(attack.strip() or "*", {})[key.strip()] = parsed
    return out


def _threat_cell(threat) -> str:
    if not threat:
        return "-"
    parts = [str(threat.get("synonyms") or "?")]
    if threat.get("max_word_ratio"):
        parts.append(f"ratio {threat['max_word_ratio']}")
    if threat.get("pos_check"):
        parts.append("POS")
    return " ".join(parts) + f" ({str(threat.get('fingerprint') or '')[:8]})"


def _robustness_cell(results) -> str:
    """The card's last evaluation: accuracy under all its attacks, with clean accuracy and size."""
    if not results:
        return "not evaluated"
    last = results[-1]
    more = f"; {len(results) - 1} more in the card" if len(results) > 1 else ""
    return (f"{last['accuracy_under_attack']} under {len(last['attacks'])} attacks "
            f"(clean {last['clean_accuracy']}, n={last['examples']}{more})")


def _models_table(models) -> str:
    """One row per registered model: name (and the aliases pointing at it), method, dataset, threat
    model, robustness from its card, directory."""
    head = ("name", "method", "dataset", "threat model", "robustness", "directory")
    rows = [head]
    for m in models:
        name = m["name"] + (f" ({', '.join(m['aliases'])})" if m["aliases"] else "")
        where = m["path"] + ("" if m["exists"] else "  [directory missing]")
        rows.append((name, m.get("method") or "-", m.get("dataset") or "-", _threat_cell(m.get("threat_model")),
                     _robustness_cell(m.get("robustness")), where))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)) + "  " + r[-1] for r in rows)


class ModelsCommand(TextAttackCommand):
    """The local model registry: list, show or remove names (removing never deletes files)."""

    def run(self, args):
        import json

        from textattack_rift.errors import RiftUserError
        from textattack_rift.models import registry

        if args.action == "list":
            models = registry.list_models()
            if not models:
                print(f"no registered models (registry: {registry.registry_path()})")
                return 0
            print(_models_table(models))
            return 0
        if not args.name:
            raise RiftUserError(f"textattack-rift models {args.action} needs a NAME (see `textattack-rift models list`)")
        if args.action == "show":
            from pathlib import Path

            entry = registry.require(args.name)
            card = Path(entry["path"]) / "README.md"
            entry["card"] = str(card) if card.is_file() else None
            print(json.dumps(entry, indent=2, sort_keys=True))
            return 0
        removed = registry.remove_model(args.name)
        print(f"removed {', '.join(removed)} (files are kept)")
        return 0

    @staticmethod
    def register_subcommand(subparsers):
        parser = subparsers.add_parser(
            "models", help="list, show or remove names in the local model registry",
            formatter_class=ArgumentDefaultsHelpFormatter,
        )
        parser.add_argument("action", choices=["list", "show", "remove"])
        parser.add_argument("name", nargs="?", default=None, help="model name (show, remove)")
        parser.set_defaults(func=ModelsCommand())


def register_all(subparsers) -> None:
    for command in (DoctorCommand, PrepareCommand, ThreatCommand, BenchCommand, RunCommand, EvaluateCommand, ModelsCommand):
        command.register_subcommand(subparsers)
