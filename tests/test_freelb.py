"""FreeLB++ as a training method of the same trainer: the perturbation's bound and padding, the K-pass
gradient, the trainer end to end, the flags, the recipe row and every bad value.

Real data (the local rotten_tomatoes copy, WordNet candidates), the real tokenizer and a tiny BERT.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import textattack
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

import textattack_rift  # noqa: F401  (before transformers / textattack, as everywhere)
from gloo_ranks import run_two_ranks
from textattack_rift.errors import RiftUserError
from textattack_rift.training.args import PRESETS, RiftArgs
from textattack_rift.training.freelb import ascent_step, delta_norms, freelb_backward, initial_delta
from textattack_rift.training.step import make_store
from textattack_rift.training.store import WarmStartStore

TOL = 1e-5  # float32 rounding of a rescaled norm


pytestmark = pytest.mark.usefixtures("one_thread")


def _classifier(tiny_bert_dir, dropout: float = 0.1):
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(
        str(tiny_bert_dir), hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout
    )


def _mask(lengths, total):
    return (torch.arange(total)[None, :] < torch.tensor(lengths)[:, None]).long()


# -- the pure parts: start, ascent step, projection -------------------------------------------------


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_ascent_step_keeps_every_example_within_its_bound_and_padding_at_zero(norm):
    torch.manual_seed(0)
    mask = _mask([5, 9, 2, 9], 9)
    bound = 0.1
    delta = torch.zeros(4, 9, 6)
    direction = torch.randn(4, 9, 6)
    for step in range(6):
        # any scale; nonzero on padding too; a steady direction, so the steps add up and the bound binds
        grad = (direction + 0.3 * torch.randn(4, 9, 6)) * torch.tensor([1e-6, 1.0, 1e3, 5.0]).view(-1, 1, 1)
        delta = ascent_step(delta, grad, mask, lr=0.04, max_norm=bound, norm=norm)
        norms = delta_norms(delta, norm)
        assert bool((norms <= bound * (1 + TOL)).all()), (step, norms)
        assert bool((delta[mask == 0] == 0).all())
    assert bool((delta_norms(delta, norm) >= bound * (1 - TOL)).all()), delta_norms(delta, norm)


def test_ascent_step_moves_lr_along_the_normalised_gradient_and_leaves_the_inside_alone():
    torch.manual_seed(1)
    mask = _mask([4, 7], 7)
    delta = torch.zeros(2, 7, 3)
    grad = torch.randn(2, 7, 3) * mask.unsqueeze(-1)
    moved = ascent_step(delta, grad, mask, lr=0.03)  # no bound: TextDefender's default
    expected = 0.03 * grad / grad.flatten(1).norm(dim=1).view(-1, 1, 1)
    assert torch.allclose(moved, expected, atol=1e-7)
    assert torch.allclose(delta_norms(moved), torch.full((2,), 0.03))
    # a bound the step does not reach changes nothing; a zero gradient is a zero step
    assert torch.equal(ascent_step(delta, grad, mask, lr=0.03, max_norm=1.0), moved)
    assert torch.equal(ascent_step(moved, torch.zeros_like(grad), mask, lr=0.03, max_norm=1.0), moved)
    # linf: the step is grad / max|grad|, the projection a clamp
    step = ascent_step(delta, grad, mask, lr=0.5, norm="linf")
    assert torch.allclose(step.abs().flatten(1).amax(1), torch.full((2,), 0.5))
    assert float(ascent_step(step, grad, mask, lr=0.5, max_norm=0.3, norm="linf").abs().max()) <= 0.3 * (1 + TOL)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_initial_delta_is_bounded_random_and_zero_on_padding(norm):
    torch.manual_seed(2)
    mask = _mask([3, 8, 6], 8)
    embeds = torch.randn(3, 8, 16)
    delta = initial_delta(embeds, mask, 0.05, norm)
    assert bool((delta[mask == 0] == 0).all()) and bool((delta[mask == 1] != 0).all())
    assert bool((delta_norms(delta, norm) <= 0.05).all())
    if norm == "l2":  # U(-1,1) * mag / sqrt(n*H): the expected squared norm is mag^2 / 3 for every length
        assert bool((delta_norms(delta) > 0.05 / 3).all())
    assert torch.equal(initial_delta(embeds, mask, 0.0, norm), torch.zeros_like(embeds))


# -- the K passes on a real batch -------------------------------------------------------------------


def _capture_perturbations(model):
    """The inputs_embeds of every forward pass, minus the word embeddings of its ids: the deltas used."""
    seen = []

    def hook(module, args, kwargs):
        seen.append(kwargs["inputs_embeds"].detach().clone())

    handle = model.bert.embeddings.register_forward_pre_hook(hook, with_kwargs=True)
    return seen, handle


def _grads(model):
    out = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return out


@pytest.mark.parametrize(
    "settings",
    [dict(freelb_max_norm=0.08, freelb_lr=0.05, freelb_init_mag=0.02), dict(freelb_norm="linf", freelb_max_norm=0.004,
     freelb_lr=0.002, freelb_init_mag=0.001)],
    ids=["l2", "linf"],
)
def test_every_pass_of_a_real_run_respects_the_bound_and_leaves_padding_alone(tiny_bert_dir, bench_data, settings):
    model = _classifier(tiny_bert_dir)
    batch, _ = bench_data.batch("train", 8, seed=3)
    assert bool((batch.attention_mask == 0).any())  # the batch really has padding
    args = RiftArgs.preset("freelb", freelb_steps=5, **settings)
    seen, handle = _capture_perturbations(model)
    model.train()
    torch.manual_seed(0)
    logs = freelb_backward(model, batch, args)
    handle.remove()
    words = model.get_input_embeddings()(batch.input_ids).detach()
    deltas = [embeds - words for embeds in seen]
    assert len(deltas) == 5
    bound = args.freelb_max_norm
    for k, delta in enumerate(deltas):
        assert bool((delta[batch.attention_mask == 0] == 0).all()), k
        assert bool((delta_norms(delta, args.freelb_norm) <= bound * (1 + 1e-4)).all()), k
    assert float(delta_norms(deltas[-1], args.freelb_norm).max()) >= bound * 0.99  # the projection was active
    assert not torch.equal(deltas[0], deltas[1])  # the ascent moved delta
    assert logs["delta_norm"] <= bound * (1 + TOL)
    assert {"ce", "loss", "clean_acc", "adv_acc", "adv_steps", "delta_norm"} <= logs.keys() and logs["adv_steps"] == 5


def test_unbounded_delta_grows_by_at_most_lr_per_step(tiny_bert_dir, bench_data):
    """TextDefender's default (max norm 0): ||delta_k|| <= init_mag + k * lr, the implied radius."""
    model = _classifier(tiny_bert_dir)
    batch, _ = bench_data.batch("train", 8, seed=5)
    args = RiftArgs.preset("freelb", freelb_steps=4)
    seen, handle = _capture_perturbations(model)
    model.train()
    logs = freelb_backward(model, batch, args)
    handle.remove()
    words = model.get_input_embeddings()(batch.input_ids).detach()
    for k, embeds in enumerate(seen):
        assert bool((delta_norms(embeds - words) <= args.freelb_init_mag + k * args.freelb_lr + 1e-5).all()), k
    assert logs["delta_norm"] > args.freelb_init_mag  # it did grow


