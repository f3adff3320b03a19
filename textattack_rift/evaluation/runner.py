"""``evaluate``: one model, one split, several attacks on ONE seeded subset, resumable, optionally parallel.

The folder (default ``<model dir>/evaluation/<dataset>-<split>-n<N>-seed<S>/``, or
``./evaluation/<model>-<dataset>-<split>-n<N>-seed<S>/`` for a model that is not a directory of the
user's, such as ``minilm``) receives ``eval_config.json``, ``results.jsonl`` (one line per attack and
example, written as it goes), ``summary.json``, ``summary.md`` and ``accuracy.png``. The model card of
a model directory gets the summary as a robustness block.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Mapping, Sequence

from textattack_rift.errors import RiftUserError
from textattack_rift.evaluation import config as eval_config
from textattack_rift.evaluation.records import ResultsStore
from textattack_rift.evaluation.subset import subset_fingerprint, subset_indices
from textattack_rift.evaluation.summary import summarize, summary_markdown
from textattack_rift.resources import atomic

logger = logging.getLogger("textattack_rift.evaluation")

DEFAULT_ATTACKS = ("rift-pwws", "rift-textfooler", "rift-genetic", "rift-ascc")
SUMMARY_FORMAT = "textattack-rift/evaluation-summary"


def _label(text: str) -> str:
    from textattack_rift.models.registry import _sanitize

    return _sanitize(text)


def _attack_names(attacks) -> list[str]:
    from textattack_rift.attack_recipes import canonical_name

    if isinstance(attacks, str):
        attacks = attacks.split(",")
    names: list[str] = []
    for name in attacks or ():
        name = canonical_name(str(name).strip())
        if name and name not in names:
            names.append(name)
    if not names:
        raise RiftUserError("no attacks given: name at least one, e.g. --attacks rift-pwws,rift-ascc")
    return names


def _check_attacks(names: Sequence[str]) -> None:
    """Unknown names, and stock recipes whose resources are missing here, fail before any work."""
    from textattack.attack_args import ATTACK_RECIPE_NAMES

    from textattack_rift.attack_recipes import RECIPES, stock

    known = set(RECIPES) | set(ATTACK_RECIPE_NAMES)
    for name in names:
        if name not in known:
            raise RiftUserError(f"unknown attack {name!r}; known: {', '.join(sorted(known))}")
        if name not in RECIPES:
            stock.preflight(name)


def _attack_options(options: Mapping | None, attacks: Sequence[str]) -> dict[str, dict]:
    """``{attack: {option: value}}``; the key ``"*"`` applies to every attack; all JSON values."""
    from textattack_rift.attack_recipes import canonical_name

    out: dict[str, dict] = {name: {} for name in attacks}
    for key, value in (options or {}).items():
        if not isinstance(value, Mapping):
            raise RiftUserError(f"attack options must map an attack name to its options, e.g. {{'rift-genetic': {{'pop_size': 20}}}}; got {key!r}: {value!r}")
        targets = attacks if key == "*" else [canonical_name(str(key))]
        for target in targets:
            if target not in out:
                raise RiftUserError(f"options given for attack {key!r}, which is not evaluated ({', '.join(attacks)})")
            out[target].update(value)
    try:
        json.dumps(out)
    except TypeError as err:
        raise RiftUserError(f"attack options must be plain values (numbers, strings): {err}") from None
    return out


def _user_model_dir(name: str, resolved: str) -> Path | None:
    """The model's directory when it belongs to the user (a path they gave, or a registered name); not
    a packaged or hub-cache copy behind an alias, which must not receive results or a card."""
    from textattack_rift.models.registry import lookup

    if os.path.isdir(name):
        return Path(name).resolve()
    if lookup(name) is not None:
        return Path(resolved).resolve()
    return None


def _threat_model(threat_model, model_dir: Path | None):
    """(ThreatModel, where it came from): given > the model's threat_model.json > WordNet default."""
    from textattack_rift.threat import ThreatModel

    if isinstance(threat_model, ThreatModel):
        return threat_model, "given"
    if threat_model is not None:
        spec = str(threat_model)
        if Path(spec).is_dir() or spec.endswith("threat_model.json"):
            return ThreatModel.load(spec), "given"
        return ThreatModel(spec), "given"
    if model_dir is not None and (model_dir / "threat_model.json").is_file():
        return ThreatModel.load(model_dir), "the model's threat_model.json"
    return ThreatModel("wordnet"), "default (wordnet)"


def _trained_fingerprint(model_dir: Path | None) -> str | None:
    if model_dir is None:
        return None
    try:
        return json.loads((model_dir / "threat_model.json").read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, json.JSONDecodeError, AttributeError):
        return None


