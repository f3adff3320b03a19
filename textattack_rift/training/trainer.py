"""RiftTrainer: TextAttack's ``Trainer`` with the RIFT objective, resume and multi-process training.

TextAttack's ``train()`` is one method with no resume and no DDP, so the loop is ours; the hooks a
TextAttack user knows (``get_optimizer_and_scheduler``, ``get_train_dataloader``, ``training_step``,
``evaluate``) keep their names, and the output folder keeps TextAttack's layout (``best_model/``,
``last_model/``, ``train_log.txt``, ``training_args.json``) plus ``rift_args.json``,
``threat_model.json``, ``metrics.jsonl``, ``train_summary.json`` and resumable ``checkpoints/``.

Exactness of ``resume``: every micro-batch reseeds torch's RNG from (seed, rank, micro-batch number)
and the sampler restarts at the saved position, so a resumed run takes the same batches, dropout
masks and adversary starts as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import random
import time
from pathlib import Path

import numpy as np
import textattack
import torch
from tqdm.auto import tqdm

from textattack_rift.errors import RiftUserError
from textattack_rift.resources.model_files import check_model_dir
from textattack_rift.resources.atomic import write_json
from textattack_rift.training import checkpoint as ckpt
from textattack_rift.training import distributed
from textattack_rift.training.args import RiftArgs
from textattack_rift.training.batches import (
    check_labels,
    dataset_columns,
    dataset_labels,
    eval_loader,
    train_loader,
)
from textattack_rift.training.features import has_pooler
from textattack_rift.training.objectives import NonFiniteLossError, ProjectionHeads
from textattack_rift.training.reproducibility import initial_head_digest, machine_facts
from textattack_rift.training.schedule import LR_SCHEDULES, make_scheduler
from textattack_rift.training.step import make_store, rift_training_loss, training_backward
from textattack_rift.training.teacher import encoder_of, make_teacher, unwrap_model
from textattack_rift.training.validation import validation_metrics

logger = textattack.shared.logger
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "train_summary.json"
DEFAULT_CHECKPOINT_STEPS = 50


class RiftTrainer(textattack.Trainer):
    """Train a Hugging Face sequence classifier with RIFT (or, by weights, standard / ASCC training).

    Args beyond TextAttack's: ``rift_args`` (RiftArgs; None = the paper's defaults), ``threat_model``
    (ThreatModel; None = ``wordnet``), ``max_steps`` (stop after this many optimizer steps),
    ``eval_interval_steps`` (also select the best model every N steps, not only at epoch ends),
    ``resume`` (continue the run in ``training_args.output_dir``), ``bf16`` (bf16 autocast; None = on
    CUDA when supported, off on a CPU; True = on CUDA or CPU), ``base_model_name`` (recorded, checked on resume), ``max_candidates`` (K),
    ``register_name`` (name in the local model registry; None = the default name, False = do not
    register), ``run_description`` (extra facts for the model card), ``lr_schedule`` ("linear": warm-up
    then linear decay, TextAttack's; "constant": warm-up then constant, the released script's).
    """

    def __init__(
        self,
        model_wrapper,
        task_type: str = "classification",
        attack=None,
        train_dataset=None,
        eval_dataset=None,
        training_args=None,
        rift_args: RiftArgs | None = None,
        threat_model=None,
        *,
        max_steps: int | None = None,
        eval_interval_steps: int | None = None,
        resume: bool = False,
        bf16: bool | None = None,
        base_model_name: str | None = None,
        max_candidates: int = 9,
        register_name: str | bool | None = None,
        run_description: dict | None = None,
        lr_schedule: str = "linear",
    ):
        if attack is not None:
            raise RiftUserError(
                "--rift trains against the embedding-space adversary; TextAttack's discrete --attack training "
                "is the other baseline: run it without --rift"
            )
        if task_type != "classification":
            raise RiftUserError(f"--rift trains classifiers only, got task type {task_type!r}")
        super().__init__(model_wrapper, task_type, None, train_dataset, eval_dataset, training_args)
        if max_steps is not None and max_steps < 1:
            raise RiftUserError(f"max_steps must be >= 1, got {max_steps}")
        if lr_schedule not in LR_SCHEDULES:
            raise RiftUserError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {lr_schedule!r}")
        self.lr_schedule = lr_schedule
        self.rift_args = rift_args or RiftArgs()
        if threat_model is None:
            from textattack_rift.threat import ThreatModel

            threat_model = ThreatModel("wordnet")
        self.threat_model = threat_model
        self.max_steps = max_steps
        self.eval_interval_steps = eval_interval_steps
        self.resume = resume
        self.bf16 = bf16
        self.base_model_name = base_model_name or getattr(model_wrapper.model, "name_or_path", "") or "model"
        self.max_candidates = max_candidates
        self.register_name = register_name
        self.run_description = dict(run_description or {})
        self.heads: ProjectionHeads | None = None
        self.teacher = None
        self.store = None

    # -- TextAttack's hooks ------------------------------------------------------------------------

    def get_optimizer_and_scheduler(self, model, num_training_steps):
        """AdamW; weight decay only on the new heads (classifier and projection heads), not the encoder."""
        bare = unwrap_model(model)
        prefix = getattr(bare, "base_model_prefix", "") + "."
        encoder, new = [], []
        for name, param in bare.named_parameters():
            if param.requires_grad:
                (encoder if name.startswith(prefix) else new).append(param)
        if self.heads is not None:
            new.extend(self.heads.parameters())
        groups = [
            {"params": encoder, "weight_decay": 0.0},
            {"params": new, "weight_decay": self.training_args.weight_decay},
        ]
        optimizer = torch.optim.AdamW(groups, lr=self.training_args.learning_rate)
        scheduler = make_scheduler(optimizer, self.lr_schedule, self.training_args.num_warmup_steps, num_training_steps)
        return optimizer, scheduler

    def get_train_dataloader(self, dataset, adv_dataset=None, batch_size=None):
        """Class-balanced batches for this process (``adv_dataset`` is TextAttack's; unused here)."""
        loader, self.sampler = train_loader(
            dataset,
            self.builder,
            self._train_labels,
            batch_size or self.training_args.per_device_train_batch_size,
            seed=self.training_args.random_seed,
            rank=self.ctx.rank,
            world_size=self.ctx.world_size,
        )
        return loader

    def get_eval_dataloader(self, dataset, batch_size):
        return eval_loader(dataset, self.builder, batch_size)

    def training_step(self, model, tokenizer, batch):
        """The RIFT loss of one batch as one graph: returns (loss, logs) — logs hold every term and batch
        accuracies. The loop calls ``training_backward`` instead (same gradient, less memory), unless a
        subclass overrides this hook, whose loss it then back-propagates."""
        return rift_training_loss(
            model, batch.to(self.ctx.device), self.rift_args, heads=self.heads, teacher=self.teacher, store=self.store
        )

    def training_backward(self, model, batch, scale: float) -> dict:
        """Back-propagate ``scale`` * the RIFT loss of one batch; returns its logs (``step.training_backward``)."""
        return training_backward(
            model, batch.to(self.ctx.device), self.rift_args, heads=self.heads, teacher=self.teacher,
            store=self.store, scale=scale, autocast=self._autocast,
        )

    def evaluate(self):
        """Validation metrics of the current model (clean, and ASCC when selecting by it)."""
        with_ascc = self.rift_args.select_by == "ascc" or self.rift_args.uses_adversary
        return validation_metrics(
            self.model_wrapper.model,
            self.get_eval_dataloader(self.eval_dataset, self.training_args.per_device_eval_batch_size),
            self.rift_args,
            self.ctx.device,
            with_ascc=with_ascc,
            seed=self.training_args.random_seed,
            autocast=self._autocast,
            progress=True,
        )

    # -- the loop ----------------------------------------------------------------------------------

    def train(self) -> Path:
        """Train; returns the ``best_model`` directory."""
        if not self.train_dataset:
            raise RiftUserError("no training dataset: give --dataset (or train_dataset=...)")
        if not self.eval_dataset:
            raise RiftUserError("model selection needs a validation split: give --dataset-eval-split")
        self.ctx = distributed.setup()
        try:
            return self._train()
        finally:
            self.ctx.close()

    def _train(self) -> Path:
        args, ctx = self.training_args, self.ctx
        out = Path(args.output_dir)
        model = self.model_wrapper.model
        tokenizer = self.model_wrapper.tokenizer
        identity = ckpt.model_identity(model, self.base_model_name)
        self.initial_head = initial_head_digest(model)  # before any update, also on resume
        resume_from = self._check_output_dir(out, identity)
        self._train_labels = self._check_data(model)
        textattack.shared.utils.set_seed(args.random_seed)
        self._set_up_logging(out)

        # T: a frozen copy of the encoder BEFORE any update (also on resume: the wrapper holds the base model).
        self.teacher = make_teacher(model).to(ctx.device) if self.rift_args.uses_teacher else None
        if self.rift_args.gamma > 0:
            self.heads = ProjectionHeads.from_args(self.rift_args, model.config.hidden_size, model.config.num_labels)
            self.heads.to(ctx.device)
        self.store = make_store(self.rift_args)
        self.builder = self._candidate_builder(model, tokenizer)
        loader = self.get_train_dataloader(self.train_dataset)
        accum = max(1, int(args.gradient_accumulation_steps))
        steps_per_epoch = math.ceil(len(self.sampler) / accum)
        total_steps = steps_per_epoch * args.num_epochs
        if self.max_steps:
            total_steps = min(total_steps, self.max_steps)
        model.to(ctx.device)
        optimizer, scheduler = self.get_optimizer_and_scheduler(model, total_steps)
        state = {"step": 0, "best_score": None, "best_step": None, "best_metrics": None, "seconds": 0.0, "evals": []}
        if resume_from is not None:
            state = self._restore(resume_from, model, optimizer, scheduler)
        train_model = model
        if ctx.enabled:
            device_ids = [ctx.device] if ctx.device.type == "cuda" else None
            train_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
        if ctx.is_main:
            self._write_run_files(out, identity, total_steps)
            if resume_from is None:
                self._print_training_args(total_steps, args.per_device_train_batch_size * ctx.world_size, args.num_epochs)
        ctx.barrier()

        step = state["step"]
        bar = tqdm(total=total_steps, initial=step, desc="RIFT " + self.rift_args.method, disable=not ctx.is_main)
        tb = self._tensorboard(out) if ctx.is_main else None
        started = time.perf_counter() - state["seconds"]
        done = step >= total_steps
        start_epoch = self.sampler.epoch
        for epoch in range(start_epoch, args.num_epochs):
            if done:
                break
            self.sampler.set_epoch(epoch)
            train_model.train()
            pending: list[dict] = []
            batches_in_epoch = len(self.sampler)
            for batch in loader:
                taken = self.sampler.position  # batches of this epoch drawn so far (no prefetch: num_workers=0)
                pending.append(self._micro_step(train_model, tokenizer, batch, step, len(pending), accum, epoch))
                if len(pending) < accum and taken < batches_in_epoch:
                    continue
                self._optimizer_step(model, optimizer, scheduler)
                step += 1
                logs = _mean_logs(pending)
                pending = []
                logs.update(step=step, epoch=epoch, lr=scheduler.get_last_lr()[0], seconds=time.perf_counter() - started)
                if ctx.is_main:
                    self._log_metrics(out, logs, tb, bar)
                state.update(step=step, seconds=time.perf_counter() - started)
                if self.eval_interval_steps and step % self.eval_interval_steps == 0 and step < total_steps:
                    self._select(model, tokenizer, out, state, epoch)
                if step >= total_steps:
                    done = True
                    break
                if step % (args.checkpoint_interval_steps or DEFAULT_CHECKPOINT_STEPS) == 0:
                    self._checkpoint(out, model, tokenizer, optimizer, scheduler, state)
            self._select(model, tokenizer, out, state, epoch)
            state["seconds"] = time.perf_counter() - started
            self._checkpoint(out, model, tokenizer, optimizer, scheduler, state)
            if self._stop_early(state):
                logger.info(f"Early stopping: no better validation score in {args.early_stopping_epochs} evaluation(s).")
                break
        bar.close()
        if tb is not None:
            tb.close()
        best = out / "best_model"
        if ctx.is_main:
            ckpt.save_model_dir(out / "last_model", model, tokenizer, self.threat_model)
            if state["best_step"] is None:  # e.g. resumed a finished run whose best was never selected
                ckpt.save_model_dir(best, model, tokenizer, self.threat_model)
            self._finish(out, state)
        ctx.barrier()
        if args.load_best_model_at_end:
            loaded = type(model).from_pretrained(best)
            model.load_state_dict(loaded.state_dict())
        return best

    # -- pieces of the loop ------------------------------------------------------------------------

    def _micro_step(self, train_model, tokenizer, batch, step, micro, accum, epoch) -> dict:
        seed = self.training_args.random_seed
        # One seed per micro-batch: dropout and the adversary's start do not depend on where a run resumed.
        torch.manual_seed(hash((seed, self.ctx.rank, step, micro)) & 0x7FFF_FFFF)
        sync = micro == accum - 1 or not self.ctx.enabled
        context = contextlib.nullcontext() if sync else train_model.no_sync()
        own_hook = type(self).training_step is not RiftTrainer.training_step
        with context:
            try:
                if own_hook:  # a subclass's training_step: back-propagate the loss it returns
                    with self._autocast():
                        loss, logs = self.training_step(train_model, tokenizer, batch)
                    (loss / accum).backward()
                else:
                    logs = self.training_backward(train_model, batch, 1.0 / accum)
            except NonFiniteLossError as err:
                latest = ckpt.latest_checkpoint(Path(self.training_args.output_dir))
                kept = f"the last good checkpoint is {latest}" if latest else "no checkpoint was written yet"
                raise RiftUserError(
                    f"training stopped at step {step + 1} (epoch {epoch}): {err}; {kept} (resume with --resume)"
                ) from err
        return logs

    def _optimizer_step(self, model, optimizer, scheduler) -> None:
        if self.heads is not None:
            self.ctx.all_reduce_mean(self.heads)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)

    def _select(self, model, tokenizer, out: Path, state: dict, epoch: int) -> None:
        """Score on the validation split (rank 0) and keep ``best_model`` by ``select_by``."""
        if state["evals"] and state["evals"][-1]["step"] == state["step"]:
            return  # already scored at this step (an interval evaluation right before an epoch end)
        metrics = None
        if self.ctx.is_main:
            metrics = self.evaluate()
            key = "ascc_accuracy" if self.rift_args.select_by == "ascc" else "clean_accuracy"
            score = metrics[key]
            record = {"step": state["step"], "epoch": epoch, **metrics}
            logger.info(f"Validation at step {state['step']}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
            if state["best_score"] is None or score > state["best_score"]:
                state.update(best_score=score, best_step=state["step"], best_metrics=metrics)
                ckpt.save_model_dir(out / "best_model", model, tokenizer, self.threat_model)
                logger.info(f"Best model so far ({key} {score:.4f}) saved to {out / 'best_model'}.")
            _append_jsonl(out / METRICS_FILE, {"event": "validation", **record})
            state["evals"].append(record)
        shared = self.ctx.broadcast_object({k: state[k] for k in ("best_score", "best_step", "best_metrics", "evals")})
        state.update(shared)

    def _stop_early(self, state: dict) -> bool:
        patience = self.training_args.early_stopping_epochs
        if not patience or state["best_step"] is None:
            return False
        since = [e for e in state["evals"] if e["step"] > state["best_step"]]
        return len(since) >= patience

    def _checkpoint(self, out: Path, model, tokenizer, optimizer, scheduler, state: dict) -> None:
        if self.ctx.is_main:
            payload = {
                "state": dict(state),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "heads": None if self.heads is None else self.heads.state_dict(),
                "sampler": self.sampler.state_dict(),
                "store": None if self.store is None else self.store.state_dict(),
                "rng": _rng_states(),
            }
            path = ckpt.save_checkpoint(out, state["step"], model, tokenizer, payload)
            logger.info(f"Checkpoint at step {state['step']}: {path}")
        self.ctx.barrier()

    def _restore(self, path: Path, model, optimizer, scheduler) -> dict:
        payload = ckpt.load_state(path)
        check_model_dir(path / ckpt.MODEL_DIR)
        saved = type(model).from_pretrained(path / ckpt.MODEL_DIR)
        model.load_state_dict(saved.state_dict())
        model.to(self.ctx.device)
        optimizer.load_state_dict(payload["optimizer"])
        scheduler.load_state_dict(payload["scheduler"])
        if self.heads is not None:
            if payload["heads"] is None:
                raise RiftUserError(f"--resume {path.parent.parent}: that run had no MI heads (gamma was 0)")
            self.heads.load_state_dict(payload["heads"])
        try:
            self.sampler.load_state_dict(payload["sampler"])
        except ValueError as err:
            raise RiftUserError(f"--resume {path.parent.parent}: {err}; resume with the same data and batch size") from err
        if self.store is not None and payload.get("store") is not None:
            self.store.load_state_dict(payload["store"])
        _set_rng_states(payload["rng"])
        state = payload["state"]
        _truncate_metrics(Path(self.training_args.output_dir) / METRICS_FILE, state["step"])
        logger.info(f"Resumed from {path} at step {state['step']}.")
        return state

    # -- set-up and outputs ------------------------------------------------------------------------

    def _check_output_dir(self, out: Path, identity: dict) -> Path | None:
        if self.resume:
            latest = ckpt.check_resumable(out, identity)
            saved_args = out / "rift_args.json"
            if saved_args.is_file():
                before = RiftArgs.load(saved_args)
                if before != self.rift_args:
                    changed = [
                        f.name for f in dataclasses.fields(RiftArgs) if getattr(before, f.name) != getattr(self.rift_args, f.name)
                    ]
                    raise RiftUserError(
                        f"--resume {out}: RIFT arguments differ from the run's ({', '.join(changed)}); "
                        "resume with the same --rift-* flags"
                    )
            return latest
        if ckpt.latest_checkpoint(out) is not None:
            raise RiftUserError(
                f"{out} already holds a textattack-rift run: pass --resume {out} to continue it, or choose another --output-dir"
            )
        return None

    def _check_data(self, model) -> list[int]:
        num_labels = int(model.config.num_labels)
        labels = dataset_labels(self.train_dataset)
        check_labels(labels, num_labels, "training")
        check_labels(dataset_labels(self.eval_dataset), num_labels, "validation")
        classes = sorted(set(labels))
        if self.rift_args.gamma > 0 and len(classes) < 2:
            raise RiftUserError(
                f"--rift-gamma {self.rift_args.gamma:g} needs at least two classes (the MI term is conditioned on the "
                f"label), but the training data has only label {classes}; use --rift-gamma 0 or more data"
            )
        if self.rift_args.gamma > 0 and self.rift_args.feature == "pooler":
            if not has_pooler(encoder_of(model)):
                raise RiftUserError(
                    f"--rift-feature pooler: this {type(model).__name__}'s encoder has no pooler layer; "
                    "use --rift-feature cls or mean"
                )
        per_class = self.training_args.per_device_train_batch_size // max(len(classes), 1)
        if self.rift_args.gamma > 0 and self.rift_args.conditional_mi and per_class < 2:
            raise RiftUserError(
                f"per-class InfoNCE needs at least 2 examples of each class per batch, but batch size "
                f"{self.training_args.per_device_train_batch_size} gives {per_class} for {len(classes)} classes; "
                "raise --per-device-train-batch-size"
            )
        return labels

    def _candidate_builder(self, model, tokenizer):
        from textattack_rift.models.wrapper import max_positions
        from textattack_rift.threat.candidates import CandidateBuilder

        return CandidateBuilder(
            self.threat_model,
            tokenizer,
            max_candidates=self.max_candidates,
            max_length=max_positions(model, tokenizer),
            column_names=dataset_columns(self.train_dataset),
        )

    def _autocast(self):
        device = self.ctx.device
        bf16 = self.bf16
        if device.type == "cuda" and bf16 is None:
            bf16 = torch.cuda.is_bf16_supported()
        if device.type == "cuda" and bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        if device.type == "cpu" and bf16:
            # only when asked: measured not worth a default (docs/benchmarks.md, "bf16 autocast on a CPU")
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _set_up_logging(self, out: Path) -> None:
        if not self.ctx.is_main:
            return
        out.mkdir(parents=True, exist_ok=True)
        path = out / "train_log.txt"
        if not any(getattr(h, "baseFilename", None) == str(path.resolve()) for h in logger.handlers):
            handler = logging.FileHandler(path)
            handler.setLevel(logging.DEBUG)
            logger.addHandler(handler)

    def _write_run_files(self, out: Path, identity: dict, total_steps: int) -> None:
        ckpt.write_run_info(
            out,
            identity,
            {"total_steps": total_steps, "world_size": self.ctx.world_size, "initial_head_digest": self.initial_head,
             "lr_schedule": self.lr_schedule, "num_warmup_steps": self.training_args.num_warmup_steps,
             "seed": self.training_args.random_seed, "machine": machine_facts()},
        )
        write_json(out / "training_args.json", _jsonable(self.training_args.__dict__))
        self.rift_args.save(out)
        self.threat_model.save(out)

    def _tensorboard(self, out: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is optional
            if self.training_args.log_to_tb:
                logger.warning("--log-to-tb: tensorboard is not installed (pip install tensorboard); skipping it")
            return None
        return SummaryWriter(self.training_args.tb_log_dir or str(out / "runs"))

    def _log_metrics(self, out: Path, logs: dict, tb, bar) -> None:
        bar.update(1)
        bar.set_postfix({k: f"{logs[k]:.3f}" for k in ("loss", "clean_acc", "adv_acc") if k in logs})
        if logs["step"] % max(1, int(self.training_args.logging_interval_step or 1)) == 0:
            _append_jsonl(out / METRICS_FILE, logs)
            if tb is not None:
                for key, value in logs.items():
                    if key not in ("step", "epoch"):
                        tb.add_scalar(f"train/{key}", value, logs["step"])

    def _finish(self, out: Path, state: dict) -> None:
        summary = {
            "method": self.rift_args.method,
            "base_model": self.base_model_name,
            "steps": state["step"],
            "seconds": round(state["seconds"], 2),
            "select_by": self.rift_args.select_by,
            "best_step": state["best_step"],
            "validation": state["best_metrics"],
            "evaluations": state["evals"],
            "threat_model": self.threat_model.fingerprint,
            "world_size": self.ctx.world_size,
            "seed": self.training_args.random_seed,
            "lr_schedule": self.lr_schedule,
            "num_warmup_steps": self.training_args.num_warmup_steps,
            "initial_head_digest": self.initial_head,
            "finished": True,
        }
        write_json(out / SUMMARY_FILE, summary)
        self._describe_model(out / "best_model", summary)
        logger.info(f"Training finished in {summary['seconds']:.0f} s; best model (step {state['best_step']}) in {out / 'best_model'}.")

    def _describe_model(self, best: Path, summary: dict) -> None:
        """Model card and registry entry for the best model (models/ owns both formats)."""
        from textattack_rift.models.card import write_model_card

        args = self.training_args
        training = {
            "base_model": self.base_model_name,
            "method": summary["method"],
            "rift_args": self.rift_args.to_dict(),
            "epochs": args.num_epochs,
            "steps": summary["steps"],
            "batch_size": args.per_device_train_batch_size * self.ctx.world_size,
            "learning_rate": args.learning_rate,
            "seed": args.random_seed,
            "validation": summary["validation"],
            "training_seconds": summary["seconds"],
            **self.run_description,
        }
        write_model_card(best, training=training, threat_model=self.threat_model)
        if self.register_name is False:
            return
        from textattack_rift.models.registry import register_model

        name = self.register_name if isinstance(self.register_name, str) else None
        names = register_model(best, name=name, dataset=self.run_description.get("dataset"), method=summary["method"])
        logger.info(f"Registered the best model as {', '.join(names)}.")


def _mean_logs(items: list[dict]) -> dict:
    keys = {k for item in items for k in item}
    return {k: float(np.mean([item[k] for item in items if k in item])) for k in sorted(keys)}


def _append_jsonl(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
        f.flush()


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop log lines written after the checkpoint we resume from (they will be written again)."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut by the kill
        if record.get("step", 0) <= step:
            kept.append(line)
    from textattack_rift.resources.atomic import write_text

    write_text(path, "".join(line + "\n" for line in kept))


def _rng_states() -> dict:
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def _set_rng_states(states: dict) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if states.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _jsonable(data: dict) -> dict:
    return {k: v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else repr(v) for k, v in data.items()}
