"""RiftArgs: the RIFT hyper-parameters (Dong et al. 2021), with the paper's defaults.

The total loss is ``ce_weight * CE + beta * KL + gamma * MI (+ l2_to_pretrained * ||theta - theta_0||_2)``.
Defaults are one coherent published setting, the paper's IMDB one (beta=10, gamma=0.1): the
single-sentence binary task this package trains by default. Recipes set the SNLI values
(beta=5, gamma=0.7) explicitly rather than mixing the two settings here.

``adversary="freelb"`` (preset ``freelb``) is the FreeLB++ baseline instead: the loss is
``ce_weight * (1/K) sum_k CE(f(x + delta_k), y)`` with TextDefender's settings (``training.freelb``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RIFT_ARGS_FILENAME = "rift_args.json"
SELECT_BY = ("clean", "ascc")
ADV_INITS = ("random", "zeros")
MI_ANCHORS = ("teacher", "student")
FEATURES = ("cls", "mean", "pooler")  # what S and T read from their encoders (training/features.py)
# The training adversary: ASCC's convex combinations of synonym embeddings (the paper's), or FreeLB++'s
# norm-bounded perturbation of the input embeddings (training/freelb.py; TextDefender's strongest defence).
ADVERSARIES = ("ascc", "freelb")
FREELB_NORMS = ("l2", "linf")
# The methods the paper compares, all trained by the same loop on the same batches:
# standard fine-tuning (CE only), ASCC adversarial training ("without MI"), RIFT, RIFT with unconditional MI.
PRESETS: dict[str, dict] = {
    "standard": {"beta": 0.0, "gamma": 0.0},
    "ascc": {"gamma": 0.0},
    "rift": {},
    "rift-unconditional": {"conditional_mi": False},
    # FreeLB++ (Li et al. EMNLP 2021): CE under K ascent steps of an embedding perturbation, no KL/MI term.
    "freelb": {"beta": 0.0, "gamma": 0.0, "adversary": "freelb"},
}


@dataclass
class RiftArgs:
    """Hyper-parameters of one RIFT training step; the symbols are the paper's.

    Attributes:
        ce_weight: weight of CE(f(x), y) on the clean input (1 in the paper).
        beta: weight of KL(p(y|x) || p(y|x_hat)), the TRADES-style robustness term. Paper: 10 (IMDB),
            5 (SNLI); the default is the IMDB value (see the module docstring).
        gamma: weight of the conditional InfoNCE term I(S(x_hat); T(x) | Y). Paper: 0.1 (IMDB),
            0.7 (SNLI). gamma=0 is ASCC adversarial training "without MI" (no teacher pass at all).
        temperature: tau of InfoNCE (0.2).
        proj_hidden_dim, proj_dim: projection head sizes, hidden -> 512 -> ReLU -> 256.
        conditional_mi: one head pair per class and same-class negatives (the paper); False is the
            unconditional ablation (one head pair, negatives from the whole batch).
        mi_anchor: InfoNCE's direction. "teacher" (the released script's): for each teacher feature
            T(x_i), a softmax over the students picks S(x_hat_i); "student": for each student, over the teachers.
        feature: what the MI term reads from the student and the teacher encoder (both alike): "cls" (the
            last layer's first-token state, the released script's choice), "mean" (the mean of the last
            layer over the real tokens, special tokens included: how sentence-transformers encoders such as
            MiniLM were pre-trained) or "pooler" (the encoder's pooler, tanh(W h_cls), for models that have one).
        adv_steps: Adam steps of the ASCC adversary on the combination logits (10).
        adv_lr: Adam learning rate on those logits (the released script used 1.0). Adam moves each
            logit by about adv_lr per step, so fewer steps with a larger rate (e.g. 3 steps at 3.0) is a
            cheaper adversary too (see ``textattack_rift.bench.synthetic.adversary_strength``).
        adv_entropy_weight: alpha, the sparsity weight (15, the script's). The adversary maximises
            sum_b KL_b - alpha * sum_b H_b(w) / 38400, H_b(w) the entropies (nats) of example b's words
            summed: the released script's objective term for term (its divisor is 300*128), so each word's
            entropy weighs alpha / 38400 (0.0004) against its example's KL (0.005-0.008 per 15-20-word
            sentence, about 0.06 for 150 words).
        adv_init: "random" (He-normal noise with the script's fan-in: std sqrt(2/(W*K)) for W word
            positions and K candidate slots of the batch) or "zeros" (uniform weights over each word's candidates).
        adv_warm_start: start each example's combination logits from its previous visit (the cheaper
            adversary), using ``adv_steps_warm`` steps instead of ``adv_steps`` when a stored start exists.
        adv_steps_warm: adversary steps for a warm-started example (2-3 suffice from a warm start).
        adv_store_dir: keep the warm-start store on disk in this directory (shared by all ranks)
            instead of in memory; None keeps it in memory.
        adv_free: "free"-style adversary (needs adv_warm_start): the outer backward's gradient with respect
            to the combination logits, which costs almost nothing extra, takes one more ascent step
            (sign step of size adv_lr, the first step Adam would take) on each example's logits before
            they are stored for its next visit; so ``adv_steps_warm`` steps buy ``adv_steps_warm + 1``.
        l2_to_pretrained: weight of the L2 distance (the norm, not its square: the script's params_l2)
            of the encoder to its pre-trained weights (an ablation the paper discusses; 0 = off).
        select_by: model selection on the validation split: "clean" accuracy or "ascc" robust accuracy
            under the ASCC attack.
        adversary: "ascc" (the adversary above, for the KL/MI terms) or "freelb": FreeLB++ training, the
            loss ce_weight * (1/K) sum_k CE(f(x + delta_k), y) over K ascent steps on delta
            (``textattack_rift.training.freelb``, whose docstring gives each setting's source in
            RockyLzy/TextDefender). Needs beta = gamma = l2_to_pretrained = 0. Model selection still
            uses the ASCC attack (the adv_* fields) when select_by is "ascc", as for every method.
        freelb_steps: K, forward/backward passes per batch (10: TextDefender's FreeLB++; FreeLB's code default is 5).
        freelb_lr: ascent step size on delta, taken along the normalised gradient (0.03, TextDefender's).
        freelb_init_mag: magnitude of delta's uniform random start (0.05); 0 starts from delta = 0.
        freelb_max_norm: bound on each example's ||delta|| after every step (0 = none, TextDefender's
            default; delta's norm then stays below init_mag + (K-1) * lr).
        freelb_norm: the norm of the step and the bound, "l2" (TextDefender's default) or "linf".
    """

    ce_weight: float = 1.0
    beta: float = 10.0
    gamma: float = 0.1
    temperature: float = 0.2
    proj_hidden_dim: int = 512
    proj_dim: int = 256
    conditional_mi: bool = True
    mi_anchor: str = "teacher"
    feature: str = "cls"
    adv_steps: int = 10
    adv_lr: float = 1.0
    adv_entropy_weight: float = 15.0
    adv_init: str = "random"
    adv_warm_start: bool = False
    adv_steps_warm: int = 3
    adv_store_dir: str | None = None
    adv_free: bool = False
    l2_to_pretrained: float = 0.0
    select_by: str = "ascc"
    adversary: str = "ascc"
    freelb_steps: int = 10
    freelb_lr: float = 0.03
    freelb_init_mag: float = 0.05
    freelb_max_norm: float = 0.0
    freelb_norm: str = "l2"

    def __post_init__(self) -> None:
        for name in ("ce_weight", "beta", "gamma", "adv_entropy_weight", "l2_to_pretrained"):
            _check_float(self, name, minimum=0.0)
        for name in ("temperature", "adv_lr"):
            _check_float(self, name, minimum=0.0, strict=True)
        for name in ("proj_hidden_dim", "proj_dim"):
            _check_int(self, name, minimum=1)
        for name in ("adv_steps", "adv_steps_warm"):
            _check_int(self, name, minimum=0)
        for name in ("conditional_mi", "adv_warm_start"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"RiftArgs.{name} must be true or false, got {getattr(self, name)!r}")
        if not isinstance(self.adv_free, bool):
            raise ValueError(f"RiftArgs.adv_free must be true or false, got {self.adv_free!r}")
        if self.adv_free and not self.adv_warm_start:
            raise ValueError("RiftArgs.adv_free needs adv_warm_start=True (the free step's logits are kept per example)")
        if self.select_by not in SELECT_BY:
            raise ValueError(f"RiftArgs.select_by must be one of {SELECT_BY}, got {self.select_by!r}")
        if self.mi_anchor not in MI_ANCHORS:
            raise ValueError(f"RiftArgs.mi_anchor must be one of {MI_ANCHORS}, got {self.mi_anchor!r}")
        if self.feature not in FEATURES:
            raise ValueError(f"RiftArgs.feature must be one of {FEATURES}, got {self.feature!r}")
        if self.adv_init not in ADV_INITS:
            raise ValueError(f"RiftArgs.adv_init must be one of {ADV_INITS}, got {self.adv_init!r}")
        if self.adv_store_dir is not None:
            if not isinstance(self.adv_store_dir, (str, os.PathLike)):
                raise ValueError(f"RiftArgs.adv_store_dir must be a path or None, got {self.adv_store_dir!r}")
            self.adv_store_dir = os.fspath(self.adv_store_dir)
        if self.ce_weight == 0 and self.beta == 0 and self.gamma == 0 and self.l2_to_pretrained == 0:
            raise ValueError("RiftArgs: ce_weight, beta, gamma and l2_to_pretrained are all 0: nothing to train")
        self._check_freelb()

    def _check_freelb(self) -> None:
        if self.adversary not in ADVERSARIES:
            raise ValueError(f"RiftArgs.adversary must be one of {ADVERSARIES}, got {self.adversary!r}")
        _check_int(self, "freelb_steps", minimum=1)
        _check_float(self, "freelb_lr", minimum=0.0, strict=True)
        for name in ("freelb_init_mag", "freelb_max_norm"):
            _check_float(self, name, minimum=0.0)
        if self.freelb_norm not in FREELB_NORMS:
            raise ValueError(f"RiftArgs.freelb_norm must be one of {FREELB_NORMS}, got {self.freelb_norm!r}")
        if self.adversary == "freelb":
            others = {name: getattr(self, name) for name in ("beta", "gamma", "l2_to_pretrained") if getattr(self, name)}
            if others:
                given = ", ".join(f"{name}={value:g}" for name, value in others.items())
                raise ValueError(
                    f"RiftArgs.adversary 'freelb' trains cross-entropy under FreeLB's perturbation alone: "
                    f"beta, gamma and l2_to_pretrained must be 0, got {given}"
                )
            if self.ce_weight == 0:
                raise ValueError("RiftArgs.adversary 'freelb' needs ce_weight > 0 (its loss is the cross-entropy)")

    @property
    def uses_adversary(self) -> bool:
        """True when the ASCC adversary's x_hat is needed: the KL term (beta) or the MI term (gamma) is on.

        False for FreeLB, which perturbs the embeddings itself (``uses_freelb``)."""
        return self.beta > 0 or self.gamma > 0

    @property
    def uses_freelb(self) -> bool:
        """True when the step is FreeLB++'s (``training.freelb.freelb_backward``)."""
        return self.adversary == "freelb"

    @property
    def method(self) -> str:
        """Which of the compared methods these weights make (see ``PRESETS``)."""
        if self.uses_freelb:
            return "freelb"
        if not self.uses_adversary:
            return "standard"
        if self.gamma == 0:
            return "ascc"
        return "rift" if self.conditional_mi else "rift-unconditional"

    @classmethod
    def preset(cls, method: str, **overrides) -> "RiftArgs":
        """The defaults for one compared method, then ``overrides``; one flag tells the methods apart."""
        if method not in PRESETS:
            raise ValueError(f"unknown RIFT method {method!r}; choose one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[method], **overrides})

    @property
    def uses_teacher(self) -> bool:
        """True when the frozen pre-trained encoder T is needed (MI term or L2 to pre-trained)."""
        return self.gamma > 0 or self.l2_to_pretrained > 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RiftArgs":
        """Build from a dict (e.g. rift_args.json); unknown keys are an error, missing keys take defaults."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"RiftArgs: unknown field(s) {unknown}; known fields: {sorted(known)}")
        return cls(**data)

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``rift_args.json`` into ``directory`` (atomically) and return its path."""
        from textattack_rift.resources.atomic import write_json

        path = Path(directory) / RIFT_ARGS_FILENAME
        write_json(path, self.to_dict())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "RiftArgs":
        """Read ``rift_args.json`` (a file, or a directory holding one)."""
        path = Path(path)
        if path.is_dir():
            path = path / RIFT_ARGS_FILENAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return cls.from_dict(data)
        except (UnicodeDecodeError, ValueError) as err:
            from textattack_rift.errors import RiftUserError

            raise RiftUserError(f"{path}: not a readable {RIFT_ARGS_FILENAME} ({err}); restore it or start the run again") from None


def _check_float(args: RiftArgs, name: str, minimum: float, strict: bool = False) -> None:
    value = getattr(args, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"RiftArgs.{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"RiftArgs.{name} must be finite, got {value!r}")
    if value < minimum or (strict and value == minimum):
        relation = ">" if strict else ">="
        raise ValueError(f"RiftArgs.{name} must be {relation} {minimum:g}, got {value:g}")
    setattr(args, name, value)


def _check_int(args: RiftArgs, name: str, minimum: int) -> None:
    value = getattr(args, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"RiftArgs.{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"RiftArgs.{name} must be >= {minimum}, got {value}")
