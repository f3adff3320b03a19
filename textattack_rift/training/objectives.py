"""The RIFT objectives: KL (beta), conditional InfoNCE (gamma, tau), L2 to pre-trained, and their sum.

    L = ce_weight * CE(f(x), y) + beta * KL(p(y|x) || p(y|x_hat)) + gamma * MI (+ l2 * ||theta - theta_0||_2)

In the outer loss the KL term back-propagates through BOTH the clean and the adversarial prediction, as
TRADES does (Zhang et al. 2019): the clean side is not a fixed target, so the term also pulls p(y|x)
towards a prediction the adversary cannot move. The adversary itself uses a detached clean target.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textattack_rift.training.args import MI_ANCHORS, RiftArgs
from textattack_rift.training.features import pool_features
from textattack_rift.training.teacher import encoder_of

LOSS_TERMS = ("ce", "kl", "mi", "l2")  # L's terms, in the order they are computed and logged
# Architectures whose classifier reads the last real token, not the first: the [CLS] choice below
# would silently pick the wrong feature for them.
_LAST_TOKEN_POOLING = frozenset({"gpt2", "gpt_neo", "gpt_neox", "gptj", "llama", "mistral", "opt", "bloom", "qwen2"})


class NonFiniteLossError(FloatingPointError):
    """A RIFT loss term is NaN or infinite; the message names the term and its weight."""


def kl_divergence(clean_logits: Tensor, adv_logits: Tensor, detach_clean: bool = False) -> Tensor:
    """KL(p(y|x) || p(y|x_hat)) per example, batch mean, in float32 (nats).

    ``detach_clean=False`` (the outer loss) lets the gradient reach both sides, as in TRADES.
    """
    log_p = torch.log_softmax(clean_logits.float(), dim=-1)
    if detach_clean:
        log_p = log_p.detach()
    log_q = torch.log_softmax(adv_logits.float(), dim=-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1).mean()


def pooled_features(model: nn.Module, outputs, feature: str = "cls", attention_mask: Tensor | None = None) -> Tensor:
    """S: the student's ``feature`` (``RiftArgs.feature``) from the last encoder layer, [B,H].

    The default first-token ([CLS] / <s>) state is what a BERT/RoBERTa classification head reads (BERT's
    pooler and RoBERTa's head both start from it). The states are taken from ``outputs`` of the SAME
    forward pass that produced the logits: call a sequence-classification model with
    ``output_hidden_states=True``; a bare encoder's ``last_hidden_state`` works as is. ``mean`` needs
    ``attention_mask``. ``model`` is used to refuse last-token-pooling architectures and to find the pooler.
    """
    config = getattr(model, "config", None)
    model_type = getattr(config, "model_type", None)
    if model_type in _LAST_TOKEN_POOLING:
        raise NotImplementedError(
            f"pooled_features: {model_type!r} classifies from the last token; only encoder models are supported"
        )
    hidden_states = getattr(outputs, "hidden_states", None)
    if hidden_states is not None:
        last = hidden_states[-1]
    else:
        last = getattr(outputs, "last_hidden_state", None)
        if last is None:
            raise ValueError("pooled_features needs hidden states: call the model with output_hidden_states=True")
    if feature == "mean" and attention_mask is None:
        raise ValueError("pooled_features: feature 'mean' needs the attention mask")
    return pool_features(last, attention_mask, feature, encoder_of(model))


def _mlp(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, out_dim))


class ProjectionHeads(nn.Module):
    """Student and teacher projection heads (hidden -> 512 -> ReLU -> 256, L2-normalised outputs).

    One head pair per class when ``conditional`` (the conditioning on Y), else one pair. Both heads are
    trainable; only the teacher ENCODER is frozen. ``forward`` projects the whole batch in one call so the
    module can be wrapped in DistributedDataParallel on its own; every head runs on every example and
    each example keeps its own class's output, so all heads are always in the graph (no unused
    parameters under DDP) at a cost that is negligible next to the encoder.
    """

    def __init__(
        self,
        hidden_size: int,
        num_classes: int,
        conditional: bool = True,
        hidden_dim: int = 512,
        out_dim: int = 256,
        teacher_hidden_size: int | None = None,
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"ProjectionHeads needs num_classes >= 1, got {num_classes}")
        self.conditional = conditional
        self.num_classes = num_classes
        pairs = num_classes if conditional else 1
        teacher_in = teacher_hidden_size or hidden_size
        self.student = nn.ModuleList(_mlp(hidden_size, hidden_dim, out_dim) for _ in range(pairs))
        self.teacher = nn.ModuleList(_mlp(teacher_in, hidden_dim, out_dim) for _ in range(pairs))

    @classmethod
    def from_args(cls, args: RiftArgs, hidden_size: int, num_classes: int) -> "ProjectionHeads":
        return cls(hidden_size, num_classes, args.conditional_mi, args.proj_hidden_dim, args.proj_dim)

    def forward(self, student_feats: Tensor, teacher_feats: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Project S(x_hat) and T(x) with each example's class head pair -> (z_s, z_t), unit norm, float32."""
        if not self.conditional:
            return _unit(self.student[0](student_feats)), _unit(self.teacher[0](teacher_feats.to(student_feats.dtype)))
        if labels is None:
            raise ValueError("conditional ProjectionHeads need the labels")
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= self.num_classes):
            raise ValueError(f"labels must lie in [0, {self.num_classes}) for the per-class heads")
        teacher_feats = teacher_feats.to(student_feats.dtype)
        pick = labels.view(1, -1, 1)
        z_s = torch.stack([head(student_feats) for head in self.student])  # [C,B,D]
        z_t = torch.stack([head(teacher_feats) for head in self.teacher])
        z_s = z_s.gather(0, pick.expand(1, -1, z_s.shape[-1])).squeeze(0)
        z_t = z_t.gather(0, pick.expand(1, -1, z_t.shape[-1])).squeeze(0)
        return _unit(z_s), _unit(z_t)


