"""``textattack-rift bench attack``: our batch-longest wrapper against TextAttack's stock wrapper.

One run attacks the same ``rotten_tomatoes`` test sentences with each recipe twice, once through
``PaddedHuggingFaceModelWrapper`` and once through TextAttack's ``HuggingFaceModelWrapper`` (which pads
every query to the tokenizer's maximum, 512 for MiniLM), around the same model object, and reports:

- examples per second of each and their ratio (stock seconds / ours);
- whether the results are identical example by example (result type and perturbed text);
- queries (the goal function's count) and model rows (texts that reached the wrapper after
  TextAttack's output cache);
- the share of our run's wall time spent in the model: inside the wrapper's ``__call__`` (tokenising
  and the forward pass) plus, for rift-ascc, the adversary's forward/backward passes; the rest is
  TextAttack's framework (transformations, constraints, bookkeeping);
- for rift-genetic, the language-model filter's share of our run's wall time; for rift-textfooler, the
  sentence encoder's (MiniLM) share.

``--selection`` picks rift-genetic's search (``paper``, the default, or ``textattack``); with
``--genetic-against reference`` rift-genetic's second run is not the stock wrapper but the paper
search's straightforward TextAttack-object implementation (``fast=False``) through our wrapper, so
the ratio is the word-list search's speed-up and ``identical`` compares the two implementations.

The sentences are the first ``num_examples`` test sentences the model classifies correctly (a
misclassified one is skipped at no cost and would only dilute both timings). Each recipe first attacks
one further sentence untimed, so one-off loads (synonym set, WordNet, encoders, the LM, candidate ids)
are out of the timings. The two wrappers take turns example by example (a change in machine load hits
both alike), and each example is attacked with the same NumPy/random/torch seeds through both.

Model: ``--model DIR`` (a fine-tuned classifier), or ``minilm`` (default): the packaged MiniLM fine-tuned
here for ``--finetune-steps`` steps (batch 32, AdamW 5e-5, max 64 tokens) on ``rotten_tomatoes`` train
sentences, kept in ``<cache>/bench/`` and reused by later runs.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from textattack_rift.errors import RiftUserError

DEFAULT_RECIPES = ("rift-pwws", "rift-textfooler", "rift-genetic", "rift-ascc", "pwws")
BENCH_MAX_LENGTH = 64


# -- the model ------------------------------------------------------------------------------------
def bench_model_dir(steps: int, seed: int = 0) -> Path:
    """The packaged MiniLM fine-tuned for ``steps`` steps on rotten_tomatoes train (built once, cached)."""
    from textattack_rift.resources.paths import cache_root

    target = cache_root() / "bench" / f"minilm-rotten_tomatoes-{steps}steps-seed{seed}"
    if (target / "config.json").is_file():
        return target
    import transformers

    from textattack_rift.data import load_dataset
    from textattack_rift.models.names import resolve_model_name
    from textattack_rift.resources.atomic import atomic_path

    path = resolve_model_name("minilm")
    torch.manual_seed(seed)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, use_fast=True)
    data = load_dataset("rotten_tomatoes", split="train").shuffle(seed=seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    model.train()
    batch_size = 32
    for step in range(steps):
        if step % 25 == 0:
            print(f"fine-tuning the benchmark model: step {step}/{steps}", file=sys.stderr, flush=True)
        rows = data[(step * batch_size) % len(data) : (step * batch_size) % len(data) + batch_size]
        batch = tokenizer(rows["text"], padding=True, truncation=True, max_length=BENCH_MAX_LENGTH, return_tensors="pt")
        loss = model(**batch, labels=torch.tensor(rows["label"])).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    with atomic_path(target) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return target


# -- timed wrappers ---------------------------------------------------------------------------------
class _Timing:
    """Counts the seconds, calls and rows of ``__call__`` (tokenising + forward pass)."""

    def reset_counters(self) -> None:
        self.seconds, self.calls, self.rows = 0.0, 0, 0

    def __call__(self, text_input_list):
        began = time.perf_counter()
        try:
            return super().__call__(text_input_list)
        finally:
            self.seconds += time.perf_counter() - began
            self.calls += 1
            self.rows += len(text_input_list)


def timed_wrappers(model, tokenizer):
    """``(ours, stock)``: timed batch-longest and timed stock wrappers around the same model."""
    from textattack.models.wrappers import HuggingFaceModelWrapper

    from textattack_rift.models.wrapper import PaddedHuggingFaceModelWrapper

    class TimedPadded(_Timing, PaddedHuggingFaceModelWrapper):
        pass

    class TimedStock(_Timing, HuggingFaceModelWrapper):
        pass

    ours, stock = TimedPadded(model, tokenizer), TimedStock(model, tokenizer)
    ours.reset_counters()
    stock.reset_counters()
    return ours, stock


# -- examples ---------------------------------------------------------------------------------------
def correct_examples(wrapper, count: int, split: str = "test", scan: int = 400) -> list[tuple[str, int]]:
    """The first ``count`` sentences of ``split`` (among the first ``scan``) the model gets right."""
    from textattack_rift.data import load_dataset

    data = load_dataset("rotten_tomatoes", split=f"{split}[:{scan}]")
    texts, labels = list(data["text"]), list(data["label"])
    predictions = []
    for start in range(0, len(texts), 64):
        predictions.extend(wrapper(texts[start : start + 64]).argmax(-1).tolist())
    chosen = [(t, int(y)) for t, y, p in zip(texts, labels, predictions) if int(p) == int(y)]
    if len(chosen) < count:
        raise RiftUserError(f"the model gets only {len(chosen)} of {scan} {split} sentences right; need {count}")
    return chosen[:count]


# -- one run ----------------------------------------------------------------------------------------
def _lm_filter(attack):
    from textattack_rift.attack_recipes.language_model import WindowLanguageModelFilter

    return next((c for c in attack.constraints if isinstance(c, WindowLanguageModelFilter)), None)


def _encoder(attack):
    from textattack_rift.attack_recipes.sentence_encoder import MiniLMSentenceEncoder

    return next((c for c in attack.constraints if isinstance(c, MiniLMSentenceEncoder)), None)


def _describe(result) -> dict:
    return {
        "result": type(result).__name__.replace("AttackResult", "").lower(),
        "perturbed": result.perturbed_result.attacked_text.text,
        "queries": int(result.perturbed_result.num_queries),
    }


class RecipeRun:
    """One recipe built against one wrapper; ``attack`` accumulates the time of each part, as deltas of
    the counters, so several runs can be interleaved example by example."""

    def __init__(self, recipe: str, wrapper, options: dict, threat_model, fast: bool = True):
        from textattack_rift.attack_recipes import build_attack

        self.wrapper = wrapper
        self.attack_object = build_attack(
            recipe, wrapper, threat_model=threat_model if recipe.startswith("rift-") else None, **options
        )
        if not fast:  # the paper genetic search's TextAttack-object implementation
            self.attack_object.search_method.fast = False
        self.lm, self.encoder = _lm_filter(self.attack_object), _encoder(self.attack_object)
        if self.lm is not None:  # time the LM itself, not the persistent score cache (lm_cache)
            self.lm.set_cache(False)
        self.totals = dict.fromkeys(("seconds", "wrapper_seconds", "adversary_seconds", "lm_seconds", "encoder_seconds",
                                     "wrapper_calls", "model_rows", "lm_windows"), 0.0)
        self.outcomes: list[dict] = []

    def _counters(self) -> dict:
        search = self.attack_object.search_method
        return {
            "wrapper_seconds": self.wrapper.seconds,
            "wrapper_calls": self.wrapper.calls,
            "model_rows": self.wrapper.rows,
            "adversary_seconds": getattr(search, "adversary_seconds", 0.0),
            "lm_seconds": self.lm.seconds if self.lm is not None else 0.0,
            "lm_windows": self.lm.windows_scored if self.lm is not None else 0,
            "encoder_seconds": self.encoder.seconds if self.encoder is not None else 0.0,
        }

    def attack(self, text: str, label: int, seed: int, record: bool = True):
        random.seed(seed), np.random.seed(seed), torch.manual_seed(seed)
        before = self._counters()
        began = time.perf_counter()
        result = self.attack_object.attack(text, label)
        wall = time.perf_counter() - began
        if record:
            after = self._counters()
            self.totals["seconds"] += wall
            for key in before:
                self.totals[key] += after[key] - before[key]
            self.outcomes.append(_describe(result))
        return result

    def summary(self) -> dict:
        t = self.totals
        wall = t["seconds"]
        model = t["wrapper_seconds"] + t["adversary_seconds"]

        def share(value):
            return value / wall if wall else None

        return {
            "seconds": wall,
            "examples_per_second": len(self.outcomes) / wall if wall else float("inf"),
            "model_seconds": model,
            "model_share": share(model),
            "wrapper_calls": int(t["wrapper_calls"]),
            "model_rows": int(t["model_rows"]),
            "queries": sum(o["queries"] for o in self.outcomes),
            "lm_seconds": t["lm_seconds"] if self.lm is not None else None,
            "lm_share": share(t["lm_seconds"]) if self.lm is not None else None,
            "lm_windows_scored": int(t["lm_windows"]) if self.lm is not None else None,
            "encoder_seconds": t["encoder_seconds"] if self.encoder is not None else None,
            "encoder_share": share(t["encoder_seconds"]) if self.encoder is not None else None,
            "outcomes": self.outcomes,
            "rift_options": getattr(self.attack_object, "rift_options", None),
        }


def run_recipe(recipe: str, wrappers: dict, examples, warmup, seed: int, options: dict, threat_model) -> dict:
    """Attack ``examples`` with ``recipe`` through each wrapper (name -> wrapper), alternating wrappers
    example by example so that a change in machine load hits all alike; the warm-up example is untimed.
    The run named ``reference`` uses the paper genetic search's reference implementation."""
    runs = {
        name: RecipeRun(recipe, wrapper, options, threat_model, fast=name != "reference")
        for name, wrapper in wrappers.items()
    }
    for run in runs.values():
        run.attack(*warmup, seed=seed, record=False)
    for index, (text, label) in enumerate(examples):
        for run in runs.values():
            run.attack(text, label, seed=seed + 1 + index)
    return {name: run.summary() for name, run in runs.items()}


