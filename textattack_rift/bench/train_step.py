"""``textattack-rift bench train-step``: RIFT training steps against a plain fine-tuning step, on real data.

One run measures, on the same batch of ``batch_size`` class-balanced ``rotten_tomatoes`` training
sentences with the threat model's candidates (``train_data``):

- seconds per step (forward + backward + AdamW update) of each variant (``default_variants``): plain
  fine-tuning, our RIFT step (10 fresh adversary steps), gamma = 0 (ASCC adversarial training), the
  released script's algorithm (``released_variant``), the cheaper adversaries (warm start, free step,
  fewer steps at a larger rate) and FreeLB++ (``training.freelb``). All variants are timed in
  alternation in one process, after ``warmup`` rounds (the first round is each warm-started example's first, fresh visit); the median of
  ``repeats`` is reported, with its ratio to the plain step on the same padding and to the plain step
  padded to the reference length (64 tokens, the issue's reference condition);
- peak memory per variant, each in a fresh process (``memory_worker``): CUDA
  ``max_memory_allocated``; on the CPU the kernel's peak resident set (VmHWM, reset through
  ``/proc/self/clear_refs`` before the measured step) with glibc told to hand freed memory back at once,
  minus the resident set before the model was loaded: model, optimizer state, teacher and the step's
  working memory, like the CUDA figure;
- the adversaries' strength on a trained-ish model (``strength``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from textattack_rift.errors import RiftUserError
from textattack_rift.training.args import RiftArgs
from textattack_rift.bench.synthetic import adversary_strength, synthetic_batch  # noqa: F401  (public here too)
from textattack_rift.training.step import RiftBatch

REFERENCE_LENGTH = 64  # the released script's max length in the reference measurements
KINDS = ("plain", "rift", "released")


@dataclass(frozen=True)
class Variant:
    """One kind of training step.

    kind: ``plain`` (CE only), ``rift`` (``step.training_backward`` with ``args``, the trainer's two-pass
        step) or ``released`` (``released_variant.released_training_loss``; ``param_grads`` False
        restricts its inner gradient to the combination logits).
    reference_padding: the batch is padded to the reference length instead of to its longest sentence.
    bf16: the step runs under bf16 autocast (``--bf16-compare`` adds a bf16 copy of every variant).
    one_graph: a ``rift`` step computed as one graph over the clean and adversarial rows
        (``step.rift_training_loss``, then one backward): the step before the two-pass change, same gradient.
    """

    name: str
    kind: str
    description: str
    args: RiftArgs | None = None
    reference_padding: bool = False
    param_grads: bool = True
    bf16: bool = False
    one_graph: bool = False

    @property
    def warm(self) -> bool:
        return self.args is not None and self.args.adv_warm_start

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "args": None if self.args is None else self.args.to_dict(),
            "reference_padding": self.reference_padding,
            "param_grads": self.param_grads,
            "bf16": self.bf16,
            "one_graph": self.one_graph,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Variant":
        args = None if data["args"] is None else RiftArgs.from_dict(data["args"])
        return cls(**{**data, "args": args})


def default_variants(adv_steps: int = 10, short_steps: int = 2, short_lr: float = 3.0) -> list[Variant]:
    """The variants the benchmark times, in table order."""
    warm = dict(adv_steps=adv_steps, adv_warm_start=True)
    return [
        Variant("plain", "plain", "fine-tuning step: CE forward + backward + AdamW"),
        Variant("plain@64", "plain", "the same, padded to 64 tokens", reference_padding=True),
        Variant("rift", "rift", f"RIFT, {adv_steps} fresh adversary steps", RiftArgs(adv_steps=adv_steps)),
        Variant(
            "rift-one-graph", "rift", "the same as one graph over clean + adversarial rows (before the two-pass step)",
            RiftArgs(adv_steps=adv_steps), one_graph=True,
        ),
        Variant("rift-gamma0", "rift", "gamma=0: ASCC adversarial training", RiftArgs(adv_steps=adv_steps, gamma=0.0)),
        Variant(
            "released@64", "released", "released script's algorithm, padded to 64",
            RiftArgs(adv_steps=adv_steps), reference_padding=True,
        ),
        Variant(
            "released-logits@64", "released", "the same, inner gradient on the logits only",
            RiftArgs(adv_steps=adv_steps), reference_padding=True, param_grads=False,
        ),
        Variant("warm2", "rift", "warm start, 2 steps per later visit", RiftArgs(**warm, adv_steps_warm=2)),
        Variant("warm1", "rift", "warm start, 1 step per later visit", RiftArgs(**warm, adv_steps_warm=1)),
        Variant(
            "warm1-free", "rift", "warm start, 1 step + the free step",
            RiftArgs(**warm, adv_steps_warm=1, adv_free=True),
        ),
        Variant(
            "warm0-free", "rift", "warm start, free step only", RiftArgs(**warm, adv_steps_warm=0, adv_free=True)
        ),
        Variant(
            f"short{short_steps}-lr{short_lr:g}", "rift", f"{short_steps} fresh steps at Adam lr {short_lr:g}",
            RiftArgs(adv_steps=short_steps, adv_lr=short_lr),
        ),
        Variant(
            f"short{short_steps}-lr1", "rift", f"{short_steps} fresh steps at Adam lr 1",
            RiftArgs(adv_steps=short_steps, adv_lr=1.0),
        ),
        Variant("freelb", "rift", "FreeLB++, TextDefender's settings (K passes per batch)", RiftArgs.preset("freelb")),
    ]


def select_variants(names: str | list[str] | None, variants: list[Variant] | None = None) -> list[Variant]:
    """The variants named in ``names`` (comma-separated or a list), in table order; plain ones are always kept."""
    variants = variants or default_variants()
    if not names:
        return variants
    wanted = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
    known = {v.name for v in variants}
    unknown = [n for n in wanted if n and n not in known]
    if unknown:
        raise RiftUserError(f"unknown benchmark variant(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}")
    return [v for v in variants if v.kind == "plain" or v.name in wanted]


def with_bf16_copies(variants: list[Variant]) -> list[Variant]:
    """Each variant followed by its bf16-autocast copy (``<name>+bf16``), timed in the same rounds."""
    out = []
    for variant in variants:
        out.append(variant)
        out.append(dataclasses.replace(
            variant, name=variant.name + "+bf16", description=variant.description + ", bf16 autocast", bf16=True
        ))
    return out


class StepRunner:
    """Runs one training step of any variant on a shared model, optimizer, teacher and heads.

    Every warm-started variant has its own warm-start store, so its visits of the batch are its own.
    """

    def __init__(
        self,
        model,
        batches: dict[str, RiftBatch],
        variants: list[Variant],
        *,
        device: str = "cpu",
        bf16: bool = False,
        lr: float = 2e-5,
    ) -> None:
        from textattack_rift.training.objectives import ProjectionHeads
        from textattack_rift.training.store import WarmStartStore
        from textattack_rift.training.teacher import make_teacher

        self.model = model
        self.batches = batches
        self.teacher = self.heads = None
        params = list(model.parameters())
        if any(v.args is not None and v.args.uses_teacher for v in variants):
            self.teacher = make_teacher(model)
            self.heads = ProjectionHeads.from_args(RiftArgs(), model.config.hidden_size, model.config.num_labels)
            self.heads.to(device)
            params += list(self.heads.parameters())
        self.optimizer = torch.optim.AdamW(params, lr=lr)
        self.stores = {v.name: WarmStartStore() for v in variants if v.warm}
        self._device_type = torch.device(device).type
        self._bf16 = bf16
        model.train()

    def _autocast(self, variant: Variant):
        if self._bf16 or variant.bf16:
            return torch.autocast(self._device_type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def batch_for(self, variant: Variant) -> RiftBatch:
        return self.batches["reference" if variant.reference_padding else "dynamic"]

    def step(self, variant: Variant) -> None:
        from textattack_rift.bench.released_variant import released_training_loss
        from textattack_rift.training.step import rift_training_loss, training_backward

        batch = self.batch_for(variant)
        parts = {"heads": self.heads, "teacher": self.teacher}
        if variant.kind == "rift" and not variant.one_graph:  # the trainer's step: it back-propagates itself
            training_backward(
                self.model, batch, variant.args, store=self.stores.get(variant.name), autocast=lambda: self._autocast(variant),
                **parts,
            )
        else:
            with self._autocast(variant):
                if variant.kind == "plain":
                    kwargs = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask, "labels": batch.labels}
                    if batch.token_type_ids is not None:
                        kwargs["token_type_ids"] = batch.token_type_ids
                    loss = self.model(**kwargs).loss
                elif variant.kind == "rift":
                    loss, _ = rift_training_loss(self.model, batch, variant.args, store=self.stores.get(variant.name), **parts)
                else:
                    loss, _ = released_training_loss(self.model, batch, variant.args, param_grads=variant.param_grads, **parts)
            loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


def bench_train_step(
    model_dir: str | os.PathLike | None = None,
    *,
    synonyms: str = "wordnet",
    dataset: str = "rotten_tomatoes",
    batch_size: int = 32,
    max_length: int = REFERENCE_LENGTH,
    pad_to: int | None = None,
    variants: list[Variant] | str | None = None,
    repeats: int = 3,
    warmup: int = 1,
    threads: int | None = 2,
    device: str = "cpu",
    bf16: bool = False,
    bf16_compare: bool = False,
    seed: int = 0,
    timing: bool = True,
    memory: bool = True,
    strength: bool = True,
    strength_options: dict | None = None,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Time, memory and strength of every variant on one real batch; see the module docstring.

    ``pad_to`` pads our variants' batch to a fixed length (None: the longest sentence). The result holds
    ``config``, ``rows`` (one dict per variant, in table order) and, with ``strength``, ``strength``
    (the trained-ish model's clean accuracy and the reference adversary's figures). ``strength_options``
    go to ``strength.measure_strength``.
    """
    from textattack_rift.bench.train_data import BenchData, load_classifier

    if timing and (repeats < 1 or warmup < 1):
        raise RiftUserError(f"need at least 1 repetition and 1 warm-up round (got {repeats} and {warmup})")
    if pad_to is not None and pad_to < 1:
        raise RiftUserError(f"--pad-to must be a positive number of tokens, got {pad_to}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RiftUserError(f"device {device} asked for but CUDA is not available here; use --device cpu")
    log = log or (lambda message: None)
    # A given classifier is measured for strength as it is; the packaged MiniLM is fine-tuned first.
    given_model = None if model_dir is None or str(model_dir).strip().lower() == "minilm" else model_dir
    chosen = variants if isinstance(variants, list) else select_variants(variants)
    if bf16_compare:
        if bf16:
            raise RiftUserError("give --bf16 (every step under autocast) or --bf16-compare (each variant both ways), not both")
        chosen = with_bf16_copies(chosen)
    old_threads = torch.get_num_threads()
    load_before = os.getloadavg()
    try:
        if threads:
            torch.set_num_threads(threads)
        model, tokenizer, model_dir = load_classifier(model_dir, device, seed)
        data = BenchData(tokenizer, synonyms, dataset=dataset, max_length=max_length)
        batch, texts = data.batch("train", batch_size, seed, pad_to=pad_to)
        reference = batch if pad_to == REFERENCE_LENGTH else data.batch("train", batch_size, seed, pad_to=REFERENCE_LENGTH)[0]
        if pad_to == REFERENCE_LENGTH:  # one padding only: the reference plain row would repeat the plain row
            chosen = [v for v in chosen if not (v.kind == "plain" and v.reference_padding)]
            chosen = [dataclasses.replace(v, reference_padding=False) for v in chosen]
        batches = {"dynamic": batch.to(device), "reference": reference.to(device)}
        config = {
            "model": str(model_dir),
            "synonyms": data.threat_model.synonym_label,
            "threat_fingerprint": data.threat_model.fingerprint,
            "dataset": dataset,
            "batch_size": batch_size,
            "labels": batch.labels.bincount().tolist(),
            "tokens": int(batch.input_ids.shape[1]),
            "reference_tokens": int(reference.input_ids.shape[1]),
            "pad_to": pad_to,
            "words_with_candidates": _words_with_candidates(batch),
            "device": device,
            "bf16": bf16,
            "bf16_compare": bf16_compare,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(),
            "repeats": repeats if timing else 0,
            "warmup": warmup if timing else 0,
            "seed": seed,
        }
        log(f"batch: {batch_size} sentences, {config['tokens']} tokens (reference {config['reference_tokens']}), "
            f"{config['words_with_candidates']} words with candidates ({config['synonyms']})")

        runner = StepRunner(model, batches, chosen, device=device, bf16=bf16)
        wall = {v.name: [] for v in chosen}
        cpu = {v.name: [] for v in chosen}
        first = {}
        for round_ in range(warmup + repeats if timing else 0):
            for variant in chosen:
                seconds, cpu_seconds = _timed(lambda: runner.step(variant), device)
                if round_ == 0:
                    first[variant.name] = seconds
                if round_ >= warmup:
                    wall[variant.name].append(seconds)
                    cpu[variant.name].append(cpu_seconds)
            log(f"timing round {round_ + 1}/{warmup + repeats} done")
        rows = _timing_rows(chosen, wall, cpu, first, batches)
        del runner, model

        if memory:
            with tempfile.TemporaryDirectory(prefix="rift-bench-") as tmp:
                path = Path(tmp) / "batches.pt"
                torch.save({key: _batch_state(value.to("cpu")) for key, value in batches.items()}, path)
                for row, variant in zip(rows, chosen):
                    row.update(run_memory_worker(variant, str(config["model"]), path, device, bf16, threads, seed))
                    log(f"memory {variant.name}: {row['peak_mb']:.0f} MB")
        result = {"config": config, "rows": rows, "texts": texts}
        if strength:
            from textattack_rift.bench.strength import measure_strength

            report = measure_strength(
                given_model,
                data,
                chosen,
                batch=batch,
                device=device,
                seed=seed,
                log=log,
                **(strength_options or {}),
            )
            for row in rows:
                row.update(report["variants"].get(row["name"], {}))
            result["strength"] = {k: v for k, v in report.items() if k != "variants"}
        config["load_average"] = {"start": [round(x, 2) for x in load_before], "end": [round(x, 2) for x in os.getloadavg()]}
        return result
    finally:
        torch.set_num_threads(old_threads)


def _words_with_candidates(batch: RiftBatch) -> int:
    from textattack_rift.training.adversary import word_candidate_mask

    mask = word_candidate_mask(batch.candidate_mask, batch.word_index)
    return int((mask.sum(-1) >= 2).sum())


def _timing_rows(chosen: list[Variant], wall: dict, cpu: dict, first: dict, batches: dict) -> list[dict]:
    median = {name: statistics.median(values) if values else None for name, values in wall.items()}
    cpu_median = {name: statistics.median(values) if values else None for name, values in cpu.items()}
    ratio = lambda table, name, base: table[name] / table[base] if base and table[name] is not None else None  # noqa: E731
    # ratios are to the fp32 plain step; a bf16 row also gets its ratio to its own fp32 row
    plain = {v.reference_padding: v.name for v in chosen if v.kind == "plain" and not v.bf16}
    names = {v.name for v in chosen}
    rows = []
    for variant in chosen:
        base = plain.get(variant.reference_padding)
        reference = plain.get(True, plain.get(False))
        row = {
            "name": variant.name,
            "description": variant.description,
            "kind": variant.kind,
            "tokens": int(batches["reference" if variant.reference_padding else "dynamic"].input_ids.shape[1]),
            "seconds": median[variant.name],
            "seconds_all": wall[variant.name],
            "first_visit_seconds": first.get(variant.name),
            "ratio": ratio(median, variant.name, base),
            "ratio_reference": ratio(median, variant.name, reference),
            "cpu_ratio": ratio(cpu_median, variant.name, base),
            "args": None if variant.args is None else variant.args.to_dict(),
            "bf16": variant.bf16,
        }
        fp32 = variant.name[: -len("+bf16")] if variant.bf16 and variant.name.endswith("+bf16") else None
        if fp32 in names:
            row["ratio_fp32"] = ratio(median, variant.name, fp32)
        if variant.kind == "released":
            row["param_grads"] = variant.param_grads
        rows.append(row)
    return rows


def _timed(run, device: str) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one call."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start, start_cpu = time.perf_counter(), time.process_time()
    run()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start, time.process_time() - start_cpu


# -- peak memory, one fresh process per variant ------------------------------------------------------------


def _batch_state(batch: RiftBatch) -> dict:
    return {f.name: getattr(batch, f.name) for f in dataclasses.fields(batch)}


def run_memory_worker(variant: Variant, model_dir: str, batches_path, device: str, bf16: bool, threads, seed: int) -> dict:
    """Peak memory of ``variant`` measured by ``memory_worker`` in a fresh Python process."""
    spec = {
        "variant": variant.to_dict(),
        "model_dir": model_dir,
        "batches": str(batches_path),
        "device": device,
        "bf16": bf16,
        "threads": threads,
        "seed": seed,
    }
    package_root = str(Path(__file__).resolve().parents[2])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p),
        # glibc: serve large blocks by mmap and trim freed heap at once, so the resident set tracks live memory
        "MALLOC_MMAP_THRESHOLD_": "65536",
        "MALLOC_TRIM_THRESHOLD_": "0",
    }
    code = "from textattack_rift.bench.train_step import memory_worker; memory_worker()"
    done = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(spec), capture_output=True, text=True, env=env, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"memory measurement of {variant.name} failed:\n{done.stderr[-2000:]}")
    return json.loads(lines[-1])


