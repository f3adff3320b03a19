"""RIFT training parts: adversary, objectives, sampler, arguments, warm-start store (tiny real models, offline)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import textattack_rift  # noqa: F401  (before textattack / transformers, as everywhere)
from gloo_ranks import run_two_ranks
from textattack_rift.training.adversary import (
    ascc_adversary,
    ascc_attack,
    combination_weights,
    forward_embeds,
    init_combination_logits,
    soft_embeddings,
    tokens_from_words,
    word_candidate_mask,
)
from textattack_rift.training.args import RiftArgs
from textattack_rift.training.objectives import (
    NonFiniteLossError,
    ProjectionHeads,
    class_conditional_nce,
    conditional_info_nce,
    info_nce,
    kl_divergence,
    pooled_features,
    rift_loss,
)
from textattack_rift.training.sampler import ClassBalancedBatchSampler
from textattack_rift.training.step import RiftBatch, rift_training_loss
from textattack_rift.models.tiny import tiny_bert_classifier
from textattack_rift.training.store import WarmStartStore
from textattack_rift.training.teacher import make_teacher, teacher_features

VOCAB = 60


def tiny_model(seed: int = 0, dropout: float = 0.0, num_labels: int = 2):
    return tiny_bert_classifier(
        VOCAB, hidden_size=16, num_layers=1, max_positions=32, dropout=dropout, num_labels=num_labels, seed=seed
    )


def hand_batch() -> RiftBatch:
    """Two examples: [CLS] w0 w1a w1b w2 [SEP] (w1 has two sub-tokens) and a shorter padded one.

    Example 0: w0 has 3 valid candidates (slot 3 masked), w1 (two sub-tokens) has 2, w2 has none.
    Example 1: [CLS] v0 v1 [SEP] [PAD] [PAD]; v0 has 4 candidates, v1 has 2.
    """
    cls, sep, pad = 1, 2, 0
    input_ids = torch.tensor([[cls, 10, 11, 12, 13, sep], [cls, 20, 21, sep, pad, pad]])
    attention_mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    word_index = torch.tensor([[-1, 0, 1, 1, 2, -1], [-1, 0, 1, -1, -1, -1]])
    k = 4
    candidate_ids = input_ids.unsqueeze(-1).repeat(1, 1, k)
    candidate_mask = torch.zeros(2, 6, k, dtype=torch.bool)
    candidate_mask[..., 0] = True
    # example 0, word 0: candidates 30, 31 valid; slot 3 holds an id but is masked
    candidate_ids[0, 1, 1:] = torch.tensor([30, 31, 32])
    candidate_mask[0, 1, 1:3] = True
    # example 0, word 1 (two sub-tokens): one candidate word "40 41"
    candidate_ids[0, 2, 1], candidate_ids[0, 3, 1] = 40, 41
    candidate_mask[0, 2:4, 1] = True
    # example 1
    candidate_ids[1, 1, 1:] = torch.tensor([50, 51, 52])
    candidate_mask[1, 1, 1:] = True
    candidate_ids[1, 2, 1] = 53
    candidate_mask[1, 2, 1] = True
    return RiftBatch(
        input_ids=input_ids,
        attention_mask=attention_mask,
        labels=torch.tensor([0, 1]),
        candidate_ids=candidate_ids,
        candidate_mask=candidate_mask,
        word_index=word_index,
        indices=torch.tensor([7, 3]),
    )


def adv_kl(model, batch: RiftBatch, word_logits: torch.Tensor) -> float:
    """KL(p(y|x) || p(y|x_hat(w))) in eval mode for per-word logits (the quantity the adversary maximises)."""
    model.eval()
    with torch.no_grad():
        mask = word_candidate_mask(batch.candidate_mask, batch.word_index)
        weights = tokens_from_words(combination_weights(word_logits, mask), batch.word_index)
        embeds = soft_embeddings(model, batch.candidate_ids, weights)
        adv = forward_embeds(model, embeds, batch.attention_mask).logits
        clean = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
        return float(kl_divergence(clean, adv))


def run(model, batch: RiftBatch, **kwargs):
    return ascc_adversary(
        model, batch.input_ids, batch.attention_mask, batch.candidate_ids, batch.candidate_mask, batch.word_index, **kwargs
    )


# -- adversary ------------------------------------------------------------------------------------------


def test_adversary_increases_kl_and_stays_in_convex_hull():
    model, batch = tiny_model(), hand_batch()
    result = run(model, batch, steps=10, lr=0.5, entropy_weight=0.0, init="zeros")
    start = torch.zeros_like(result.logits)
    assert adv_kl(model, batch, result.logits) > adv_kl(model, batch, start) + 1e-4

    w, mask, tok = result.weights, result.word_mask, result.token_weights
    assert torch.allclose(w.sum(-1), torch.ones(w.shape[:2]), atol=1e-6)
    assert bool((w[~mask] == 0).all())  # exactly zero on masked candidates
    assert w[0, 0, 3] == 0 and tok[0, 1, 3] == 0
    assert torch.equal(tok[0, 2], tok[0, 3])  # the two sub-tokens of word 1 share weights
    assert torch.equal(tok[0, 2], w[0, 1])
    specials = batch.word_index < 0
    one_hot = torch.tensor([1.0, 0.0, 0.0, 0.0])
    assert bool((tok[specials] == one_hot).all())
    assert torch.equal(w[0, 2], one_hot)  # a word without candidates keeps itself
    assert bool((w[0, 1, 2:] == 0).all()) and w[0, 1, 1] > 0


def test_adversary_objective_with_sparsity_term_increases():
    from textattack_rift.training.adversary import ENTROPY_DIVISOR, word_entropy

    model, batch = tiny_model(1), hand_batch()
    result = run(model, batch, steps=8, entropy_weight=15.0, trace=True, generator=torch.Generator().manual_seed(0))
    assert len(result.history) == 8
    assert result.history[-1] > result.history[0]
    # alpha is weighed per word as alpha / 38400; at a per-word weight of 15 the sparsity term wins and
    # drives each perturbable word onto one candidate
    strong = run(model, batch, steps=8, entropy_weight=15.0 * ENTROPY_DIVISOR, generator=torch.Generator().manual_seed(0))
    perturbable = strong.word_mask.sum(-1) >= 2
    assert bool((strong.weights.amax(-1)[perturbable] > 0.9).all())
    assert float(word_entropy(strong.logits, strong.word_mask).sum()) < float(word_entropy(result.logits, result.word_mask).sum())


def test_adversary_touches_no_parameter_grad_and_restores_modes():
    model, batch = tiny_model(dropout=0.5), hand_batch()
    model.train()
    model.bert.encoder.eval()  # a mixed state must come back exactly as it was
    modes = [m.training for m in model.modules()]
    marker = torch.ones_like(model.classifier.weight)
    model.classifier.weight.grad = marker.clone()
    first = run(model, batch, steps=3, generator=torch.Generator().manual_seed(5))
    second = run(model, batch, steps=3, generator=torch.Generator().manual_seed(5))
    assert [m.training for m in model.modules()] == modes
    assert torch.equal(model.classifier.weight.grad, marker)
    assert all(p.grad is None for n, p in model.named_parameters() if n != "classifier.weight")
    # dropout 0.5 is on in train mode: equal results show the adversary ran in eval mode
    assert torch.equal(first.logits, second.logits)


def test_adversary_rejects_inconsistent_subtoken_masks():
    batch = hand_batch()
    bad = batch.candidate_mask.clone()
    bad[0, 3, 1] = False  # second sub-token of word 1 disagrees with the first
    with pytest.raises(ValueError, match="sub-tokens"):
        word_candidate_mask(bad, batch.word_index)
    special = batch.candidate_mask.clone()
    special[0, 0, 1] = True
    with pytest.raises(ValueError, match="-1"):
        word_candidate_mask(special, batch.word_index)


def test_warm_start_logits_are_used_for_found_rows_only():
    model, batch = tiny_model(), hand_batch()
    shape = (2, 3, 4)
    init = torch.full(shape, 0.0)
    init[:, :, 1] = 3.0
    result = run(model, batch, steps=0, init="random", init_logits=init, init_found=torch.tensor([True, False]),
                 generator=torch.Generator().manual_seed(0))
    assert torch.equal(result.logits[0], init[0])
    expected_random = init_combination_logits(shape, "random", torch.device("cpu"), torch.Generator().manual_seed(0))
    assert torch.equal(result.logits[1], expected_random[1])


def test_soft_embeddings_send_gradient_into_embedding_matrix():
    model, batch = tiny_model(), hand_batch()
    result = run(model, batch, steps=2, init="zeros")
    embeds = soft_embeddings(model, batch.candidate_ids, result.token_weights)
    forward_embeds(model, embeds, batch.attention_mask).logits.sum().backward()
    grad = model.get_input_embeddings().weight.grad
    assert grad[30].abs().sum() > 0 and grad[40].abs().sum() > 0  # candidates with positive weight
    assert grad[32].abs().sum() == 0  # a masked candidate (weight exactly 0)


def test_adversary_runs_under_bf16_autocast_on_cpu():
    model, batch = tiny_model(), hand_batch()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        result = run(model, batch, steps=2)
    assert result.logits.dtype == torch.float32
    assert torch.isfinite(result.weights).all()


def test_ascc_attack_returns_allowed_discrete_choices(tiny_bert_dir):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from textattack_rift.bench.train_step import synthetic_batch

    model = AutoModelForSequenceClassification.from_pretrained(str(tiny_bert_dir))
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_bert_dir))
    batch = synthetic_batch(tokenizer, batch_size=4, words=8, max_length=24, num_candidates=5, seed=1)
    attack = ascc_attack(model, batch.input_ids, batch.attention_mask, batch.candidate_ids, batch.candidate_mask,
                         batch.word_index, batch.labels, token_type_ids=batch.token_type_ids, steps=5)
    word_mask = word_candidate_mask(batch.candidate_mask, batch.word_index)
    assert bool(word_mask.gather(-1, attack.choices.unsqueeze(-1)).all())  # every choice is an allowed one
    assert attack.choices.max() > 0  # something was swapped
    for b in range(4):
        for t in range(batch.input_ids.shape[1]):
            w = int(batch.word_index[b, t])
            slot = 0 if w < 0 else int(attack.choices[b, w])
            assert attack.input_ids[b, t] == batch.candidate_ids[b, t, slot]
    with torch.no_grad():
        pred = model(input_ids=attack.input_ids, attention_mask=batch.attention_mask).logits.argmax(-1)
    assert torch.equal(pred, attack.adv_pred)
    assert torch.equal(attack.flipped, attack.adv_pred != attack.clean_pred)

    # the hand-made batch exercises a two-sub-token word: both positions take the same candidate word
    hand = hand_batch()
    result = ascc_attack(tiny_model(2), hand.input_ids, hand.attention_mask, hand.candidate_ids, hand.candidate_mask,
                         hand.word_index, hand.labels, steps=3)
    pair = result.input_ids[0, 2:4].tolist()
    assert pair in ([11, 12], [40, 41])
    assert result.input_ids[0, 1].item() in (10, 30, 31)


# -- objectives -----------------------------------------------------------------------------------------


def test_info_nce_lower_for_aligned_pairs():
    torch.manual_seed(0)
    s = torch.nn.functional.normalize(torch.randn(8, 16), dim=-1)
    t = torch.nn.functional.normalize(s + 0.1 * torch.randn(8, 16), dim=-1)
    shuffled = t[torch.roll(torch.arange(8), 1)]
    assert info_nce(s, t, 0.2) < info_nce(s, shuffled, 0.2) - 1.0


def test_conditional_info_nce_uses_only_same_class_negatives():
    torch.manual_seed(0)
    s = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    t = s.clone()
    t[2] = s[0]  # a class-1 teacher identical to example 0's positive: a strong cross-class negative
    labels = torch.tensor([0, 0, 1, 1])
    expected = (info_nce(s[:2], t[:2], 0.2) + info_nce(s[2:], t[2:], 0.2)) / 2
    assert torch.allclose(class_conditional_nce(s, t, labels, 0.2), expected)
    assert info_nce(s, t, 0.2) > expected + 0.1  # the unconditional loss does see that negative
    # a single-example class has no negatives: it is left out of the mean
    single = torch.tensor([0, 0, 1, 2])
    assert torch.allclose(class_conditional_nce(s, t, single, 0.2), info_nce(s[:2], t[:2], 0.2))
    alone = class_conditional_nce(s.requires_grad_(), t, torch.tensor([0, 1, 2, 3]), 0.2)
    assert alone.item() == 0.0 and alone.requires_grad


def test_projection_heads_per_class_and_all_heads_in_graph():
    torch.manual_seed(0)
    heads = ProjectionHeads(hidden_size=16, num_classes=3, hidden_dim=12, out_dim=6)
    s, t = torch.randn(4, 16), torch.randn(4, 16)
    labels = torch.tensor([0, 0, 2, 2])  # class 1 absent
    z_s, z_t = heads(s, t, labels)
    assert torch.allclose(z_s.norm(dim=-1), torch.ones(4)) and z_s.shape == (4, 6)
    own = torch.nn.functional.normalize(heads.student[2](s[2:3]), dim=-1)
    assert torch.allclose(z_s[2:3], own, atol=1e-6)
    conditional_info_nce(s, t, labels, heads, 0.2).backward()
    assert all(p.grad is not None for p in heads.parameters())  # DDP needs no find_unused_parameters
    assert heads.student[1][0].weight.grad.abs().sum() == 0
    single = ProjectionHeads(16, 3, conditional=False, hidden_dim=12, out_dim=6)
    assert len(single.student) == 1
    assert torch.allclose(conditional_info_nce(s, t, labels, single, 0.2), info_nce(*single(s, t), 0.2))


def test_student_and_teacher_features_agree_before_training():
    model, batch = tiny_model(), hand_batch()
    teacher = make_teacher(model)
    assert not any(p.requires_grad for p in teacher.parameters())
    model.eval()
    out = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, output_hidden_states=True)
    feats = teacher_features(teacher, batch.input_ids, batch.attention_mask)
    assert torch.allclose(pooled_features(model, out), feats, atol=1e-5)


def test_rift_loss_terms_and_nan_detection():
    torch.manual_seed(0)
    args = RiftArgs(beta=2.0, gamma=0.5, temperature=0.2, proj_hidden_dim=8, proj_dim=4)
    heads = ProjectionHeads.from_args(args, hidden_size=6, num_classes=2)
    clean, adv = torch.randn(4, 2, requires_grad=True), torch.randn(4, 2)
    labels = torch.tensor([0, 1, 0, 1])
    s, t = torch.randn(4, 6), torch.randn(4, 6)
    total, logs = rift_loss(args, labels, clean, adv, student_feats=s, teacher_feats=t, heads=heads)
    assert set(logs) == {"ce", "kl", "mi", "loss"}
    assert logs["kl"] > 0
    assert logs["loss"] == pytest.approx(logs["ce"] + 2.0 * logs["kl"] + 0.5 * logs["mi"], rel=1e-5)
    assert total.item() == pytest.approx(logs["loss"], rel=1e-5)
    kl_only = RiftArgs(ce_weight=0.0, gamma=0.0)
    kl_total, _ = rift_loss(kl_only, labels, clean, adv)
    kl_total.backward()
    assert clean.grad.abs().sum() > 0  # KL's gradient reaches the clean side too (TRADES)

    no_mi = RiftArgs(gamma=0.0)
    _, logs = rift_loss(no_mi, labels, clean, adv)
    assert "mi" not in logs
    with pytest.raises(NonFiniteLossError, match="'kl'"):
        rift_loss(no_mi, labels, clean, torch.tensor([[float("nan"), 0.0]] * 4))
    with pytest.raises(NonFiniteLossError, match="'ce'"):
        rift_loss(no_mi, labels, torch.full((4, 2), float("inf")), adv)
    with pytest.raises(ValueError, match="'mi'.*heads"):
        rift_loss(args, labels, clean, adv, student_feats=s, teacher_feats=t)


def test_rift_training_loss_end_to_end_with_warm_start():
    model, batch = tiny_model(), hand_batch()
    args = RiftArgs(adv_steps=4, adv_warm_start=True, adv_steps_warm=1, proj_hidden_dim=8, proj_dim=4)
    teacher = make_teacher(model)
    heads = ProjectionHeads.from_args(args, model.config.hidden_size, 2)
    store = WarmStartStore()
    model.train()
    loss, logs = rift_training_loss(model, batch, args, heads=heads, teacher=teacher, store=store)
    assert logs["adv_steps"] == 4 and {"ce", "kl", "mi"} <= set(logs)
    loss.backward()
    assert model.get_input_embeddings().weight.grad.abs().sum() > 0
    assert model.classifier.weight.grad is not None
    assert all(p.grad is not None for p in heads.parameters())
    assert all(p.grad is None for p in teacher.parameters())
    assert model.training
    _, logs = rift_training_loss(model, batch, args, heads=heads, teacher=teacher, store=store)
    assert logs["adv_steps"] == 1 and store.hits == 2


# -- sampler --------------------------------------------------------------------------------------------


LABELS = [0] * 10 + [1] * 25 + [2] * 13


def test_sampler_balanced_and_uses_all_data():
    sampler = ClassBalancedBatchSampler(LABELS, batch_size=6, seed=3, drop_last=False)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 13  # ceil(25 / 2): the largest class sets the epoch
    for batch in batches:
        assert sorted(LABELS[i] for i in batch) == [0, 0, 1, 1, 2, 2]
        assert len(set(batch)) == 6
    assert set().union(*batches) == set(range(len(LABELS)))
    counts = torch.bincount(torch.tensor([i for b in batches for i in b if LABELS[i] == 0]), minlength=10)[:10]
    assert counts.max() - counts.min() <= 1  # minority class oversampled evenly
    assert batches == list(ClassBalancedBatchSampler(LABELS, 6, seed=3, drop_last=False))
    sampler.set_epoch(1)
    assert list(sampler) != batches
    assert len(ClassBalancedBatchSampler(LABELS, 6, seed=3, drop_last=True)) == 12


def test_sampler_errors():
    with pytest.raises(ValueError, match="not divisible by the 3 classes"):
        ClassBalancedBatchSampler(LABELS, batch_size=8)
    with pytest.raises(ValueError, match=r"class 0 has 10 example\(s\).*12"):
        ClassBalancedBatchSampler(LABELS, batch_size=12, num_replicas=3, rank=0)
    with pytest.raises(ValueError, match="rank"):
        ClassBalancedBatchSampler(LABELS, batch_size=6, num_replicas=2, rank=2)


def test_sampler_resume_yields_exactly_the_remaining_batches():
    sampler = ClassBalancedBatchSampler(LABELS, batch_size=6, seed=1)
    sampler.set_epoch(2)
    full = list(sampler)
    sampler.set_epoch(2)
    it = iter(sampler)
    seen = [next(it) for _ in range(4)]
    state = sampler.state_dict()
    assert state["epoch"] == 2 and state["position"] == 4

    resumed = ClassBalancedBatchSampler(LABELS, batch_size=6, seed=1)
    resumed.load_state_dict(state)
    resumed.set_epoch(2)  # the trainer's usual call keeps the place
    assert seen + list(resumed) == full
    # a loader that prefetched: the trainer says how many batches it trained on
    assert sampler.state_dict(batches_done=3)["position"] == 3
    assert sampler.state_dict(batches_done=len(sampler))["epoch"] == 3
    with pytest.raises(ValueError, match="batch_size"):
        ClassBalancedBatchSampler(LABELS, batch_size=3, seed=1).load_state_dict(state)


def test_sampler_ranks_get_disjoint_balanced_shares():
    ranks = [ClassBalancedBatchSampler(LABELS, batch_size=3, seed=4, num_replicas=2, rank=r) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1])
    for b0, b1 in zip(*(list(r) for r in ranks)):
        assert not set(b0) & set(b1)
        for batch in (b0, b1):
            assert sorted(LABELS[i] for i in batch) == [0, 1, 2]


# -- arguments and store --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("beta", -1.0, "beta must be >= 0"),
        ("gamma", float("nan"), "gamma must be finite"),
        ("temperature", 0.0, "temperature must be > 0"),
        ("select_by", "test", "select_by must be one of"),
        ("adv_init", "gauss", "adv_init must be one of"),
        ("adv_steps", 2.5, "adv_steps must be an integer"),
        ("conditional_mi", "yes", "conditional_mi must be true or false"),
    ],
)
def test_rift_args_validation(field, value, message):
    with pytest.raises(ValueError, match=message):
        RiftArgs(**{field: value})


def test_rift_args_round_trip(tmp_path):
    args = RiftArgs(beta=5.0, gamma=0.7, conditional_mi=False, adv_warm_start=True, select_by="clean")
    assert RiftArgs.from_dict(args.to_dict()) == args
    assert RiftArgs.load(args.save(tmp_path)) == args
    assert RiftArgs.load(tmp_path) == args
    with pytest.raises(ValueError, match="unknown field"):
        RiftArgs.from_dict({"betta": 1.0})
    with pytest.raises(ValueError, match="nothing to train"):
        RiftArgs(ce_weight=0, beta=0, gamma=0)
    assert not RiftArgs(gamma=0).uses_teacher and RiftArgs(gamma=0).uses_adversary


def test_warm_start_store_round_trip(tmp_path):
    batch = hand_batch()
    logits = torch.randn(2, 3, 4)
    mask = word_candidate_mask(batch.candidate_mask, batch.word_index)
    store = WarmStartStore(max_spread=8.0)
    store.update(batch.indices, logits, batch.word_index, mask)
    got, found = store.lookup(batch.indices, batch.word_index, 4)
    assert found.tolist() == [True, True]
    same_weights = combination_weights(got, mask)  # re-centring keeps w
    assert torch.allclose(same_weights, combination_weights(logits, mask), atol=2e-3)
    assert got[1, 2].abs().sum() == 0  # example 1 has 2 words: the third row is padding
    wider, _ = store.lookup(batch.indices, batch.word_index, 6)
    assert torch.equal(wider[..., :4], got) and wider[..., 4:].abs().sum() == 0
    _, found = store.lookup([7, 99], batch.word_index, 4)
    assert found.tolist() == [True, False]
    # a changed word count (re-tokenised example) is a miss
    _, found = store.lookup([3, 7], batch.word_index, 4)
    assert found.tolist() == [False, False]

    copy = WarmStartStore()
    copy.load_state_dict(store.state_dict())
    assert torch.equal(copy.lookup(batch.indices, batch.word_index, 4)[0], got)
    disk = WarmStartStore(tmp_path / "store")
    disk.load_state_dict(store.state_dict())
    assert len(disk) == 2 and 7 in disk
    assert torch.equal(disk.lookup(batch.indices, batch.word_index, 4)[0], got)
    back = WarmStartStore()
    back.load_state_dict(disk.state_dict())
    assert torch.equal(back.lookup(batch.indices, batch.word_index, 4)[0], got)


def test_training_package_import_is_cheap():
    code = "import sys, textattack_rift.training as t; assert 'torch' not in sys.modules; t.RiftArgs()"
    subprocess.run([sys.executable, "-c", code], check=True)


DDP_WORKER = """
import os, sys
import torch
import torch.distributed as dist
import textattack_rift  # noqa: F401
from torch.nn.parallel import DistributedDataParallel as DDP
from test_training_core import hand_batch, tiny_model
from textattack_rift.training.args import RiftArgs
from textattack_rift.training.objectives import ProjectionHeads
from textattack_rift.training.step import rift_training_loss, training_backward
from textattack_rift.training.teacher import make_teacher