def test_the_gradient_is_the_mean_of_the_k_passes_times_scale(tiny_bert_dir, bench_data):
    """Dropout off: FreeLB's accumulated gradient equals (scale/K) sum_k grad CE(f(x + delta_k)) recomputed
    from the deltas the passes used; with K = 1 and no start noise it is the plain CE gradient."""
    batch, _ = bench_data.batch("train", 8, seed=4)
    model = _classifier(tiny_bert_dir, dropout=0.0)
    model.train()
    seen, handle = _capture_perturbations(model)
    freelb_backward(model, batch, RiftArgs.preset("freelb", freelb_steps=3), scale=0.5)
    handle.remove()
    ours = _grads(model)
    words = model.get_input_embeddings()(batch.input_ids).detach()
    for embeds in seen:
        delta = embeds - words
        logits = model(inputs_embeds=model.get_input_embeddings()(batch.input_ids) + delta,
                       attention_mask=batch.attention_mask).logits
        (0.5 * F.cross_entropy(logits, batch.labels) / 3).backward()
    manual = _grads(model)
    assert ours.keys() == manual.keys() and "bert.embeddings.word_embeddings.weight" in ours
    for name, grad in manual.items():
        assert torch.allclose(ours[name], grad, rtol=1e-4, atol=1e-7), name

    freelb_backward(model, batch, RiftArgs.preset("freelb", freelb_steps=1, freelb_init_mag=0.0))
    one = _grads(model)
    F.cross_entropy(model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits, batch.labels).backward()
    plain = _grads(model)
    for name, grad in plain.items():
        assert torch.allclose(one[name], grad, rtol=1e-4, atol=1e-7), name


