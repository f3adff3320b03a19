"""The attacked model is put on TextAttack's device (``textattack.shared.utils.device``) wherever we
load it for attacks: ``load_model``, evaluate's in-process attacks, its pool workers, and the
``textattack attack`` path. The machine has no GPU, so TextAttack's device is set to ``meta`` (a real
torch device every machine has): a model left where ``from_pretrained`` put it stays on the CPU."""

from __future__ import annotations

from argparse import Namespace

import pytest
import torch


@pytest.fixture()
def meta_device(monkeypatch):
    import textattack

    monkeypatch.setattr(textattack.shared.utils, "device", torch.device("meta"))
    return textattack.shared.utils


def _device(wrapper):
    return next(wrapper.model.parameters()).device


def test_load_model_puts_the_model_on_textattacks_device(tiny_bert_dir, meta_device):
    from textattack_rift.models.loading import load_model

    assert _device(load_model(str(tiny_bert_dir))) == meta_device.device
    assert _device(load_model(str(tiny_bert_dir), device="cpu")) == torch.device("cpu")  # asked for explicitly


def test_evaluate_and_its_pool_workers_load_on_textattacks_device(tiny_bert_dir, meta_device):
    from textattack_rift.evaluation import worker

    assert _device(worker.load_attack_set(str(tiny_bert_dir), None, {}).model_wrapper) == meta_device.device
    job = {"model_path": str(tiny_bert_dir), "threat_model": None, "options": {}, "seed": 0,
           "device": str(meta_device.device), "threads": torch.get_num_threads()}
    try:
        worker.init_worker(job)  # what each pool worker runs once, with the parent's device
        assert _device(worker._WORKER["attacks"].model_wrapper) == torch.device("meta")
    finally:
        worker._WORKER.clear()


def test_the_attack_command_loads_on_textattacks_device(tiny_bert_dir, meta_device):
    import textattack

    import textattack_rift

    textattack_rift.register()
    args = Namespace(model=str(tiny_bert_dir), model_from_huggingface=None, model_from_file=None)
    wrapper = textattack.model_args.ModelArgs._create_model_from_args(args)
    assert _device(wrapper) == meta_device.device
