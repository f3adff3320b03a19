"""The training adversary at the released script's scale (models/AdvPLM.py), InfoNCE's direction, the
L2 term as a norm, and the --rift path's warm-up: each checked against an independent computation."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import textattack_rift  # noqa: F401  (before textattack / transformers, as everywhere)
from textattack_rift.bench.strength import initial_argmax_share
from textattack_rift.models.tiny import tiny_bert_classifier
from textattack_rift.training.adversary import ascc_adversary, init_combination_logits
from textattack_rift.training.objectives import class_conditional_nce, info_nce, l2_to_pretrained

VOCAB = 200


def random_batch(batch: int = 32, words: int = 15, k: int = 9, seed: int = 0):
    """[CLS] w_1 .. w_n [SEP], one token per word, k candidate slots with 1-8 valid per word (some 1)."""
    gen = torch.Generator().manual_seed(seed)
    length = words + 2
    input_ids = torch.randint(5, VOCAB, (batch, length), generator=gen)
    input_ids[:, 0], input_ids[:, -1] = 1, 2
    attention_mask = torch.ones(batch, length, dtype=torch.long)
    word_index = torch.arange(-1, length - 1).repeat(batch, 1)
    word_index[:, -1] = -1
    candidate_ids = torch.randint(5, VOCAB, (batch, length, k), generator=gen)
    candidate_ids[..., 0] = input_ids
    valid = torch.randint(1, k, (batch, length), generator=gen)  # slots 0..valid-1 are valid
    candidate_mask = torch.arange(k).view(1, 1, k) < valid.unsqueeze(-1)
    special = word_index < 0
    candidate_mask[special] = False
    candidate_mask[..., 0] = True
    candidate_ids[special] = input_ids[special].unsqueeze(-1)
    return input_ids, attention_mask, candidate_ids, candidate_mask, word_index


def script_adversary(model, input_ids, attention_mask, candidate_ids, candidate_mask, word_index, steps, lr, seed):
    """The released script's inner loop written out here: Kaiming-normal logits of [B, L, S, 1], Adam
    maximising sum_b KL_b - 15 * (entropy summed over batch and positions) / (300*128)."""
    batch, length, k = candidate_ids.shape
    words = word_index[:, 1:-1]
    assert bool((words == torch.arange(length - 2)).all())  # one token per word, as built above
    mask = candidate_mask[:, 1:-1]
    logits = torch.empty(batch, length - 2, k, 1)
    torch.nn.init.kaiming_normal_(logits, generator=torch.Generator().manual_seed(seed))
    logits = logits.squeeze(-1).requires_grad_(True)
    model.eval()
    optimizer = torch.optim.Adam([logits], lr=lr, maximize=True)
    for _ in range(steps):
        value = _script_value(model, input_ids, attention_mask, candidate_ids, mask, logits)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    return logits.detach()


def _script_value(model, input_ids, attention_mask, candidate_ids, mask, logits):
    """The script's objective at ``logits`` [B, L-2, S] (one token per word): sum_b KL_b - 15 * H_sum / 38400."""
    embedding = model.get_input_embeddings().weight
    with torch.no_grad():
        log_p = torch.log_softmax(model(input_ids=input_ids, attention_mask=attention_mask).logits, -1)
    w = torch.softmax(logits.masked_fill(~mask, -1e9), -1) * mask
    mixed = (w.unsqueeze(-1) * embedding[candidate_ids[:, 1:-1]]).sum(-2)
    embeds = torch.cat([embedding[input_ids[:, :1]], mixed, embedding[input_ids[:, -1:]]], dim=1)
    log_q = torch.log_softmax(model(inputs_embeds=embeds, attention_mask=attention_mask).logits, -1)
    kl_sum = (log_p.exp() * (log_p - log_q)).sum()
    log_w = torch.log_softmax(logits.masked_fill(~mask, -1e9), -1)
    entropy_sum = -(log_w.exp() * log_w * mask).sum()
    return kl_sum - 15.0 * entropy_sum / (300 * 128)


