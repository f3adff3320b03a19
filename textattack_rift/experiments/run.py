"""Run an experiment recipe: train every method, evaluate every model on one subset, write the report.

Everything goes into one output folder, so that the same command resumes after a kill:

    <out>/run.json             the resolved recipe; a rerun with different settings is refused
    <out>/threat_model.json    the one threat model of every method and attack
    <out>/train/<label>/       train_model's output (best_model/, train_summary.json, checkpoints)
    <out>/eval/<label>/        evaluate's output (results.jsonl, summary.json, ...)
    <out>/sessions.json        when each invocation ran, on what hardware, with what software
    <out>/report.json|md|png   the comparison

A recipe with ``training.seeds = [...]`` trains every method once per seed; seed s then has its own
``<out>/seed-<s>/train/<label>/`` and ``<out>/seed-<s>/eval/<label>/`` (a recipe with one
``training.seed`` keeps the layout above). Every seed's models are attacked on the same subset.

A method whose ``train_summary.json`` says finished is not trained again (``train_model`` returns at
once); an interrupted one resumes from its last checkpoint; ``evaluate`` skips examples it already
has. Every method shares the recipe's seed, data order, budget and evaluation subset. A rerun may add
methods, attacks or seeds, or grow the subset (a larger ``evaluation.num_examples``: the subsets of
one subset seed are nested, so only the added examples are attacked); anything else is refused.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Iterable

from textattack_rift.errors import RiftUserError
from textattack_rift.experiments import report as reporting
from textattack_rift.experiments.recipe import Recipe, load_recipe
from textattack_rift.resources import atomic

RUN_FILE = "run.json"
SESSIONS_FILE = "sessions.json"
TRAIN_SUMMARY = "train_summary.json"
EVAL_CONFIG = "eval_config.json"  # evaluate's record of what a folder holds results for (its subset)
# Keys that may differ between invocations on one output folder: they change no number.
_FREE_KEYS = ("name", "description", "evaluation.parallel")


def default_out_dir(recipe: Recipe) -> Path:
    return Path("runs") / f"{recipe.name}-{recipe.synonyms_label}"


def _flatten(obj, prefix: str = "") -> dict:
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out or {prefix.rstrip("."): {}}
    return {prefix.rstrip("."): obj}


def _identity(recipe: Recipe, threat_fingerprint: str) -> dict:
    settings = recipe.to_dict()
    settings["methods"] = {m["label"]: {k: v for k, v in m.items() if k != "label"} for m in settings["methods"]}
    flat = {k: v for k, v in _flatten(settings).items() if not any(k == f or k.startswith(f + ".") for f in _FREE_KEYS)}
    flat["threat_model.fingerprint"] = threat_fingerprint
    return flat


def _compatible(key: str, old, new, previous: dict) -> bool:
    """A difference that only adds work: a new method row, more attacks (evaluate adds them), more
    training seeds, or a larger subset (it contains the smaller one; evaluate attacks the rest)."""
    if key.startswith("methods."):
        label = key.split(".")[1]
        return not any(k == f"methods.{label}" or k.startswith(f"methods.{label}.") for k in previous)
    if key in ("evaluation.attacks", "training.seeds") and isinstance(old, list) and isinstance(new, list):
        return set(old) <= set(new)
    if key == "evaluation.num_examples" and isinstance(old, int) and isinstance(new, int):
        return new >= old
    return False


def _upgrade_identity(previous: dict) -> dict:
    """An identity recorded before the subset and attack seeds were separate: ``evaluation.seed`` was both."""
    previous = dict(previous)
    if "evaluation.seed" in previous:
        seed = previous.pop("evaluation.seed")
        previous.setdefault("evaluation.subset_seed", seed)
        previous.setdefault("evaluation.attack_seed", seed)
    previous.setdefault("training.seeds", None)
    return previous


def check_out_dir(out: Path, recipe: Recipe, threat_fingerprint: str) -> None:
    """Record the resolved recipe in ``out``, or refuse when ``out`` holds a run of other settings
    (resuming it would mix models and subsets of two experiments in one report). Adding a method or
    an attack is allowed: the finished parts stay valid."""
    identity = _identity(recipe, threat_fingerprint)
    path = out / RUN_FILE
    if path.is_file():
        try:
            previous = _upgrade_identity(json.loads(path.read_text(encoding="utf-8"))["identity"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise RiftUserError(f"{path} is damaged; delete it to adopt {out} for this recipe") from None
        differ = sorted(k for k in set(previous) | set(identity) if previous.get(k) != identity.get(k))
        if not differ:
            return
        old_n, new_n = previous.get("evaluation.num_examples"), identity.get("evaluation.num_examples")
        same_subset = previous.get("evaluation.subset_seed") == identity.get("evaluation.subset_seed")
        if isinstance(old_n, int) and isinstance(new_n, int) and new_n < old_n and same_subset:
            raise RiftUserError(
                f"{recipe.path}: evaluation.num_examples: {out} holds a subset of {old_n} examples (subset seed "
                f"{identity.get('evaluation.subset_seed')}); allowed: an integer >= {old_n} (a larger subset reuses "
                "the examples attacked), or another --out"
            )
        conflicts = [k for k in differ if not _compatible(k, previous.get(k), identity.get(k), previous)]
        if conflicts:
            shown = "; ".join(f"{k}: {previous.get(k)!r} -> {identity.get(k)!r}" for k in conflicts[:4])
            more = f" (and {len(conflicts) - 4} more)" if len(conflicts) > 4 else ""
            raise RiftUserError(
                f"{out} holds a run of different settings ({shown}{more}); give another --out DIR, or delete {out} "
                "to start over"
            )
    atomic.write_json(path, {"format": "textattack-rift/experiment-run", "recipe": recipe.to_dict(),
                             "identity": identity})


class _Session:
    """This invocation's entry in ``sessions.json``: written when it starts and after each part, so a
    killed run still shows when it ran, on what machine, and what it finished."""

    def __init__(self, out: Path):
        self.path = out / SESSIONS_FILE
        self.started = time.time()
        previous = _read_json(self.path)
        self.sessions = previous if isinstance(previous, list) else []
        self.entry = {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started)),
            "seconds": 0.0,
            "did": [],
            "finished": False,
            "hardware": reporting.hardware(),
            "software": reporting.software_versions(),
        }
        self.sessions.append(self.entry)
        self._save()

    def _save(self) -> None:
        self.entry["seconds"] = round(time.time() - self.started, 1)
        atomic.write_json(self.path, self.sessions)

    def did(self, part: str) -> None:
        self.entry["did"].append(part)
        self._save()

    def finish(self) -> None:
        self.entry["finished"] = True
        self._save()


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _finished(train_dir: Path) -> bool:
    summary = _read_json(train_dir / TRAIN_SUMMARY)
    return bool(summary and summary.get("finished"))


def _preflight(recipe: Recipe) -> None:
    """Fail before any training on what is missing: the model (offline: hub names), the data splits and
    what the evaluation's attacks need (e.g. rift-genetic's language model)."""
    from textattack_rift.data import load_dataset
    from textattack_rift.evaluation.runner import check_attacks
    from textattack_rift.models.names import resolve_model_name

    ev = recipe.evaluation
    checks = [
        ("model.name", lambda: resolve_model_name(recipe.model.name)),
        ("evaluation.attacks", lambda: check_attacks(tuple(ev.attacks), {k: dict(v) for k, v in ev.attack_options.items()})),
    ]
    for key, split in (("data.train_split", recipe.data.train_split), ("data.eval_split", recipe.data.eval_split),
                       ("evaluation.split", recipe.evaluation.split)):
        checks.append((key, lambda split=split: load_dataset(recipe.data.dataset, split=split)))
    for key, check in checks:
        try:
            check()
        except RiftUserError as err:  # ResourceMissing too: keep its class, add where it came from
            raise type(err)(f"{recipe.path}: {key}: {err}") from None


def seed_dir(out: Path, recipe: Recipe, seed: int) -> Path:
    """Where seed ``seed``'s train/ and eval/ folders sit: ``<out>/seed-<s>`` with ``training.seeds``."""
    return out / f"seed-{seed}" if recipe.per_seed_folders else out