def bench_attack(
    model: str = "minilm",
    num_examples: int = 5,
    recipes=DEFAULT_RECIPES,
    synonyms: str = "wordnet",
    pop_size: int = 20,
    max_iters: int = 5,
    lm: str = "smollm2",
    stock: bool = True,
    selection: str = "paper",
    genetic_against: str = "stock",
    seed: int = 0,
    finetune_steps: int = 100,
    device: str = "cpu",
) -> dict:
    """Run every recipe with our wrapper and (``stock``) TextAttack's; see the module docstring."""
    import transformers

    from textattack_rift.attack_recipes import RECIPES, canonical_name
    from textattack_rift.models.names import resolve_model_name
    from textattack_rift.threat import ThreatModel

    recipes = [canonical_name(r.strip()) for r in (recipes.split(",") if isinstance(recipes, str) else recipes) if r.strip()]
    unknown = [r for r in recipes if r.startswith("rift-") and r not in RECIPES]
    if unknown:
        raise RiftUserError(f"unknown recipe(s) {', '.join(unknown)}; rift- recipes: {', '.join(sorted(RECIPES))}")
    if genetic_against not in ("stock", "reference"):
        raise RiftUserError(f"--genetic-against must be stock or reference, got {genetic_against!r}")
    if genetic_against == "reference" and selection != "paper":
        raise RiftUserError("--genetic-against reference compares the paper search's two implementations: use --selection paper")
    path = bench_model_dir(finetune_steps, seed) if model == "minilm" else Path(resolve_model_name(model))
    net = transformers.AutoModelForSequenceClassification.from_pretrained(str(path)).to(device).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), use_fast=True)
    ours, stock_wrapper = timed_wrappers(net, tokenizer)
    chosen = correct_examples(ours, num_examples + 1)
    warmup, examples = chosen[0], chosen[1:]
    threat_model = ThreatModel(synonyms)
    result = {
        "model": str(path),
        "num_examples": len(examples),
        "synonyms": threat_model.synonym_label,
        "threat_model": threat_model.fingerprint,
        "stock_max_length": int(tokenizer.model_max_length) if tokenizer.model_max_length < 100_000 else 512,
        "threads": torch.get_num_threads(),
        "recipes": {},
    }
    for recipe in recipes:
        genetic = recipe == "rift-genetic"
        options = {"pop_size": pop_size, "max_iters": max_iters, "lm": lm, "selection": selection} if genetic else {}
        second = "reference" if genetic and genetic_against == "reference" else "stock"
        if second == "reference":  # the same wrapper twice: each run counts its own deltas
            wrappers = {"ours": ours, "reference": ours}
        else:
            wrappers = {"ours": ours, "stock": stock_wrapper} if stock else {"ours": ours}
        row = run_recipe(recipe, wrappers, examples, warmup, seed, options, threat_model)
        if second in row:
            same = [a == b for a, b in zip(row["ours"]["outcomes"], row[second]["outcomes"])]
            row["identical"] = all(same)
            row["differing_examples"] = [i for i, s in enumerate(same) if not s]
            row["speedup"] = row[second]["seconds"] / row["ours"]["seconds"] if row["ours"]["seconds"] else None
            row["against"] = second
        result["recipes"][recipe] = row
    return result


