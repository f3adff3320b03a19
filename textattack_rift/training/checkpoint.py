"""A RIFT run directory on disk: its identity, resumable checkpoints and atomic model folders.

Layout inside ``output_dir`` (TextAttack's plus ours):
    run_info.json               what the run is (base model, label count): resume checks it
    checkpoints/LATEST          name of the newest complete checkpoint (written atomically, last)
    checkpoints/step-<N>/       model/ (save_pretrained), training_state.pt
    best_model/, last_model/    plain save_pretrained checkpoints (+ tokenizer)

A kill at any instant leaves ``LATEST`` naming a complete checkpoint: a new one is written in full
under its own name before ``LATEST`` is switched to it, and only then are older ones removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import torch

from textattack_rift.errors import RiftUserError
from textattack_rift.resources.atomic import write_json, write_text

RUN_INFO = "run_info.json"
RUN_FORMAT = "textattack-rift-run"
CHECKPOINTS = "checkpoints"
LATEST = "LATEST"
STATE_FILE = "training_state.pt"
MODEL_DIR = "model"


def model_identity(model, base_name: str) -> dict:
    """What a resumed run must match: architecture, label count and a digest of the pre-trained weights.

    The digest covers the word-embedding matrix, which fine-tuning from another base model cannot match.
    """
    embeddings = model.get_input_embeddings().weight.detach().float().cpu().contiguous()
    digest = hashlib.sha256(embeddings.numpy().tobytes()).hexdigest()[:16]
    config = model.config
    return {
        "base_model": str(base_name),
        "model_type": getattr(config, "model_type", None),
        "num_labels": int(getattr(config, "num_labels", 0)),
        "embedding_digest": digest,
    }


def write_run_info(output_dir: Path, identity: dict, extra: dict | None = None) -> None:
    write_json(Path(output_dir) / RUN_INFO, {"format": RUN_FORMAT, "version": 1, **identity, **(extra or {})})


def check_resumable(output_dir: Path, identity: dict) -> Path:
    """The newest checkpoint of ``output_dir`` after checking the run was made with this model."""
    output_dir = Path(output_dir)
    info_path = output_dir / RUN_INFO
    if not info_path.is_file():
        raise RiftUserError(
            f"--resume {output_dir}: not a textattack-rift training run (no {RUN_INFO}); "
            "give the --output-dir of an earlier `textattack train --rift` run"
        )
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise RiftUserError(f"--resume {output_dir}: {RUN_INFO} is unreadable ({err})") from err
    if info.get("format") != RUN_FORMAT:
        raise RiftUserError(f"--resume {output_dir}: {RUN_INFO} is not a textattack-rift run description")
    for key in ("model_type", "num_labels", "embedding_digest"):
        if info.get(key) != identity.get(key):
            raise RiftUserError(
                f"--resume {output_dir}: the run was made with model {info.get('base_model')!r} "
                f"({key} {info.get(key)!r}), not {identity.get('base_model')!r} ({key} {identity.get(key)!r}); "
                "resume with the same --model-name-or-path"
            )
    latest = latest_checkpoint(output_dir)
    if latest is None:
        raise RiftUserError(
            f"--resume {output_dir}: the run has no complete checkpoint yet; start it again without --resume"
        )
    return latest


def latest_checkpoint(output_dir: Path) -> Path | None:
    pointer = Path(output_dir) / CHECKPOINTS / LATEST
    if not pointer.is_file():
        return None
    path = pointer.parent / pointer.read_text(encoding="utf-8").strip()
    return path if (path / STATE_FILE).is_file() else None


def save_checkpoint(output_dir: Path, step: int, model, tokenizer, state: dict) -> Path:
    """Write checkpoint ``step-<step>`` in full, point LATEST at it, then drop the older ones."""
    root = Path(output_dir) / CHECKPOINTS
    name = f"step-{step}"
    final = root / name
    tmp = root / f".{name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / MODEL_DIR).mkdir(parents=True)
    model.save_pretrained(tmp / MODEL_DIR)
    if tokenizer is not None:
        tokenizer.save_pretrained(tmp / MODEL_DIR)
    torch.save(state, tmp / STATE_FILE)
    if final.exists():  # the same step written again (e.g. epoch end right after an interval save)
        shutil.rmtree(final)
    os.replace(tmp, final)
    write_text(root / LATEST, name + "\n")
    for old in root.iterdir():
        if old.is_dir() and old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_state(checkpoint: Path, map_location="cpu") -> dict:
    """The training state of ``checkpoint``; a file that cannot be read is one RiftUserError."""
    path = Path(checkpoint) / STATE_FILE
    try:
        # Our own file, holding RNG states and numpy scalars as well as tensors.
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # truncated zip, pickle error, not a torch file
        raise RiftUserError(
            f"{path}: the checkpoint's training state cannot be read ({type(err).__name__}: {err}); "
            f"delete {Path(checkpoint).name} and point {Path(checkpoint).parent / LATEST} at an older checkpoint, "
            "or start the run again without --resume"
        ) from None
    missing = [key for key in ("state", "optimizer", "scheduler", "sampler", "rng") if not isinstance(state, dict) or key not in state]
    if missing:
        raise RiftUserError(f"{path}: not a textattack-rift training state (missing {', '.join(missing)})")
    return state


def save_model_dir(directory: Path, model, tokenizer, threat_model=None) -> Path:
    """``save_pretrained`` into ``directory`` atomically: a reader sees the old folder or the new one.
    ``threat_model`` is saved beside the weights (``threat_model.json``), where attacks and the
    evaluation look for the model's own threat model."""
    directory = Path(directory)
    tmp = directory.with_name(f".{directory.name}.tmp")
    old = directory.with_name(f".{directory.name}.old")
    for leftover in (tmp, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    model.save_pretrained(tmp)
    if tokenizer is not None:
        tokenizer.save_pretrained(tmp)
    if threat_model is not None:
        threat_model.save(tmp)
    if directory.exists():
        os.replace(directory, old)
    os.replace(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)
    return directory


def repair_model_dir(directory: Path) -> None:
    """After a kill between the two renames of ``save_model_dir``: put the newest complete folder back.

    ``.old`` exists only once ``.tmp`` was fully written, so then ``.tmp`` is the newest complete copy.
    """
    directory = Path(directory)
    tmp = directory.with_name(f".{directory.name}.tmp")
    old = directory.with_name(f".{directory.name}.old")
    if directory.exists() or not old.exists():
        return
    os.replace(tmp if tmp.exists() else old, directory)
    shutil.rmtree(old, ignore_errors=True)
