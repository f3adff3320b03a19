"""The training-step benchmark's parts: the real batch, the released script's step, the free adversary, the CLI.

Real data (the local rotten_tomatoes copy, the WordNet synonym set), real tokenizers and tiny real models.
No timing assertions: speed is shown by `textattack-rift bench train-step`, not by tests.
"""

from __future__ import annotations

import json

import pytest
import torch

import textattack_rift  # noqa: F401  (before transformers / textattack, as everywhere)
from textattack_rift.errors import RiftUserError
from textattack_rift.training.adversary import (
    check_candidates,
    combination_weights,
    forward_embeds,
    soft_embeddings,
    tokens_from_words,
    word_candidate_mask,
    word_entropy,
)
from textattack_rift.training.args import RiftArgs
from textattack_rift.bench.train_data import balanced_indices, pad_batch
from textattack_rift.training.objectives import ProjectionHeads, kl_divergence
from textattack_rift.bench.released_variant import released_training_loss
from textattack_rift.training.step import rift_training_loss
from textattack_rift.training.store import WarmStartStore
from textattack_rift.training.teacher import make_teacher


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_classifier(tiny_bert_dir):
    """The tiny BERT with dropout off, so two ways of computing one loss can be compared exactly."""
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(
        str(tiny_bert_dir), hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    )


# -- the real batch -------------------------------------------------------------------------------------


def test_real_batch_is_32_class_balanced_rotten_tomatoes_sentences_with_candidates(bench_data):
    batch, texts = bench_data.batch("train", 32, seed=0)
    split_texts, split_labels = bench_data.split("train")
    assert len(texts) == 32 and batch.labels.bincount().tolist() == [16, 16]
    rows = batch.indices.tolist()
    assert len(set(rows)) == 32
    assert texts == [split_texts[i] for i in rows]  # real dataset rows, labels to match
    assert batch.labels.tolist() == [split_labels[i] for i in rows]
    check_candidates(batch.input_ids, batch.candidate_ids, batch.candidate_mask, batch.word_index)
    per_word = word_candidate_mask(batch.candidate_mask, batch.word_index).sum(-1)
    assert int((per_word >= 2).sum()) >= 32  # the threat model gives candidates to many words
    assert bool((per_word >= 2).any(-1).all())  # every sentence has something to perturb
    assert batch.input_ids.shape[1] == int(batch.attention_mask.sum(-1).max())  # padded to the longest

    again, _ = bench_data.batch("train", 32, seed=0)
    assert torch.equal(again.input_ids, batch.input_ids) and torch.equal(again.indices, batch.indices)
    other, _ = bench_data.batch("train", 32, seed=1)
    assert other.indices.tolist() != rows


def test_fixed_padding_keeps_the_batch_and_follows_the_conventions(bench_data):
    batch, _ = bench_data.batch("train", 8, seed=3)
    padded, _ = bench_data.batch("train", 8, seed=3, pad_to=64)
    t = batch.input_ids.shape[1]
    assert padded.input_ids.shape == (8, 64)
    assert torch.equal(padded.input_ids[:, :t], batch.input_ids)
    assert torch.equal(padded.candidate_mask[:, :t], batch.candidate_mask)
    assert bool((padded.input_ids[:, t:] == bench_data.tokenizer.pad_token_id).all())
    assert bool((padded.attention_mask[:, t:] == 0).all()) and bool((padded.word_index[:, t:] == -1).all())
    check_candidates(padded.input_ids, padded.candidate_ids, padded.candidate_mask, padded.word_index)
    with pytest.raises(RiftUserError, match="cannot pad"):
        pad_batch(batch, t - 1, 0)


def test_balanced_indices_errors():
    with pytest.raises(RiftUserError, match="multiple"):
        balanced_indices([0, 1, 0, 1], 3, seed=0)
    with pytest.raises(RiftUserError, match="label 1 has 1"):
        balanced_indices([0, 0, 0, 1], 4, seed=0)
    assert sorted(balanced_indices([0, 1, 0, 1, 1], 4, seed=0, exclude=[4])) == [0, 1, 2, 3]


# -- the released script's step -------------------------------------------------------------------------