def _subset(recipe: Recipe, out: Path, seeds: Iterable[int]) -> list[int] | None:
    """The row indices the evaluations of ``seeds`` attacked (their ``eval_config.json``), the same for
    every method and seed."""
    subset, source = None, None
    for seed in seeds:
        for m in recipe.methods:
            folder = seed_dir(out, recipe, seed) / "eval" / m.label
            config = _read_json(folder / EVAL_CONFIG) or {}
            indices = config.get("indices")
            if indices is None:
                continue
            if subset is not None and list(indices) != subset:
                raise RiftUserError(f"the evaluations in {source} and {folder} used different subsets; rerun the same "
                                    f"command to bring them to the recipe's subset, or delete them")
            subset, source = list(indices), folder
    return subset


def collect_report(recipe: Recipe, out: Path, threat_model, sessions=(), seeds: Iterable[int] | None = None) -> dict:
    """Build report.json's content from what is on disk in ``out``: one row per (seed, method), for
    ``seeds`` (default: all of the recipe's)."""
    seeds = recipe.seeds if seeds is None else list(seeds)
    methods = []
    for seed in seeds:
        base = seed_dir(out, recipe, seed)
        for m in recipe.methods:
            eval_dir = base / "eval" / m.label
            methods.append({
                "label": m.label,
                "method": m.method,
                "seed": seed,
                "outcomes": reporting.read_outcomes(eval_dir),
                "train_summary": _read_json(base / "train" / m.label / TRAIN_SUMMARY),
                "eval_dir": eval_dir,
            })
    return reporting.build_report(
        recipe={"name": recipe.name, **recipe.to_dict()},
        methods=methods,
        threat_model=threat_model.to_dict(),
        sessions=sessions,
        subset=_subset(recipe, out, seeds),
    )