def memory_worker() -> None:
    """Entry point of the memory process: read a spec on stdin, print one JSON line of figures.

    Two steps run (the first, a warm-up, also creates the optimizer state and is a warm-started
    variant's fresh first visit); the second is measured.
    """
    spec = json.loads(sys.stdin.read())
    device = spec["device"]
    cuda = device.startswith("cuda")
    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    # Everything the step imports comes first (the model's class included), so that the baseline holds
    # the libraries and the figure holds the tensors.
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING

    from textattack_rift.bench import released_variant  # noqa: F401
    from textattack_rift.training import free_adversary, step  # noqa: F401

    MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING[type(AutoConfig.from_pretrained(spec["model_dir"]))]
    from textattack_rift.bench.train_data import load_classifier

    base_kb = _rss_kb()
    variant = Variant.from_dict(spec["variant"])
    model, _, _ = load_classifier(spec["model_dir"], device, spec["seed"])
    state = torch.load(spec["batches"], weights_only=True)
    batches = {key: RiftBatch(**value).to(device) for key, value in state.items()}
    runner = StepRunner(model, batches, [variant], device=device, bf16=spec["bf16"])
    runner.step(variant)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        runner.step(variant)
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
        figures = {"peak_mb": peak / 2**20, "step_mb": (peak - before) / 2**20, "memory_method": "cuda max_memory_allocated"}
    else:
        reset = _reset_peak_rss()
        before_kb = _rss_kb()
        runner.step(variant)
        peak_kb = _status_kb("VmHWM")
        method = "peak RSS (VmHWM) of the measured step" if reset else "peak RSS (VmHWM) of the process (no reset here)"
        figures = {"peak_mb": (peak_kb - base_kb) / 1024, "step_mb": (peak_kb - before_kb) / 1024, "memory_method": method}
    print(json.dumps(figures))