def _unit(z: Tensor) -> Tensor:
    return F.normalize(z.float(), dim=-1)


def _similarities(student_feats: Tensor, teacher_feats: Tensor, temperature: float, anchor: str) -> Tensor:
    """Rows are the anchors, columns the candidates among which each anchor's positive is picked.

    ``anchor="teacher"`` is the released script's direction: it applies LogSoftmax over dim 0 of
    f[student, teacher], i.e. for each teacher a softmax over the students. ``"student"`` is the other one.
    """
    if anchor not in MI_ANCHORS:
        raise ValueError(f"unknown InfoNCE anchor {anchor!r}; use one of {MI_ANCHORS}")
    sim = student_feats.float() @ teacher_feats.float().T / temperature  # [student, teacher]
    return sim.T if anchor == "teacher" else sim


def info_nce(student_feats: Tensor, teacher_feats: Tensor, temperature: float, anchor: str = "teacher") -> Tensor:
    """InfoNCE (tau): cross-entropy of picking each anchor's positive among the whole batch.

    Inputs are projected, unit-norm features [B,D]; the positives are (S(x_hat_i), T(x_i)). With the
    default ``anchor="teacher"`` each T(x_i) picks S(x_hat_i) among the students (the script's direction).
    """
    sim = _similarities(student_feats, teacher_feats, temperature, anchor)
    return F.cross_entropy(sim, torch.arange(sim.shape[0], device=sim.device))


def class_conditional_nce(
    student_feats: Tensor, teacher_feats: Tensor, labels: Tensor, temperature: float, anchor: str = "teacher"
) -> Tensor:
    """(1/C) sum_c InfoNCE_c: InfoNCE within each class (negatives = other examples of the same class).

    The mean runs over the classes with at least two examples in the batch. A class with a single
    example has no negatives: its InfoNCE is identically 0 (log 1) with zero gradient, so it is left out
    of the mean rather than diluting it. With no such class the result is a 0 still attached to the graph.
    """
    sim = _similarities(student_feats, teacher_feats, temperature, anchor)
    same = labels.view(-1, 1) == labels.view(1, -1)
    targets = torch.arange(sim.shape[0], device=sim.device)
    per_example = F.cross_entropy(sim.masked_fill(~same, float("-inf")), targets, reduction="none")
    classes, inverse, counts = torch.unique(labels, return_inverse=True, return_counts=True)
    per_class = torch.zeros(len(classes), device=sim.device).index_add(0, inverse, per_example) / counts
    usable = counts >= 2
    if not bool(usable.any()):
        return sim.sum() * 0.0
    return per_class[usable].mean()