def format_result(result: dict) -> str:
    """One line per recipe. ``victim``: share of our wall time in the attacked model (wrapper calls, and
    the adversary's passes for rift-ascc); ``LM/enc``: rift-genetic's LM filter or rift-textfooler's
    sentence encoder; ``framework``: the rest (TextAttack's search, transformations, constraints)."""
    lines = [
        f"model {result['model']}; {result['num_examples']} rotten_tomatoes test sentences; synonyms "
        f"{result['synonyms']} (threat model {result['threat_model']}); {result['threads']} torch threads",
        f"{'recipe':<16} {'ours ex/s':>9} {'stock ex/s':>10} {'ratio':>7} {'identical':>9} {'queries':>8} "
        f"{'rows':>6} {'victim':>7} {'LM/enc':>7} {'framework':>9}",
    ]
    for recipe, row in result["recipes"].items():
        ours, stock = row["ours"], row.get(row.get("against", "stock"))  # stock wrapper, or the reference search
        stock_rate = f"{stock['examples_per_second']:.3f}" if stock else "-"
        ratio = f"{row['speedup']:.1f}x" if stock else "-"
        same = ("yes" if row["identical"] else "NO") if stock else "-"
        aux = ours["lm_share"] if ours["lm_share"] is not None else ours.get("encoder_share")
        aux_text = f"{100 * aux:.1f}%" if aux is not None else "-"
        framework = 1.0 - ours["model_share"] - (aux or 0.0)
        lines.append(
            f"{recipe:<16} {ours['examples_per_second']:>9.3f} {stock_rate:>10} {ratio:>7} {same:>9} "
            f"{ours['queries']:>8} {ours['model_rows']:>6} {100 * ours['model_share']:>6.1f}% {aux_text:>7} "
            f"{100 * framework:>8.1f}%"
        )
    return "\n".join(lines)