torch.set_num_threads(1)
dist.init_process_group("gloo")
rank = dist.get_rank()
model = tiny_model(dropout=0.1)
args = RiftArgs(adv_steps=2, proj_hidden_dim=8, proj_dim=4)
teacher = make_teacher(model)
torch.manual_seed(0)
heads = ProjectionHeads.from_args(args, model.config.hidden_size, 2)
ddp_model, ddp_heads = DDP(model), DDP(heads)  # strict: find_unused_parameters=False
ddp_model.train()
batch = hand_batch()
batch.labels = torch.tensor([1, 1])  # class 0 absent: its heads get zero gradients, yet DDP must not stall
for step in range(2):
    if sys.argv[2] == "two-pass":  # the trainer's step: two backward passes, the first under no_sync
        training_backward(ddp_model, batch, args, heads=ddp_heads, teacher=teacher,
                          generator=torch.Generator().manual_seed(rank))
    else:
        loss, logs = rift_training_loss(ddp_model, batch, args, heads=ddp_heads, teacher=teacher,
                                        generator=torch.Generator().manual_seed(rank))
        loss.backward()
grads = {"cls": model.classifier.weight.grad, "emb": model.get_input_embeddings().weight.grad,
         "head": heads.student[1][0].weight.grad}
torch.save(grads, sys.argv[1] + f"/grads{rank}.pt")
dist.destroy_process_group()
"""


@pytest.mark.parametrize("mode", ["one-graph", "two-pass"])
def test_rift_step_under_distributed_data_parallel(tmp_path, mode):
    """Two gloo ranks: wrapped classifier and heads, one forward per backward, identical reduced gradients."""
    g0, g1 = run_two_ranks(DDP_WORKER, tmp_path, mode, timeout=120)
    for name in g0:
        assert g0[name].abs().sum() > 0, name
        assert torch.allclose(g0[name], g1[name]), name


def test_adversary_strength_proxy_runs():
    from textattack_rift.bench.train_step import adversary_strength

    ratios = adversary_strength(
        {"warm_1": RiftArgs(adv_steps=2, adv_warm_start=True, adv_steps_warm=1)},
        reference=RiftArgs(adv_steps=2), visits=2, train_steps=1, seeds=(0,), batch_size=4, words=5, threads=1,
    )
    assert set(ratios) == {"warm_1"} and ratios["warm_1"] > 0