def _dataset_labels(data) -> tuple[int, list[str] | None]:
    feature = data.features.get("label") if hasattr(data, "features") else None
    names = getattr(feature, "names", None)
    if names:
        return len(names), list(names)
    labels = set(int(x) for x in data["label"])
    return (max(labels) + 1 if labels else 0), None


def _check_labels(model_path: str, data, model_name: str, dataset: str, split: str) -> None:
    import transformers

    model_labels = int(transformers.AutoConfig.from_pretrained(model_path).num_labels)
    count, names = _dataset_labels(data)
    if model_labels != count:
        shown = f" ({', '.join(names)})" if names else ""
        raise RiftUserError(
            f"model {model_name!r} predicts {model_labels} labels but {dataset} {split} has {count}{shown}: "
            f"evaluate it on a dataset with {model_labels} labels, or train a model on this one"
        )


def _examples(data, indices: Sequence[int]) -> list[tuple[int, dict, int]]:
    from textattack.datasets import HuggingFaceDataset

    try:
        rows = HuggingFaceDataset(data)
    except ValueError as err:
        raise RiftUserError(f"cannot attack this dataset: {err}") from None
    out = []
    for index in indices:
        inputs, label = rows[index]
        out.append((int(index), dict(inputs), int(label)))
    return out


def _default_out(model_dir: Path | None, model_name: str, dataset: str, split: str, num_examples, seed: int) -> Path:
    n = "all" if num_examples is None else num_examples
    leaf = f"{_label(dataset)}-{_label(split)}-n{n}-seed{seed}"
    if model_dir is not None:
        return model_dir / "evaluation" / leaf
    return Path.cwd() / "evaluation" / f"{_label(model_name)}-{leaf}"


def evaluate(
    model,
    dataset: str = "rotten_tomatoes",
    split: str = "test",
    attacks: Sequence[str] | str = DEFAULT_ATTACKS,
    num_examples: int | None = 100,
    seed: int = 0,
    out_dir: str | os.PathLike | None = None,
    threat_model=None,
    parallel: int = 1,
    attack_options: Mapping | None = None,
    progress: bool = True,
) -> dict:
    """Attack ``num_examples`` rows of ``dataset``/``split`` (one seeded subset shared by all attacks)
    with every attack in ``attacks`` and return the summary (see ``summary.summarize``; percentages).

    ``model``: a registered name, a directory, or an alias/hub id. ``threat_model``: a ThreatModel, a
    synonym-set spec, or None for the model's own ``threat_model.json`` (WordNet when it has none).
    ``attack_options``: ``{attack: {option: value}}`` (``"*"`` for all). ``parallel``: worker processes.
    Calling again with the same arguments finishes what is missing and redoes nothing.
    """
    import textattack_rift  # noqa: F401  (offline NLTK data before TextAttack)
    from textattack_rift.data import load_dataset
    from textattack_rift.models.names import resolve_model_name

    if not isinstance(parallel, int) or parallel < 1:
        raise RiftUserError(f"--parallel must be a positive integer, got {parallel!r}")
    name = str(model)
    model_path = resolve_model_name(name)
    model_dir = _user_model_dir(name, model_path)
    names = _attack_names(attacks)
    _check_attacks(names)
    options = _attack_options(attack_options, names)
    data = load_dataset(dataset, split=split)
    _check_labels(model_path, data, name, dataset, split)
    indices, note = subset_indices(len(data), num_examples, seed)
    if note:
        logger.warning(note)
    examples = _examples(data, indices)
    threat, threat_source = _threat_model(threat_model, model_dir)
    out = Path(out_dir) if out_dir is not None else _default_out(model_dir, name, dataset, split, num_examples, seed)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RiftUserError(f"cannot write the evaluation to {out} ({err.strerror}): pass --out DIR") from None
    eval_config.check_and_store(
        out,
        eval_config.build_config(
            model=name,
            model_path=model_path,
            model_fingerprint=eval_config.model_fingerprint(model_path),
            dataset=dataset,
            split=split,
            num_examples=num_examples,
            seed=seed,
            indices=indices,
            subset_fingerprint=subset_fingerprint(examples),
            threat_fingerprint=threat.fingerprint,
            threat_model=threat.describe(),
            attacks=options,
        ),
    )
    store = ResultsStore(out)
    done = store.load()
    work = [(a, ex) for a in names for ex in examples if (a, ex[0]) not in done]
    if work:
        _run(store, model_path, threat, options, work, seed, parallel, names, indices, done, progress)
    store.merge(names)
    summary = _write_outputs(
        out, store, name, model_path, model_dir, dataset, split, num_examples, seed, indices, note,
        threat, threat_source, options, names,
    )
    return summary


