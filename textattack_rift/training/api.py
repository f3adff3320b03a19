"""``train_model``: one call that trains any of the compared methods on the same data and threat model.

The command line (``textattack train --rift ...``) and the experiment runner both end here or in
``RiftTrainer``; ``textattack-at`` is TextAttack's own discrete adversarial training, run by its own
trainer with one of our attack recipes, so all five methods can be compared from one place.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

from textattack_rift.errors import RiftUserError
from textattack_rift.training.args import PRESETS, RiftArgs

METHODS = (*PRESETS, "textattack-at")


def train_model(
    model: str = "minilm",
    dataset: str = "rotten_tomatoes",
    *,
    output_dir: str | Path,
    train_split: str = "train",
    eval_split: str = "validation",
    method: str = "rift",
    rift_args: RiftArgs | dict | None = None,
    threat_model=None,
    num_epochs: int = 1,
    batch_size: int = 32,
    learning_rate: float = 2e-5,
    max_length: int | None = 64,
    seed: int = 765,
    max_steps: int | None = None,
    num_warmup_steps: int | float = 0.1,
    attack: str = "rift-pwws",
    resume: bool = True,
    register_name: str | bool | None = None,
    eval_interval_steps: int | None = None,
    lr_schedule: str = "linear",
    bf16: bool | None = None,
) -> Path:
    """Train ``method`` and return the ``best_model`` directory; a finished run returns at once.

    ``rift_args`` overrides the method's preset (a RiftArgs or a dict of its fields). With ``resume``
    an interrupted run in ``output_dir`` continues from its last checkpoint. ``register_name``: the
    model's name in the local registry (None: ``<method>-<base>-<dataset>``; False: not registered); a
    finished run found in ``output_dir`` is registered too when it is not yet. ``bf16``: autocast
    (None: on CUDA when supported, never on a CPU; True: on either, see ``RiftTrainer``).
    """
    import textattack

    from textattack_rift.data import load_textattack_dataset
    from textattack_rift.models.loading import load_model
    from textattack_rift.threat import ThreatModel
    from textattack_rift.training.checkpoint import latest_checkpoint
    from textattack_rift.training.reproducibility import seed_everything
    from textattack_rift.training.trainer import SUMMARY_FILE, RiftTrainer

    if method not in METHODS:
        raise RiftUserError(f"unknown training method {method!r}; choose one of {', '.join(METHODS)}")
    out = Path(output_dir)
    summary = out / SUMMARY_FILE
    if summary.is_file() and json.loads(summary.read_text(encoding="utf-8")).get("finished"):
        if register_name is not False and method != "textattack-at":
            _register_if_new(out / "best_model", register_name, dataset)
        return out / "best_model"
    threat_model = threat_model or ThreatModel("wordnet")
    train_data = load_textattack_dataset(dataset, split=train_split)
    eval_data = load_textattack_dataset(dataset, split=eval_split)
    labels = sorted({int(train_data[i][1]) for i in range(len(train_data))})
    # The same seed gives the same new classifier head, so every method of a comparison starts from it.
    seed_everything(seed)
    wrapper = load_model(model, num_labels=max(labels) + 1 if labels else 2)
    if max_length:
        wrapper.tokenizer.model_max_length = int(max_length)
    training_args = textattack.TrainingArgs(
        num_epochs=num_epochs,
        num_clean_epochs=min(1, num_epochs) if method == "textattack-at" else num_epochs,
        learning_rate=learning_rate,
        per_device_train_batch_size=batch_size,
        random_seed=seed,
        num_warmup_steps=num_warmup_steps,
        output_dir=str(out),
    )
    if method == "textattack-at":
        return _train_textattack_at(wrapper, train_data, eval_data, training_args, attack, threat_model, out, model)
    if isinstance(rift_args, dict):
        rift_args = RiftArgs.preset(method, **rift_args)
    rift_args = rift_args or RiftArgs.preset(method)
    trainer = RiftTrainer(
        wrapper,
        train_dataset=train_data,
        eval_dataset=eval_data,
        training_args=training_args,
        rift_args=rift_args,
        threat_model=threat_model,
        max_steps=max_steps,
        eval_interval_steps=eval_interval_steps,
        lr_schedule=lr_schedule,
        resume=resume and latest_checkpoint(out) is not None,
        base_model_name=model,
        register_name=register_name,
        run_description={"dataset": dataset, "train_split": train_split, "eval_split": eval_split},
        bf16=bf16,
    )
    return trainer.train()


def _register_if_new(best: Path, name, dataset: str) -> None:
    from textattack_rift.models.registry import register_model
    from textattack_rift.models.registry_store import names_for_directory

    if not names_for_directory(best):
        register_model(best, name=name if isinstance(name, str) else None, dataset=dataset)


def _train_textattack_at(wrapper, train_data, eval_data, training_args, attack_name, threat_model, out, model):
    """TextAttack's discrete adversarial training (its own trainer, our recipe), summarised like ours."""
    import textattack

    from textattack_rift.attack_recipes import build_attack
    from textattack_rift.resources.atomic import write_json
    from textattack_rift.training.batches import eval_loader
    from textattack_rift.training.trainer import SUMMARY_FILE
    from textattack_rift.threat.candidates import CandidateBuilder
    from textattack_rift.training.validation import validation_metrics

    attack = build_attack(attack_name, wrapper, threat_model)
    training_args.load_best_model_at_end = True
    started = time.perf_counter()
    textattack.Trainer(wrapper, "classification", attack, train_data, eval_data, training_args).train()
    seconds = time.perf_counter() - started
    builder = CandidateBuilder(threat_model, wrapper.tokenizer)
    device = next(wrapper.model.parameters()).device
    metrics = validation_metrics(
        wrapper.model, eval_loader(eval_data, builder, 32), RiftArgs(), device, seed=training_args.random_seed,
        autocast=contextlib.nullcontext,
    )
    write_json(
        out / SUMMARY_FILE,
        {"method": "textattack-at", "base_model": model, "attack": attack_name, "seconds": round(seconds, 2),
         "validation": metrics, "threat_model": threat_model.fingerprint, "finished": True},
    )
    return out / "best_model"