def conditional_info_nce(
    student_feats: Tensor, teacher_feats: Tensor, labels: Tensor, heads: nn.Module, temperature: float,
    anchor: str = "teacher",
) -> Tensor:
    """The MI term's loss: project with ``heads`` (one pair per class, or one pair), then InfoNCE.

    Conditional heads give (1/C) sum_c InfoNCE_c over same-class negatives (see class_conditional_nce);
    unconditional heads give one InfoNCE over the whole batch. ``heads`` may be DDP-wrapped.
    """
    z_s, z_t = heads(student_feats, teacher_feats, labels)
    inner = heads.module if hasattr(heads, "module") else heads
    if getattr(inner, "conditional", True):
        return class_conditional_nce(z_s, z_t, labels, temperature, anchor)
    return info_nce(z_s, z_t, temperature, anchor)


def l2_to_pretrained(encoder: nn.Module, pretrained: nn.Module) -> Tensor:
    """||theta - theta_0||_2, the norm (as the script's ``params_l2``), over the encoder parameters that
    the pre-trained copy has, by name. Its gradient is 0 where theta = theta_0 (not the norm's NaN)."""
    reference = dict(pretrained.named_parameters())
    total = None
    for name, param in encoder.named_parameters():
        ref = reference.get(name)
        if ref is None or ref.shape != param.shape:
            continue
        term = (param.float() - ref.detach().float()).pow(2).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("l2_to_pretrained: the encoder and the pre-trained copy share no parameter names")
    return total.clamp_min(1e-24).sqrt()


def rift_loss(
    args: RiftArgs,
    labels: Tensor,
    clean_logits: Tensor,
    adv_logits: Tensor | None = None,
    *,
    student_feats: Tensor | None = None,
    teacher_feats: Tensor | None = None,
    heads: nn.Module | None = None,
    encoder: nn.Module | None = None,
    pretrained: nn.Module | None = None,
    only: tuple[str, ...] = LOSS_TERMS,
) -> tuple[Tensor, dict[str, float]]:
    """Total RIFT loss and the per-term values (floats, unweighted) plus ``loss`` for logging.

    Terms with weight 0 are not computed and not logged; ``only`` restricts the sum to some of
    ``LOSS_TERMS`` (the two-pass step computes the adversarial and the clean terms separately).
    Raises NonFiniteLossError naming the term when one is NaN/inf (the one device sync also serves the logging).
    """
    weights = term_weights(args)
    wanted = {name for name in only if weights[name] > 0}
    terms: dict[str, tuple[float, Tensor]] = {}
    if "ce" in wanted:
        terms["ce"] = (args.ce_weight, F.cross_entropy(clean_logits.float(), labels))
    if "kl" in wanted:
        _require("kl", "beta", adv_logits=adv_logits)
        terms["kl"] = (args.beta, kl_divergence(clean_logits, adv_logits))
    if "mi" in wanted:
        _require("mi", "gamma", student_feats=student_feats, teacher_feats=teacher_feats, heads=heads)
        terms["mi"] = (
            args.gamma, conditional_info_nce(student_feats, teacher_feats, labels, heads, args.temperature, args.mi_anchor)
        )
    if "l2" in wanted:
        _require("l2", "l2_to_pretrained", encoder=encoder, pretrained=pretrained)
        terms["l2"] = (args.l2_to_pretrained, l2_to_pretrained(encoder, pretrained))
    total = sum(weight * value for weight, value in terms.values())
    values = torch.stack([value.detach().float() for _, value in terms.values()]).tolist()
    logs: dict[str, float] = {}
    for (name, (weight, _)), value in zip(terms.items(), values):
        if not math.isfinite(value):
            raise NonFiniteLossError(
                f"RIFT loss term {name!r} is {value} (weight {weight:g}); check the inputs, learning rate and precision"
            )
        logs[name] = value
    logs["loss"] = weighted_total(args, logs)
    return total, logs


def term_weights(args: RiftArgs) -> dict[str, float]:
    """Each of ``LOSS_TERMS`` with its weight in L."""
    return {"ce": args.ce_weight, "kl": args.beta, "mi": args.gamma, "l2": args.l2_to_pretrained}


def weighted_total(args: RiftArgs, logs: dict[str, float]) -> float:
    """L's value from logged (unweighted) term values; terms absent from ``logs`` count 0."""
    return sum(weight * logs[name] for name, weight in term_weights(args).items() if name in logs)


def _require(term: str, weight: str, **inputs) -> None:
    missing = [name for name, value in inputs.items() if value is None]
    if missing:
        raise ValueError(f"RIFT loss term {term!r} ({weight} > 0) needs {', '.join(missing)}")
