"""``eval_config.json``: what an evaluation folder holds results for, checked before resuming.

Results can be reused only for the same model weights, dataset, split, subset (size, seed and the
rows' contents), threat model and per-attack options. The list of attacks may grow or shrink between
runs: each (attack, example) record stands on its own, so adding an attack to a finished evaluation
attacks only with the new one. The subset may grow (a larger ``--num-examples``, same seed): the
subsets of one seed are nested (``subset.subset_indices``), so the records of the rows it had stay
valid when those rows read the same; a smaller subset than the folder's is refused.

The settings each attack resolved to (``settings.attack_settings``: encoder and threshold, LM, search,
package versions) are kept under ``settings`` for people to read; the check that refuses to mix them
compares the records themselves (``runner._check_settings``), which every shard and worker writes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Mapping

from textattack_rift.errors import RiftUserError
from textattack_rift.resources import atomic

FILENAME = "eval_config.json"
FORMAT = "textattack-rift/evaluation"
VERSION = 1
# key -> how a mismatch is described
_CHECKED = {
    "model_fingerprint": "model weights",
    "dataset": "dataset",
    "split": "split",
    "num_examples": "--num-examples",
    "seed": "--seed",
    "attack_seed": "attack seed",
    "subset_fingerprint": "the subset's rows (the dataset copy changed?)",
    "threat_fingerprint": "threat model",
}
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")


def model_fingerprint(model_path: str) -> str:
    """Digest of a model directory's weight files (and config); a hub id stands for itself."""
    path = Path(model_path)
    if not path.is_dir():
        return f"hub:{model_path}"
    digest = hashlib.sha256()
    for name in ("config.json", *_WEIGHT_FILES):
        file = path / name
        if file.is_file():
            digest.update(name.encode())
            with open(file, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()[:16]


def build_config(**fields) -> dict:
    return {"format": FORMAT, "version": VERSION, **fields}


def _show(value) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


# what may differ when the subset grew: its size, and the digest of its rows
_GROWABLE = ("num_examples", "subset_fingerprint")


def _grown(directory: Path, stored: Mapping, config: Mapping, fingerprint_of) -> bool:
    """True when ``config``'s subset contains the stored one and the stored rows still read the same
    (``fingerprint_of(rows)``: the digest of those rows now); a smaller subset of the same seed is
    refused here, with the size the folder needs."""
    old, new = stored.get("indices"), config.get("indices")
    if old is None or new is None or list(old) == list(new) or stored.get("seed") != config.get("seed"):
        return False
    if set(new) < set(old):
        raise RiftUserError(
            f"{directory} holds an evaluation of {len(old)} examples (seed {stored.get('seed')}); a subset of "
            f"{len(new)} is smaller: give --num-examples >= {len(old)} (a larger subset reuses its records), "
            "or another --out"
        )
    return fingerprint_of is not None and set(old) <= set(new) and fingerprint_of(list(old)) == stored.get("subset_fingerprint")


def check_and_store(directory: Path, config: Mapping, fingerprint_of=None) -> dict:
    """Compare ``config`` with the folder's stored one (error naming the first mismatch), then store
    the merged config (attacks accumulate). Returns what was stored. ``fingerprint_of(rows)``: the
    subset fingerprint of those row indices now, which lets a grown subset keep its records."""
    path = Path(directory) / FILENAME
    stored: dict = {}
    if path.is_file():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise RiftUserError(f"{path} is not valid JSON ({err.msg}): delete the folder or choose another --out") from None
        if stored.get("format") != FORMAT:
            raise RiftUserError(f"{path} was not written by textattack-rift evaluate: choose another --out")
        if "attack_seed" not in stored and "seed" in stored:  # before the attack seed was its own setting
            stored = {**stored, "attack_seed": stored["seed"]}
        grown = None  # decided after the model, dataset and split matched
        for key, label in _CHECKED.items():
            if key in _GROWABLE:
                grown = _grown(Path(directory), stored, config, fingerprint_of) if grown is None else grown
                if grown:
                    continue
            if key in stored and stored[key] != config.get(key):
                raise RiftUserError(
                    f"{directory} holds an evaluation with a different {label} ({_show(stored[key])}, now "
                    f"{_show(config.get(key))}): use another --out, or the same arguments to resume"
                )
        old_attacks = stored.get("attacks") or {}
        for name, options in (config.get("attacks") or {}).items():
            if name in old_attacks and old_attacks[name] != options:
                raise RiftUserError(
                    f"{directory} holds {name} results with options {_show(old_attacks[name])}, now {_show(options)}: "
                    "use another --out, or the same options to resume"
                )
    merged = dict(config)
    merged["attacks"] = {**(stored.get("attacks") or {}), **(config.get("attacks") or {})}
    os.makedirs(directory, exist_ok=True)
    atomic.write_json(path, merged)
    return merged


def store_settings(directory: Path, resolved: Mapping[str, Mapping]) -> None:
    """Record each attack's resolved settings in the folder's config (latest run's, per attack)."""
    path = Path(directory) / FILENAME
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return  # check_and_store wrote it just before; nothing to add to
    merged = {**(stored.get("settings") or {}), **{k: dict(v) for k, v in resolved.items()}}
    if stored.get("settings") != merged:
        atomic.write_json(path, {**stored, "settings": merged})