def add_arguments(parser) -> None:
    """The ``bench attack`` flags; ``--model``, ``--synonyms``, ``--seed``, ``--json``, ``--device``,
    ``--threads`` and ``--finetune-steps`` are shared with ``bench train-step``."""
    group = parser.add_argument_group("attack (our wrapper against TextAttack's stock wrapper)")
    group.add_argument("--num-examples", type=int, default=5, help="attack: sentences attacked per recipe and wrapper")
    group.add_argument("--recipes", default=",".join(DEFAULT_RECIPES), help="attack: comma-separated recipes")
    group.add_argument("--pop-size", type=int, default=20, help="attack: rift-genetic population (recipe default 60)")
    group.add_argument("--max-iters", type=int, default=5, help="attack: rift-genetic iterations (recipe default 40)")
    group.add_argument("--lm", default="smollm2", help="attack: rift-genetic's LM filter (smollm2, a directory, none)")
    group.add_argument("--no-stock", action="store_true", help="attack: only our wrapper (no ratios)")
    group.add_argument("--selection", default="paper", choices=("paper", "textattack"),
                       help="attack: rift-genetic's search (the paper's, or TextAttack's AlzantotGeneticAlgorithm)")
    group.add_argument("--genetic-against", default="stock", choices=("stock", "reference"),
                       help="attack: rift-genetic's second run: the stock wrapper, or (with --selection paper) the "
                            "paper search's TextAttack-object implementation through our wrapper")


def run_from_args(args) -> int:
    threads = getattr(args, "threads", None)
    if threads:
        torch.set_num_threads(threads)
    result = bench_attack(
        model=getattr(args, "model", None) or "minilm",
        num_examples=args.num_examples,
        recipes=args.recipes,
        synonyms=getattr(args, "synonyms", None) or "wordnet",
        pop_size=args.pop_size,
        max_iters=args.max_iters,
        lm=args.lm,
        stock=not args.no_stock,
        selection=args.selection,
        genetic_against=args.genetic_against,
        seed=getattr(args, "seed", 0) or 0,
        finetune_steps=getattr(args, "finetune_steps", None) or 100,
        device=getattr(args, "device", None) or "cpu",
    )
    print(format_result(result))
    if getattr(args, "json", None):
        from textattack_rift.resources.atomic import write_json

        write_json(args.json, result)
        print(f"wrote {args.json}")
    return 0