def _loss_and_grads(loss_fn, model, batch, args, heads, teacher, **kwargs):
    """Loss, logs, how often a weight's gradient was computed BEFORE the outer backward, and the outer gradients."""
    calls = {"n": 0}
    handles = [
        p.register_hook(lambda grad: calls.__setitem__("n", calls["n"] + 1))
        for p in (model.classifier.weight, model.get_input_embeddings().weight)
    ]
    model.train()
    loss, logs = loss_fn(model, batch, args, heads=heads, teacher=teacher,
                         generator=torch.Generator().manual_seed(0), **kwargs)
    inner = calls["n"]
    leaked = [name for name, p in model.named_parameters() if p.grad is not None]
    for handle in handles:
        handle.remove()
    loss.backward()
    grads = {name: p.grad.clone() for name, p in [*model.named_parameters(), *heads.named_parameters()]
             if p.grad is not None}
    model.zero_grad(set_to_none=True)
    heads.zero_grad(set_to_none=True)
    return loss.detach(), logs, inner, leaked, grads


def test_released_variant_computes_our_loss_while_back_propagating_into_the_weights(tiny_bert_dir, bench_data):
    model = tiny_classifier(tiny_bert_dir)
    batch, _ = bench_data.batch("train", 8, seed=5)
    args = RiftArgs(adv_steps=3, proj_hidden_dim=16, proj_dim=8)
    teacher = make_teacher(model)
    torch.manual_seed(0)
    heads = ProjectionHeads.from_args(args, model.config.hidden_size, 2)

    ours = _loss_and_grads(rift_training_loss, model, batch, args, heads, teacher)
    released = _loss_and_grads(released_training_loss, model, batch, args, heads, teacher)
    logits_only = _loss_and_grads(released_training_loss, model, batch, args, heads, teacher, param_grads=False)
    padded = pad_batch(batch, 64, bench_data.tokenizer.pad_token_id)
    released_64 = _loss_and_grads(released_training_loss, model, padded, args, heads, teacher)

    for other in (released, logits_only, released_64):
        assert torch.allclose(other[0], ours[0], rtol=1e-4, atol=1e-6)  # the same loss value
        for term in ("ce", "kl", "mi"):
            assert other[1][term] == pytest.approx(ours[1][term], rel=1e-4, abs=1e-6)
        assert other[1]["adv_steps"] == 3
        assert other[3] == []  # the inner loop's weight gradients are not left behind
        assert set(other[4]) == set(ours[4])  # the outer backward reaches the same parameters ...
        for name, grad in ours[4].items():  # ... with the same gradients
            assert torch.allclose(other[4][name], grad, rtol=1e-3, atol=1e-5), name
    assert ours[1]["kl"] > 0 and ours[1]["mi"] > 0
    # The defining difference: the script's inner loop computes every weight's gradient at each step.
    assert ours[2] == 0 and logits_only[2] == 0
    assert released[2] == 2 * args.adv_steps and released_64[2] == 2 * args.adv_steps


def test_released_variant_refuses_a_step_without_adversary(tiny_bert_dir, bench_data):
    batch, _ = bench_data.batch("train", 2, seed=0)
    with pytest.raises(ValueError, match="always runs the adversary"):
        released_training_loss(tiny_classifier(tiny_bert_dir), batch, RiftArgs(beta=0.0, gamma=0.0))


# -- the free adversary step ----------------------------------------------------------------------------


def _objective(model, batch, word_logits, alpha):
    """sum_b KL_b - alpha * sum_b H_b(w) / 38400, the adversary's objective (the script's), in eval mode."""
    model.eval()
    with torch.no_grad():
        mask = word_candidate_mask(batch.candidate_mask, batch.word_index)
        weights = tokens_from_words(combination_weights(word_logits, mask), batch.word_index)
        adv = forward_embeds(model, soft_embeddings(model, batch.candidate_ids, weights), batch.attention_mask).logits
        clean = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
        return float(kl_divergence(clean, adv) * len(clean) - alpha * word_entropy(word_logits, mask).sum() / 38400)