def test_adversary_objective_is_the_scripts_term_for_term():
    """Term for term: the same value and gradient as the script's objective, for any batch size."""
    from textattack_rift.training.adversary import adversary_objective, embed_candidates, word_candidate_mask

    model = tiny_bert_classifier(VOCAB, hidden_size=16, num_layers=1, max_positions=32, dropout=0.0, seed=3).eval()
    input_ids, attention_mask, candidate_ids, candidate_mask, word_index = random_batch(batch=6, words=7, k=5, seed=1)
    batch = input_ids.shape[0]
    mask = word_candidate_mask(candidate_mask, word_index)
    # logits far from uniform, so that the entropy term's gradient is not negligible
    logits = (3 * torch.randn(mask.shape, generator=torch.Generator().manual_seed(2))).requires_grad_(True)
    with torch.no_grad():
        clean = model(input_ids=input_ids, attention_mask=attention_mask).logits
    ours = adversary_objective(model, logits, mask, word_index, embed_candidates(model, candidate_ids).detach(),
                               attention_mask, None, target=clean, objective="kl", entropy_weight=15.0)
    (g_ours,) = torch.autograd.grad(ours, logits)
    script = _script_value(model, input_ids, attention_mask, candidate_ids, candidate_mask[:, 1:-1], logits)
    (g_script,) = torch.autograd.grad(script, logits)
    assert float(script.detach()) == pytest.approx(float(ours.detach()), rel=1e-5)
    assert torch.allclose(g_ours, g_script, rtol=1e-4, atol=1e-8)
    assert batch == 6


def test_adversary_search_reaches_the_scripts_kl():
    """Ten Adam steps from the same Kaiming noise: our loop and the script's reach the same KL."""
    model = tiny_bert_classifier(VOCAB, hidden_size=16, num_layers=1, max_positions=32, dropout=0.0, seed=3)
    tensors = random_batch(batch=6, words=7, k=5, seed=1)
    ours = ascc_adversary(model, *tensors, steps=10, lr=1.0, entropy_weight=15.0, init="random",
                          generator=torch.Generator().manual_seed(4))
    script = script_adversary(model, *tensors, steps=10, lr=1.0, seed=4)
    assert torch.equal(ours.initial_logits[ours.word_mask],
                       init_combination_logits(tuple(ours.logits.shape), "random", torch.device("cpu"),
                                               torch.Generator().manual_seed(4))[ours.word_mask])
    input_ids, attention_mask, candidate_ids, candidate_mask, _ = tensors
    with torch.no_grad():
        kl_ours = _script_value(model, input_ids, attention_mask, candidate_ids, candidate_mask[:, 1:-1], ours.logits)
        kl_script = _script_value(model, input_ids, attention_mask, candidate_ids, candidate_mask[:, 1:-1], script)
    assert float(kl_ours) == pytest.approx(float(kl_script), rel=0.02)


def test_initial_logits_have_the_scripts_fan_in():
    shape = (64, 20, 9)
    noise = init_combination_logits(shape, "random", torch.device("cpu"), torch.Generator().manual_seed(0))
    assert float(noise.std()) == pytest.approx(math.sqrt(2 / (20 * 9)), rel=0.03)
    assert float(noise.mean()) == pytest.approx(0.0, abs=0.01)


def test_words_do_not_lock_onto_their_initial_noise():
    """The issue's toy check: a random 2-class model, 32 x 15 words, 9 slots, 10 steps at rate 1."""
    model = tiny_bert_classifier(VOCAB, hidden_size=32, num_layers=2, max_positions=32, dropout=0.0, seed=0)
    tensors = random_batch()
    result = ascc_adversary(model, *tensors, steps=10, lr=1.0, entropy_weight=15.0,
                            generator=torch.Generator().manual_seed(0))
    kept, chance = initial_argmax_share(result)
    assert 0.1 < chance < 0.5
    assert kept < chance + 0.15, (kept, chance)  # 0.1.0.dev0's 1,000x entropy weight kept ~0.9