def _status_kb(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"/proc/self/status has no {field}: peak memory needs Linux")
    return int(match.group(1))


def _rss_kb() -> int:
    return _status_kb("VmRSS")


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux >= 4.0); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


# -- the command line --------------------------------------------------------------------------------------


def run_train_step_cli(args) -> int:
    """``textattack-rift bench train-step``: run, print the table, optionally write ``--json``."""
    from textattack_rift.resources.atomic import write_json

    if args.threads < 0:
        raise RiftUserError(f"--threads must be >= 0, got {args.threads}")
    options = {"finetune_steps": args.finetune_steps, "visits": args.visits, "val_examples": args.val_examples,
               "save_model": args.save_model}
    result = bench_train_step(
        args.model,
        synonyms=args.synonyms,
        pad_to=args.pad_to,
        variants=args.variants,
        repeats=args.runs or 3,
        warmup=args.warmup,
        threads=args.threads or None,
        device=args.device,
        bf16=args.bf16,
        bf16_compare=args.bf16_compare,
        seed=args.seed,
        timing=not args.no_timing,
        memory=not args.no_memory,
        strength=not args.no_strength,
        strength_options=options,
        log=lambda message: print(message, file=sys.stderr, flush=True),
    )
    print(format_table(result))
    if args.json:
        write_json(args.json, result)
        print(f"full result: {args.json}")
    return 0