def test_free_step_reuses_the_outer_gradient_to_ascend_and_store_the_logits(tiny_bert_dir, bench_data):
    with pytest.raises(ValueError, match="adv_free needs adv_warm_start"):
        RiftArgs(adv_free=True)
    model = tiny_classifier(tiny_bert_dir)
    batch, _ = bench_data.batch("train", 8, seed=7)
    common = dict(gamma=0.0, adv_steps=2, adv_lr=0.05, adv_warm_start=True)
    runs = {}
    for free in (False, True):
        args = RiftArgs(**common, adv_free=free)
        store = WarmStartStore()
        model.train()
        loss, logs = rift_training_loss(model, batch, args, store=store, generator=torch.Generator().manual_seed(0))
        stored_before_backward = store.lookup(batch.indices, batch.word_index, batch.candidate_ids.shape[-1])[0]
        loss.backward()
        model.zero_grad(set_to_none=True)
        stored, found = store.lookup(batch.indices, batch.word_index, batch.candidate_ids.shape[-1])
        assert bool(found.all())
        runs[free] = (float(loss.detach()), stored_before_backward, stored)
    assert runs[True][0] == pytest.approx(runs[False][0], rel=1e-6)  # this step's loss is unchanged
    assert torch.equal(runs[True][1], runs[False][2])  # before the backward: the adversary's own result
    moved = (runs[True][2] - runs[False][2]).abs()
    assert float(moved.max()) > 0 and float(moved.max()) <= 2 * 0.05 + 1e-2  # one sign step of adv_lr
    alpha = RiftArgs().adv_entropy_weight
    assert _objective(model, batch, runs[True][2], alpha) > _objective(model, batch, runs[False][2], alpha)

    # Without autograd (evaluation) no backward comes: the store keeps the adversary's own result.
    store = WarmStartStore()
    with torch.no_grad():
        rift_training_loss(model, batch, RiftArgs(**common, adv_free=True), store=store,
                           generator=torch.Generator().manual_seed(0))
    assert torch.equal(store.lookup(batch.indices, batch.word_index, batch.candidate_ids.shape[-1])[0], runs[False][2])


# -- the benchmark ---------------------------------------------------------------------------------------


def test_strength_figures_share_one_reference_and_cover_every_adversary(tiny_bert_dir, bench_data):
    from textattack_rift.bench.train_step import select_variants
    from textattack_rift.bench.strength import measure_strength

    variants = select_variants("rift,rift-gamma0,released@64,warm1-free,short2-lr3")
    batch, _ = bench_data.batch("train", 8, seed=0)
    report = measure_strength(tiny_bert_dir, bench_data, variants, batch=batch, visits=2, drift_steps=1, val_examples=8)
    figures = report["variants"]
    assert set(figures) == {"rift", "rift-gamma0", "released@64", "warm1-free", "short2-lr3"}  # no plain rows
    assert figures["rift"]["kl_ratio"] == pytest.approx(1.0)
    assert figures["rift-gamma0"] == figures["rift"] == figures["released@64"]  # one adversary, one figure
    for row in figures.values():
        assert row["kl"] > 0 and 0.0 <= row["ascc_acc"] <= report["clean_acc"] + 1e-9
        assert len(row["kl_per_visit"]) == 2
    assert report["val_examples"] == 8 and report["model"] == str(tiny_bert_dir)


def test_memory_worker_measures_a_step_in_a_fresh_process(tiny_bert_dir, bench_data, tmp_path):
    from textattack_rift.bench.train_step import _batch_state, default_variants, run_memory_worker

    batch, _ = bench_data.batch("train", 8, seed=0)
    torch.save({"dynamic": _batch_state(batch), "reference": _batch_state(pad_batch(batch, 64, 0))}, tmp_path / "b.pt")
    plain = next(v for v in default_variants() if v.name == "plain")
    figures = run_memory_worker(plain, str(tiny_bert_dir), tmp_path / "b.pt", "cpu", False, 1, 0)
    params_mb = sum(p.numel() * 4 for p in tiny_classifier(tiny_bert_dir).parameters()) / 2**20
    # weights + AdamW's two moments at least; the step's own working memory on top
    assert figures["peak_mb"] >= 3 * params_mb and figures["step_mb"] > 0
    assert "VmHWM" in figures["memory_method"]