def _run(store, model_path, threat, options, work, seed, parallel, names, indices, done, progress) -> None:
    from tqdm.auto import tqdm

    wanted = set(indices)
    in_scope = [r for (a, i), r in done.items() if a in names and i in wanted]
    successes = sum(1 for r in in_scope if r["status"] == "succeeded")
    bar = tqdm(
        total=len(names) * len(indices), initial=len(in_scope), unit="ex", desc="attacks x examples",
        disable=not progress, dynamic_ncols=True,
    )
    bar.set_postfix(successes=successes)

    def on_status(status: str) -> None:
        nonlocal successes
        successes += status == "succeeded"
        bar.update(1)
        bar.set_postfix(successes=successes)

    try:
        workers = min(parallel, len({ex[0] for _, ex in work}))
        if workers <= 1:
            from textattack_rift.evaluation.worker import AttackSet, run_pairs
            from textattack_rift.models.loading import load_model

            attacks = AttackSet(load_model(model_path), threat, options)
            with store.appender() as out:
                run_pairs(attacks, work, seed, out.append, lambda r: on_status(r["status"]))
        else:
            _run_parallel(store, model_path, threat, options, work, seed, workers, on_status)
    finally:
        bar.close()


def _run_parallel(store, model_path, threat, options, work, seed, workers, on_status) -> None:
    import queue as queue_module

    import torch.multiprocessing as mp

    from textattack_rift.evaluation.worker import shard, worker_main

    ctx = mp.get_context("spawn")
    messages = ctx.Queue()
    threads = max(1, (os.cpu_count() or 1) // workers)
    base = {"model_path": model_path, "threat_model": threat, "options": options, "seed": seed,
            "directory": str(store.directory), "threads": threads}
    procs = [ctx.Process(target=worker_main, args=(rank, {**base, "work": share}, messages))
             for rank, share in enumerate(shard(work, workers))]
    for proc in procs:
        proc.start()
    finished: set[int] = set()
    try:
        while len(finished) < len(procs):
            try:
                kind, rank, payload = messages.get(timeout=1.0)
            except queue_module.Empty:
                dead = [r for r, p in enumerate(procs) if r not in finished and p.exitcode not in (None, 0)]
                if dead:
                    raise RuntimeError(f"evaluation worker {dead[0]} exited with code {procs[dead[0]].exitcode}; "
                                       "rerun the same command to resume")
                continue
            if kind == "record":
                on_status(payload)
            elif kind == "finished":
                finished.add(rank)
            elif kind == "user-error":
                raise RiftUserError(payload)
            else:
                raise RuntimeError(f"evaluation worker {rank} failed:\n{payload}")
    finally:
        for proc in procs:
            if proc.is_alive() and procs.index(proc) not in finished:
                proc.terminate()
        for proc in procs:
            proc.join()


def _write_outputs(out, store, name, model_path, model_dir, dataset, split, num_examples, seed, indices, note,
                   threat, threat_source, options, names) -> dict:
    from textattack_rift.evaluation.plot import accuracy_chart

    records = list(store.load().values())
    numbers = summarize(records, names, indices)
    trained = _trained_fingerprint(model_dir)
    summary = {
        "format": SUMMARY_FORMAT,
        "model": name,
        "model_path": model_path,
        "dataset": dataset,
        "split": split,
        "num_examples_requested": num_examples,
        "seed": seed,
        "note": note,
        "threat_model": {
            "description": threat.describe(),
            "fingerprint": threat.fingerprint,
            "source": threat_source,
            "trained_fingerprint": trained,
        },
        "attack_options": options,
        **numbers,
        "out_dir": str(out),
    }
    title = f"### {name} on {dataset} {split}: {len(indices)} examples, seed {seed}"
    lines = [f"Threat model `{threat.describe()}` (fingerprint `{threat.fingerprint}`, {threat_source})."]
    if trained and trained != threat.fingerprint:
        lines.append(f"**The model was trained under a different threat model (fingerprint `{trained}`).**")
    stock = [a for a in names if not a.startswith("rift-")]
    if stock:
        lines.append(f"Stock recipes ({', '.join(stock)}) use their own word candidates, not this threat model.")
    if note:
        lines.append(f"Note: {note}.")
    markdown = summary_markdown(numbers, title=title, lines_before=lines)
    atomic.write_json(out / "summary.json", summary)
    atomic.write_text(out / "summary.md", markdown)
    accuracy_chart(numbers, out / "accuracy.png", title=f"{name}: {dataset} {split}, n={len(indices)}")
    if model_dir is not None:
        try:
            from textattack_rift.models.card import write_model_card

            # one block per protocol and threat model, wherever --out put the files
            key = f"{_label(dataset)}-{_label(split)}-n{len(indices)}-seed{seed}-tm{threat.fingerprint[:8]}"
            write_model_card(model_dir, robustness_markdown=markdown, robustness_key=key)
        except OSError as err:
            logger.warning(f"could not update the model card in {model_dir}: {err}")
    return summary