def test_same_seed_same_freelb_step(tiny_bert_dir, bench_data):
    batch, _ = bench_data.batch("train", 8, seed=6)
    results = []
    for _ in range(2):
        model = _classifier(tiny_bert_dir)
        model.train()
        torch.manual_seed(9)
        logs = freelb_backward(model, batch, RiftArgs.preset("freelb", freelb_steps=3))
        results.append((logs, _grads(model)))
    assert results[0][0] == results[1][0]
    for name, grad in results[0][1].items():
        assert torch.equal(results[1][1][name], grad), name


# -- the settings ------------------------------------------------------------------------------------


def test_preset_defaults_are_textdefender_freelb_plus_plus():
    args = RiftArgs.preset("freelb")
    assert args.method == "freelb" and "freelb" in PRESETS
    assert (args.freelb_steps, args.freelb_lr, args.freelb_init_mag, args.freelb_max_norm, args.freelb_norm) == (
        10, 0.03, 0.05, 0.0, "l2")
    assert (args.beta, args.gamma) == (0.0, 0.0)
    assert not args.uses_adversary and not args.uses_teacher  # no ASCC adversary, teacher or heads
    assert args.select_by == "ascc"  # selected like every other method
    assert RiftArgs().method == "rift" and RiftArgs.preset("standard").method == "standard"
    assert RiftArgs.from_dict({k: v for k, v in args.to_dict().items() if not k.startswith("freelb_")}) == args