def test_bench_train_step_command_prints_the_table_and_writes_json(tiny_bert_dir, tmp_path, capsys):
    from textattack_rift.integration.cli import main

    out = tmp_path / "bench.json"
    code = main(["bench", "train-step", "--model", str(tiny_bert_dir), "--variants", "warm1-free", "--runs", "1",
                 "--threads", "1", "--no-memory", "--no-strength", "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "warm1-free" in printed and "x plain@64" in printed
    result = json.loads(out.read_text())
    assert [row["name"] for row in result["rows"]] == ["plain", "plain@64", "warm1-free"]
    assert result["config"]["labels"] == [16, 16] and result["config"]["batch_size"] == 32
    rows = {row["name"]: row for row in result["rows"]}
    assert rows["plain"]["ratio"] == 1.0 and rows["plain@64"]["tokens"] == 64
    assert rows["warm1-free"]["ratio"] > 0 and rows["warm1-free"]["args"]["adv_free"] is True

    code = main(["bench", "train-step", "--model", str(tiny_bert_dir), "--variants", "nope", "--no-memory"])
    assert code == 2 and "unknown benchmark variant(s) nope" in capsys.readouterr().err
    code = main(["bench", "train-step", "--model", str(tmp_path), "--no-memory"])
    assert code == 2 and "not a model directory" in capsys.readouterr().err


def test_freelb_is_timed_and_left_out_of_the_adversary_strength(tiny_bert_dir, tmp_path, capsys):
    from textattack_rift.integration.cli import main

    out = tmp_path / "bench.json"
    code = main(["bench", "train-step", "--model", str(tiny_bert_dir), "--variants", "freelb,short2-lr3", "--runs", "1",
                 "--threads", "1", "--no-memory", "--visits", "2", "--finetune-steps", "1", "--val-examples", "8",
                 "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    result = json.loads(out.read_text())
    rows = {row["name"]: row for row in result["rows"]}
    assert list(rows) == ["plain", "plain@64", "short2-lr3", "freelb"]
    assert rows["freelb"]["args"]["adversary"] == "freelb" and rows["freelb"]["seconds"] > 0
    assert "kl_ratio" in rows["short2-lr3"] and "kl_ratio" not in rows["freelb"]  # no synonym adversary to rate


def test_bf16_compare_times_each_variant_both_ways_against_the_fp32_plain_step(tiny_bert_dir, tmp_path, capsys):
    from textattack_rift.integration.cli import main

    out = tmp_path / "bench.json"
    code = main(["bench", "train-step", "--model", str(tiny_bert_dir), "--variants", "short2-lr3", "--runs", "1",
                 "--threads", "1", "--no-memory", "--no-strength", "--bf16-compare", "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "bf16 autocast, time to the same variant in fp32" in printed
    rows = {row["name"]: row for row in json.loads(out.read_text())["rows"]}
    assert list(rows) == ["plain", "plain+bf16", "plain@64", "plain@64+bf16", "short2-lr3", "short2-lr3+bf16"]
    assert rows["plain"]["ratio"] == 1.0 and not rows["plain"]["bf16"] and rows["plain+bf16"]["bf16"]
    # the bf16 rows are compared with the fp32 plain step and with their own fp32 row, timed in the same rounds
    assert rows["plain+bf16"]["ratio"] == pytest.approx(rows["plain+bf16"]["seconds"] / rows["plain"]["seconds"])
    assert rows["short2-lr3+bf16"]["ratio_fp32"] == pytest.approx(
        rows["short2-lr3+bf16"]["seconds"] / rows["short2-lr3"]["seconds"])
    assert main(["bench", "train-step", "--model", str(tiny_bert_dir), "--bf16", "--bf16-compare", "--no-memory"]) == 2


def test_trainer_autocasts_on_a_cpu_only_when_asked():
    from types import SimpleNamespace

    from textattack_rift.training.trainer import RiftTrainer

    trainer = RiftTrainer.__new__(RiftTrainer)  # only the autocast choice is under test
    trainer.ctx = SimpleNamespace(device=torch.device("cpu"))
    for bf16, expected in ((None, False), (False, False), (True, True)):
        trainer.bf16 = bf16
        with trainer._autocast():
            assert torch.is_autocast_enabled("cpu") is expected