# -- InfoNCE direction and the L2 term -----------------------------------------------------------------

def _unit(x):
    return torch.nn.functional.normalize(x, dim=-1)


def test_info_nce_softmax_runs_over_students_for_each_teacher():
    torch.manual_seed(0)
    s, t = _unit(torch.randn(6, 8)), _unit(torch.randn(6, 8))
    tau = 0.2
    sim = s @ t.T / tau  # f[student, teacher]
    expected = -torch.log_softmax(sim, dim=0).diagonal().mean()  # the script: LogSoftmax(dim=0)
    other = -torch.log_softmax(sim, dim=1).diagonal().mean()
    assert torch.allclose(info_nce(s, t, tau), expected, atol=1e-6)
    assert torch.allclose(info_nce(s, t, tau, anchor="student"), other, atol=1e-6)
    assert not torch.allclose(expected, other, atol=1e-3)
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    per_class = [-torch.log_softmax((s[c] @ t[c].T) / tau, dim=0).diagonal().mean()
                 for c in (slice(0, 3), slice(3, 6))]
    assert torch.allclose(class_conditional_nce(s, t, labels, tau), sum(per_class) / 2, atol=1e-6)


def test_l2_to_pretrained_is_the_norm_with_a_finite_gradient_at_the_start():
    encoder = torch.nn.Linear(3, 2)
    pretrained = torch.nn.Linear(3, 2)
    pretrained.load_state_dict(encoder.state_dict())
    start = l2_to_pretrained(encoder, pretrained)
    start.backward()
    assert float(start.detach()) < 1e-10 and all(torch.isfinite(p.grad).all() for p in encoder.parameters())
    with torch.no_grad():
        encoder.weight += 1.0
    expected = math.sqrt(6.0)
    assert float(l2_to_pretrained(encoder, pretrained).detach()) == pytest.approx(expected, rel=1e-6)


# -- warm-up on the --rift path -----------------------------------------------------------------------

def _train(tiny_bert_dir, out: Path, *extra: str) -> list[dict]:
    exe = Path(sys.executable).parent / "textattack"
    env = {**os.environ, "TEXTATTACK_RIFT_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [str(exe) if exe.exists() else "textattack", "train", "--rift", "--rift-method", "standard",
         "--model-name-or-path", str(tiny_bert_dir), "--dataset", "rotten_tomatoes",
         "--dataset-train-split", "train[:800]", "--dataset-eval-split", "validation[:8]",
         "--per-device-train-batch-size", "8", "--model-max-length", "24", "--num-epochs", "1",
         "--rift-no-register", "--output-dir", str(out), *extra],
        capture_output=True, text=True, timeout=900, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if "lr" in r]


@pytest.mark.slow
def test_a_100_step_rift_run_warms_up_for_10_percent_then_decays(tiny_bert_dir, tmp_path):
    logs = _train(tiny_bert_dir, tmp_path / "linear", "--learning-rate", "1e-3", "--rift-max-steps", "100")
    lrs = [r["lr"] for r in logs]
    assert len(lrs) == 100
    peak = lrs.index(max(lrs))
    assert peak == 9 and max(lrs) == pytest.approx(1e-3)  # 10 warm-up steps (TextAttack's 500 would never end)
    assert lrs[-1] < 0.05 * max(lrs)
    info = json.loads((tmp_path / "linear" / "run_info.json").read_text())
    assert info["num_warmup_steps"] == 0.1 and info["lr_schedule"] == "linear"

    logs = _train(tiny_bert_dir, tmp_path / "constant", "--learning-rate", "1e-3", "--num-warmup-steps", "4",
                  "--rift-lr-schedule", "constant", "--rift-max-steps", "20")
    lrs = [r["lr"] for r in logs]
    assert lrs[2] < 1e-3 and all(lr == pytest.approx(1e-3) for lr in lrs[3:])
