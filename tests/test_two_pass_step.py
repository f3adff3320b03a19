"""The trainer's two-pass RIFT step: the one-graph loss's gradient at one half's activations at a time.

Real data (the local rotten_tomatoes copy, WordNet candidates), the real tokenizer and a tiny BERT.
"""

from __future__ import annotations

import pytest
import torch

import textattack_rift  # noqa: F401  (before transformers / textattack, as everywhere)
from textattack_rift.training.args import RiftArgs
from textattack_rift.training.objectives import ProjectionHeads
from textattack_rift.training.step import rift_training_loss, training_backward
from textattack_rift.training.store import WarmStartStore
from textattack_rift.training.teacher import make_teacher


pytestmark = pytest.mark.usefixtures("one_thread")


def _classifier(tiny_bert_dir, dropout: float):
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(
        str(tiny_bert_dir), hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout
    )


def _parts(model, args):
    teacher = make_teacher(model) if args.uses_teacher else None
    torch.manual_seed(0)
    heads = ProjectionHeads.from_args(args, model.config.hidden_size, 2) if args.gamma > 0 else None
    return teacher, heads


def _grads(model, heads):
    modules = [model] + ([heads] if heads is not None else [])
    out = {}
    for module in modules:
        for name, p in module.named_parameters():
            if p.grad is not None:
                out[f"{type(module).__name__}.{name}"] = p.grad.clone()
        module.zero_grad(set_to_none=True)
    return out


ARGS = {
    "rift": dict(adv_steps=2, adv_lr=3.0, proj_hidden_dim=16, proj_dim=8),
    "ascc": dict(adv_steps=2, adv_lr=3.0, gamma=0.0),
    "rift+l2": dict(adv_steps=2, proj_hidden_dim=16, proj_dim=8, l2_to_pretrained=0.5),
}


@pytest.mark.parametrize("name", sorted(ARGS))
def test_two_pass_gradient_equals_the_one_graph_gradient(tiny_bert_dir, bench_data, name):
    """Dropout off, so both ways see the same network: same logs, same gradient on every parameter."""
    model = _classifier(tiny_bert_dir, dropout=0.0)
    batch, _ = bench_data.batch("train", 8, seed=3)
    args = RiftArgs(**ARGS[name])
    teacher, heads = _parts(model, args)
    model.train()
    loss, joint_logs = rift_training_loss(model, batch, args, heads=heads, teacher=teacher,
                                          generator=torch.Generator().manual_seed(0))
    (0.5 * loss).backward()
    joint = _grads(model, heads)
    logs = training_backward(model, batch, args, heads=heads, teacher=teacher,
                             generator=torch.Generator().manual_seed(0), scale=0.5)
    split = _grads(model, heads)

    assert set(logs) == set(joint_logs)
    for key, value in joint_logs.items():
        assert logs[key] == pytest.approx(value, rel=1e-5, abs=1e-7), key
    assert set(split) == set(joint) and len(joint) > 10
    # equal up to float summation order (two partial sums vs one), measured on the gradients' scale
    scale = max(float(grad.abs().max()) for grad in joint.values())
    for key, grad in joint.items():
        error = float((split[key] - grad).abs().max())
        assert error <= 1e-5 * scale, (key, error, scale)
    assert any(float(g.abs().sum()) > 0 for k, g in split.items() if k.startswith("ProjectionHeads")) == (args.gamma > 0)


def test_the_clean_half_repeats_the_no_grad_pass_dropout_masks(tiny_bert_dir, bench_data):
    """With dropout on, the fixed p(y|x) of the adversarial half is the clean half's own p(y|x)."""
    model = _classifier(tiny_bert_dir, dropout=0.3)
    batch, _ = bench_data.batch("train", 8, seed=4)
    args = RiftArgs(**ARGS["rift"])
    teacher, heads = _parts(model, args)
    seen = []
    handle = model.classifier.register_forward_hook(lambda module, inputs, output: seen.append(output.detach().clone()))
    model.train()
    torch.manual_seed(11)
    training_backward(model, batch, args, heads=heads, teacher=teacher, generator=torch.Generator().manual_seed(0))
    handle.remove()
    # the step's last three classifier calls (the adversary's, in eval mode, come before them):
    # the no-grad clean pass, the adversarial half, the clean half
    train_calls = seen[-3:]
    no_grad_clean, adversarial, clean = train_calls
    assert torch.equal(no_grad_clean, clean)
    assert not torch.equal(no_grad_clean, adversarial)
    # and dropout really is on: the same clean batch in eval mode gives other logits
    model.eval()
    with torch.no_grad():
        eval_logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    assert not torch.allclose(eval_logits, clean)


def test_same_seed_same_two_pass_step(tiny_bert_dir, bench_data):
    batch, _ = bench_data.batch("train", 8, seed=5)
    args = RiftArgs(**ARGS["rift"])
    results = []
    for _ in range(2):
        model = _classifier(tiny_bert_dir, dropout=0.1)
        teacher, heads = _parts(model, args)
        model.train()
        torch.manual_seed(3)
        logs = training_backward(model, batch, args, heads=heads, teacher=teacher)
        results.append((logs, _grads(model, heads)))
    assert results[0][0] == results[1][0]
    for key, grad in results[0][1].items():
        assert torch.equal(results[1][1][key], grad), key


def test_free_adversary_step_still_taken_by_the_adversarial_half(tiny_bert_dir, bench_data):
    model = _classifier(tiny_bert_dir, dropout=0.0)
    batch, _ = bench_data.batch("train", 8, seed=7)
    stored = {}
    for free in (False, True):
        args = RiftArgs(gamma=0.0, adv_steps=2, adv_lr=0.05, adv_warm_start=True, adv_free=free)
        store = WarmStartStore()
        model.train()
        training_backward(model, batch, args, store=store, generator=torch.Generator().manual_seed(0))
        model.zero_grad(set_to_none=True)
        stored[free] = store.lookup(batch.indices, batch.word_index, batch.candidate_ids.shape[-1])[0]
    moved = (stored[True] - stored[False]).abs()
    assert 0 < float(moved.max()) <= 2 * 0.05 + 1e-2  # one sign step of adv_lr on the stored start


def test_standard_fine_tuning_is_one_backward(tiny_bert_dir, bench_data):
    model = _classifier(tiny_bert_dir, dropout=0.0)
    batch, _ = bench_data.batch("train", 8, seed=8)
    args = RiftArgs.preset("standard")
    model.train()
    loss, joint_logs = rift_training_loss(model, batch, args)
    loss.backward()
    joint = _grads(model, None)
    logs = training_backward(model, batch, args)
    assert logs == joint_logs and set(logs) == {"ce", "loss", "clean_acc"}
    for key, grad in _grads(model, None).items():
        assert torch.equal(joint[key], grad), key