# -- the table ---------------------------------------------------------------------------------------------


def format_table(result: dict) -> str:
    """The result as a fixed-width table with a header line and notes."""
    config = result["config"]
    lines = [
        f"RIFT training step vs plain fine-tuning: {config['batch_size']} {config['dataset']} train sentences "
        f"(labels {config['labels']}), {config['tokens']} tokens ("
        + ("the longest sentence" if config.get("pad_to") is None else f"padded to {config['pad_to']}")
        + f"; reference rows {config['reference_tokens']}), synonyms {config['synonyms']}, {config['words_with_candidates']} words "
        f"with candidates; {config['device']}, {config['threads']} threads{', bf16' if config['bf16'] else ''}; "
        + (f"median of {config['repeats']} after {config['warmup']} warm-up round(s)" if config["repeats"] else "not timed")
    ]
    strength = result.get("strength")
    if strength:
        lines.append(
            f"strength model: {strength['model']}, validation clean accuracy {strength['clean_acc']:.3f} on "
            f"{strength['val_examples']} sentences; KL = adversary KL / KL of {strength['reference']} (mean over "
            f"{strength['visits'] - 1} later visits; KL last: at the last visit); ASCC acc = validation accuracy under that "
            f"adversary's ASCC attack (mean over the same visits; {strength['reference']}: "
            f"{strength['reference_ascc_acc']:.3f}); kept: share of perturbable words whose final choice is the slot "
            "their initial noise favoured (first, fresh visit; chance in brackets)"
        )
    header = (f"{'variant':<20} {'tok':>4} {'s/step':>7} {'x plain':>8} {'x plain@64':>10} {'cpu x':>6} {'peak MB':>8} "
              f"{'KL':>6} {'KL last':>7} {'ASCC acc':>9} {'kept (chance)':>14}")
    lines += ["", header, "-" * len(header)]
    for row in result["rows"]:
        lines.append(
            f"{row['name']:<20} {row['tokens']:>4} {_fmt(row['seconds'], ''):>7} {_fmt(row.get('ratio'), 'x'):>8} "
            f"{_fmt(row.get('ratio_reference'), 'x'):>10} {_fmt(row.get('cpu_ratio'), 'x'):>6} "
            f"{_fmt(row.get('peak_mb'), '', 0):>8} {_fmt(row.get('kl_ratio'), ''):>6} {_fmt(row.get('kl_ratio_last'), ''):>7} "
            f"{_fmt(row.get('ascc_acc'), '', 3):>9} {_kept(row):>14}"
        )
    lines.append("")
    lines.append(
        "x plain: to the plain step on the same padding; x plain@64: to the plain step padded to 64 tokens; "
        "cpu x: the same ratio in process CPU time; peak MB: "
        + (result["rows"][0].get("memory_method", "not measured") if result["rows"] else "")
        + " above the process before loading the model"
    )
    warm = [row for row in result["rows"] if (row.get("args") or {}).get("adv_warm_start") and row["first_visit_seconds"]]
    if warm:
        lines.append(
            "warm rows: later visits of the batch; their first visit took "
            + ", ".join(f"{row['name']} {row['first_visit_seconds']:.2f} s" for row in warm)
        )
    bf16_rows = [row for row in result["rows"] if row.get("ratio_fp32")]
    if bf16_rows:
        lines.append(
            "bf16 autocast, time to the same variant in fp32 (same rounds): "
            + ", ".join(f"{row['name']} {row['ratio_fp32']:.2f}x" for row in bf16_rows)
            + f" (CPU capability {config.get('cpu_capability')})"
        )
    load = config.get("load_average")
    if load:
        lines.append(f"load average (1/5/15 min) at start {load['start']}, at end {load['end']}")
    return "\n".join(lines)


def _kept(row: dict) -> str:
    if row.get("initial_argmax") is None:
        return "-"
    return f"{row['initial_argmax']:.2f} ({row['initial_argmax_chance']:.2f})"


def _fmt(value, suffix: str, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}{suffix}"