def test_a_shared_warm_start_setting_builds_no_store_for_freelb():
    # A recipe's [training.rift_args] may turn the ASCC warm start on for every method; FreeLB++ never
    # runs that adversary, so it must not hold (and checkpoint) a store.
    assert make_store(RiftArgs.preset("freelb", adv_warm_start=True)) is None
    assert isinstance(make_store(RiftArgs.preset("ascc", adv_warm_start=True)), WarmStartStore)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(freelb_steps=0), "RiftArgs.freelb_steps must be >= 1, got 0"),
        (dict(freelb_steps=2.5), "RiftArgs.freelb_steps must be an integer"),
        (dict(freelb_init_mag=-0.1), "RiftArgs.freelb_init_mag must be >= 0, got -0.1"),
        (dict(freelb_max_norm=float("inf")), "RiftArgs.freelb_max_norm must be finite"),
        (dict(freelb_lr=0.0), "RiftArgs.freelb_lr must be > 0, got 0"),
        (dict(freelb_norm="l1"), "RiftArgs.freelb_norm must be one of ('l2', 'linf'), got 'l1'"),
        (dict(adversary="pgd"), "RiftArgs.adversary must be one of ('ascc', 'freelb'), got 'pgd'"),
        (dict(beta=10.0), "beta, gamma and l2_to_pretrained must be 0, got beta=10"),
        (dict(l2_to_pretrained=0.5), "got l2_to_pretrained=0.5"),
    ],
)
def test_bad_freelb_values_are_one_line_naming_the_key_and_the_allowed_values(overrides, message):
    from textattack_rift.integration.rift_train import rift_args_from

    with pytest.raises(ValueError) as info:
        RiftArgs.preset("freelb", **overrides)
    assert message in str(info.value) and "\n" not in str(info.value)
    extra = {"rift_method": "freelb", **{f"rift_{k}": v for k, v in overrides.items()}}
    with pytest.raises(RiftUserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        rift_args_from(extra)


def _train_parser():
    from textattack_rift.integration import rift_train
    from textattack_rift.integration.train_command import RiftTrainModelCommand

    rift_train.install()
    parser = argparse.ArgumentParser(prog="textattack")
    RiftTrainModelCommand.register_subcommand(parser.add_subparsers())
    return parser


def test_rift_method_freelb_parses_through_the_textattack_train_flags(capsys):
    from textattack_rift.integration.rift_train import DESTS, rift_args_from

    parser = _train_parser()
    ns = parser.parse_args(["train", "--model-name-or-path", "minilm", "--dataset", "rotten_tomatoes", "--rift",
                            "--rift-method", "freelb", "--rift-freelb-steps", "3", "--rift-freelb-max-norm", "0.5",
                            "--rift-freelb-norm", "linf"])
    args = rift_args_from({dest: getattr(ns, dest, None) for dest in DESTS})
    assert args.method == "freelb" and (args.freelb_steps, args.freelb_max_norm, args.freelb_norm) == (3, 0.5, "linf")
    assert args.freelb_lr == 0.03 and args.beta == 0 and args.gamma == 0
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["train", "--rift", "--rift-adversary", "pgd"])
    assert info.value.code == 2 and "invalid choice: 'pgd'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "freelb (FreeLB++" in text and "--rift-freelb-steps" in text and "--rift-freelb-init-mag" in text


def test_literal_textattack_train_with_a_bad_freelb_value_fails_in_one_line(tmp_path):
    exe = Path(sys.executable).parent / "textattack"
    result = subprocess.run(
        [str(exe) if exe.exists() else "textattack", "train", "--model-name-or-path", "minilm", "--dataset",
         "rotten_tomatoes", "--output-dir", str(tmp_path / "out"), "--rift", "--rift-method", "freelb",
         "--rift-freelb-steps", "0"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TEXTATTACK_RIFT_OFFLINE": "1", "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("textattack: error:") and "RiftArgs.freelb_steps must be >= 1, got 0" in last
    assert not (tmp_path / "out").exists()  # before any work


# -- recipes ----------------------------------------------------------------------------------------

RECIPE = """
description = "freelb row"

[data]
dataset = "rotten_tomatoes"
train_split = "train[:64]"
eval_split = "validation[:32]"

[model]
name = "minilm"
max_length = 32

[training]
num_epochs = 1
batch_size = 8
seed = 3

[training.rift_args]
beta = 10.0
gamma = 0.1
adv_steps = 2

[methods.standard]
[methods.freelb]
FREELB_ROW

[evaluation]
num_examples = 10
attacks = ["rift-pwws"]
"""


def _recipe(tmp_path, row: str = ""):
    from textattack_rift.experiments import recipe as rc

    path = tmp_path / "exp.toml"
    path.write_text(RECIPE.replace("FREELB_ROW", row), encoding="utf-8")
    return path, rc.load_recipe(path)


def test_a_recipe_row_methods_freelb_trains_freelb(tmp_path):
    _, recipe = _recipe(tmp_path, "rift_args = { freelb_steps = 4 }")
    row = next(m for m in recipe.methods if m.label == "freelb")
    assert row.method == "freelb"
    args = RiftArgs(**row.rift_args)
    # the preset wins over the shared KL/MI weights; the shared ASCC settings stay for model selection
    assert args.method == "freelb" and args.freelb_steps == 4 and (args.beta, args.gamma, args.adv_steps) == (0, 0, 2)


@pytest.mark.parametrize(
    "row, key, message",
    [
        ("rift_args = { freelb_steps = 0 }", "methods.freelb.rift_args", "RiftArgs.freelb_steps must be >= 1, got 0"),
        ("rift_args = { freelb_init_mag = -1.0 }", "methods.freelb.rift_args", "RiftArgs.freelb_init_mag must be >= 0"),
        ('rift_args = { freelb_norm = "l1" }', "methods.freelb.rift_args", "one of ('l2', 'linf')"),
        ("rift_args = { freelb_step = 3 }", "methods.freelb.rift_args.freelb_step", "freelb_steps"),
        ("rift_args = { beta = 1.0 }", "methods.freelb.rift_args", "beta, gamma and l2_to_pretrained must be 0"),
    ],
)
def test_a_bad_freelb_value_in_a_recipe_names_the_file_and_the_key(tmp_path, row, key, message):
    with pytest.raises(RiftUserError) as info:
        _recipe(tmp_path, row)
    text = str(info.value)
    assert text.startswith(str(tmp_path / "exp.toml")) and f": {key}: " in text and message in text, text
    assert "\n" not in text


# -- the trainer end to end ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data():
    from textattack_rift.data import load_textattack_dataset

    return (
        load_textattack_dataset("rotten_tomatoes", split="train[:32]"),
        load_textattack_dataset("rotten_tomatoes", split="validation[:8]"),
    )


def _train(tiny_bert_dir, data, out, rift_args, register_name=False, **kw):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from textattack_rift.models.wrapper import PaddedHuggingFaceModelWrapper
    from textattack_rift.threat import ThreatModel
    from textattack_rift.training.trainer import RiftTrainer

    wrapper = PaddedHuggingFaceModelWrapper(
        AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir), AutoTokenizer.from_pretrained(tiny_bert_dir)
    )
    training_args = textattack.TrainingArgs(
        num_epochs=kw.pop("num_epochs", 3), per_device_train_batch_size=8, per_device_eval_batch_size=8,
        learning_rate=1e-3, num_warmup_steps=0, random_seed=5, output_dir=str(out), checkpoint_interval_steps=100,
    )
    train, valid = data
    return RiftTrainer(wrapper, train_dataset=train, eval_dataset=valid, training_args=training_args,
                       rift_args=rift_args, threat_model=ThreatModel("wordnet"), register_name=register_name,
                       run_description={"dataset": "rotten_tomatoes"}, **kw).train()


def _weights(directory) -> dict:
    return load_file(str(Path(directory) / "model.safetensors"))


def _train_set_ce(model_dir, dataset) -> float:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    texts = [next(iter(dataset[i][0].values())) for i in range(len(dataset))]
    labels = torch.tensor([int(dataset[i][1]) for i in range(len(dataset))])
    inputs = AutoTokenizer.from_pretrained(model_dir)(texts, padding=True, return_tensors="pt")
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.no_grad():
        return float(F.cross_entropy(model(**inputs).logits, labels))


@pytest.mark.slow
def test_freelb_trains_a_tiny_model_through_the_real_trainer(tiny_bert_dir, data, tmp_path):
    from textattack_rift.models.registry import is_rift_method

    rift_args = RiftArgs.preset("freelb", freelb_steps=3, freelb_max_norm=0.2, adv_steps=1)
    best = _train(tiny_bert_dir, data, tmp_path / "run", rift_args, register_name=None)
    out = best.parent
    assert RiftArgs.load(out) == rift_args and RiftArgs.load(out).method == "freelb"
    assert json.loads((out / "rift_args.json").read_text())["adversary"] == "freelb"
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["method"] == "freelb" and summary["steps"] == 12  # 3 epochs x 4 batches
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if "loss" in r]
    assert len(steps) == 12
    for record in steps:  # FreeLB's own step ran (not the CE-only one), within its bound
        assert record["adv_steps"] == 3 and 0 < record["delta_norm"] <= 0.2 * (1 + TOL) and "kl" not in record
    # it learns: the clean cross-entropy on its training sentences (eval mode) goes down
    before, after = _train_set_ce(tiny_bert_dir, data[0]), _train_set_ce(out / "last_model", data[0])
    assert after < 0.8 * before, (before, after)
    # selected like every other method: on the validation split, by the ASCC attack's accuracy
    validation = [r for r in records if r.get("event") == "validation"]
    assert len(validation) == 3 and {"clean_accuracy", "ascc_accuracy"} <= validation[-1].keys()
    start, trained = _weights(tiny_bert_dir), _weights(out / "last_model")
    assert any(not torch.equal(start[k], trained[k]) for k in start if k in trained)
    # registered under its own name; the rift-* aliases never follow a FreeLB model
    card = (best / "README.md").read_text()
    assert "freelb" in card
    assert not is_rift_method("freelb")
    from textattack_rift.models.registry_store import names_for_directory

    names = names_for_directory(best)
    assert names and all(name.startswith("freelb-") and name.endswith("-rotten_tomatoes") for name in names), names


@pytest.mark.slow
def test_same_seed_same_freelb_run(tiny_bert_dir, data, tmp_path):
    rift_args = RiftArgs.preset("freelb", freelb_steps=2, select_by="clean")
    runs = [_train(tiny_bert_dir, data, tmp_path / f"run{i}", rift_args, num_epochs=1, max_steps=2) for i in range(2)]
    a, b = (_weights(run.parent / "last_model") for run in runs)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert any(not torch.equal(a[k], v) for k, v in _weights(tiny_bert_dir).items() if k in a)


# -- several processes --------------------------------------------------------------------------------

DDP_WORKER = """
import copy, sys
import torch
import torch.distributed as dist
import textattack_rift  # noqa: F401
from torch.nn.parallel import DistributedDataParallel as DDP
from test_training_core import hand_batch, tiny_model
from textattack_rift.training.args import RiftArgs
from textattack_rift.training.freelb import freelb_backward

torch.set_num_threads(1)
dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
args = RiftArgs.preset("freelb", freelb_steps=3)
model = tiny_model(dropout=0.1)
batch = hand_batch()
batch.labels = torch.tensor([rank, 1 - rank])

# this rank's own FreeLB gradient, without DDP, from the seed the DDP pass will use
alone = copy.deepcopy(model).train()
torch.manual_seed(rank)
freelb_backward(alone, batch, args)
expected = {n: p.grad.clone() for n, p in alone.named_parameters() if p.grad is not None}
for grad in expected.values():
    dist.all_reduce(grad)
    grad /= world

ddp = DDP(model)  # strict: find_unused_parameters=False
ddp.train()
unsynced = []
real_no_sync = ddp.no_sync
def counting_no_sync():
    unsynced.append(1)
    return real_no_sync()
ddp.no_sync = counting_no_sync
torch.manual_seed(rank)
logs = freelb_backward(ddp, batch, args)
assert len(unsynced) == args.freelb_steps - 1, unsynced  # every backward but the last
got = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
assert got.keys() == expected.keys()
for name, grad in expected.items():
    assert torch.allclose(got[name], grad, rtol=1e-4, atol=1e-6), name
torch.save(got, sys.argv[1] + f"/grads{rank}.pt")
dist.destroy_process_group()
"""


def test_freelb_under_distributed_data_parallel(tmp_path):
    """Two gloo ranks: K-1 backwards under no_sync, one all-reduce of the K passes' gradient (the mean of the ranks')."""
    g0, g1 = run_two_ranks(DDP_WORKER, tmp_path)
    for name in g0:
        assert torch.allclose(g0[name], g1[name]), name
    assert g0["bert.embeddings.word_embeddings.weight"].abs().sum() > 0


def test_the_one_graph_loss_refuses_freelb(tiny_bert_dir, bench_data):
    """TextAttack's training_step hook returns one loss tensor; FreeLB has none, so it says so (no silent CE)."""
    from textattack_rift.training.step import rift_training_loss

    batch, _ = bench_data.batch("train", 4, seed=1)
    with pytest.raises(ValueError, match="use training_backward"):
        rift_training_loss(_classifier(tiny_bert_dir), batch, RiftArgs.preset("freelb"))