def run_recipe(
    path: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    synonyms: str | None = None,
    overrides: Iterable[str] = (),
    log: Callable[[str], None] | None = None,
    seeds: Iterable[int] | str | None = None,
) -> dict:
    """Train, evaluate and report the recipe at ``path`` (or a shipped recipe's name); returns the
    report (also written to ``<out>/report.json``, ``report.md``, ``report.png``). ``seeds`` (a list
    or ``"1,2,3"``) replaces the recipe's training seed(s)."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    recipe = load_recipe(path, overrides=overrides, synonyms=synonyms, seeds=seeds)
    out = Path(out_dir) if out_dir is not None else default_out_dir(recipe)
    _preflight(recipe)
    threat_model = recipe.build_threat_model()
    check_out_dir(out, recipe, threat_model.fingerprint)
    threat_model.save(out)
    seeds_shown = ", ".join(str(s) for s in recipe.seeds)
    log(f"[run] {recipe.name}: {len(recipe.methods)} method(s) x {len(recipe.seeds)} seed(s) ({seeds_shown}), "
        f"threat model {threat_model.describe()} ({threat_model.fingerprint}); output {out}")

    session = _Session(out)
    for seed in recipe.seeds:
        base = seed_dir(out, recipe, seed)
        tag = f"seed {seed} " if recipe.per_seed_folders else ""
        for m in recipe.methods:
            _train(recipe, m, seed, base / "train" / m.label, threat_model, log, tag)
            session.did(f"train {tag}{m.label}")
        for m in recipe.methods:
            _evaluate(recipe, m, base, threat_model, log, tag)
            session.did(f"evaluate {tag}{m.label}")
        if seed != recipe.seeds[-1]:  # an interim report of the seeds done: a long run shows them early
            done = recipe.seeds[: recipe.seeds.index(seed) + 1]
            interim = collect_report(recipe, out, threat_model, session.sessions, seeds=done)
            interim.update(complete=False, pending_seeds=recipe.seeds[len(done):])
            reporting.write_report(interim, out)
    session.finish()
    report = collect_report(recipe, out, threat_model, session.sessions)
    paths = reporting.write_report(report, out)
    log(f"[run] wrote {paths['md']}, {paths['json']}, {paths['png']}")
    return report


def _train(recipe: Recipe, m, seed: int, train_dir: Path, threat_model, log, tag: str) -> None:
    from textattack_rift.training.api import train_model

    if _finished(train_dir):
        log(f"[run] {tag}{m.label}: trained already ({train_dir})")
        return
    log(f"[run] {tag}{m.label}: training ({m.method})")
    train_model(
        model=recipe.model.name,
        dataset=recipe.data.dataset,
        train_split=recipe.data.train_split,
        eval_split=recipe.data.eval_split,
        output_dir=train_dir,
        method=m.method,
        rift_args=dict(m.rift_args) if m.method != "textattack-at" else None,
        threat_model=threat_model,
        num_epochs=recipe.training.num_epochs,
        batch_size=recipe.training.batch_size,
        learning_rate=recipe.training.learning_rate,
        max_length=recipe.model.max_length,
        seed=seed,
        max_steps=recipe.training.max_steps,
        resume=True,
        **({"attack": m.attack} if m.attack else {}),
    )


def _evaluate(recipe: Recipe, m, base: Path, threat_model, log, tag: str) -> None:
    from textattack_rift.evaluation import evaluate

    ev = recipe.evaluation
    log(f"[run] {tag}{m.label}: evaluating {', '.join(ev.attacks)} on {ev.num_examples} examples of {ev.split}")
    evaluate(
        str(base / "train" / m.label / "best_model"),
        dataset=recipe.data.dataset,
        split=ev.split,
        attacks=tuple(ev.attacks),
        num_examples=ev.num_examples,
        seed=ev.subset_seed,
        attack_seed=ev.attack_seed,
        out_dir=base / "eval" / m.label,
        threat_model=threat_model,
        parallel=ev.parallel,
        attack_options={k: dict(v) for k, v in ev.attack_options.items()} or None,
    )
