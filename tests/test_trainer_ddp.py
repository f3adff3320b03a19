"""Two processes with DistributedDataParallel on CPU (gloo): the same command under torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from transformers import AutoModelForSequenceClassification


@pytest.mark.slow
def test_two_process_gloo_run_trains_and_writes_one_checkpoint(tiny_bert_dir, tmp_path):
    out = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "textattack_rift", "train", "--rift", "--model-name-or-path", str(tiny_bert_dir),
        "--dataset", "rotten_tomatoes", "--dataset-train-split", "train[:48]", "--dataset-eval-split", "validation[:8]",
        "--per-device-train-batch-size", "4", "--num-epochs", "1", "--rift-max-steps", "3", "--rift-adv-steps", "1",
        "--checkpoint-interval-steps", "2", "--rift-no-register", "--output-dir", str(out),
    ]
    env = {**os.environ, "TEXTATTACK_RIFT_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 3 and summary["finished"]
    info = json.loads((out / "run_info.json").read_text())
    assert info["world_size"] == 2
    steps = [json.loads(l)["step"] for l in (out / "metrics.jsonl").read_text().splitlines() if '"loss"' in l]
    assert steps == [1, 2, 3]  # rank 0 alone writes the log
    assert (out / "checkpoints" / "LATEST").read_text().strip() == "step-3"
    model = AutoModelForSequenceClassification.from_pretrained(out / "best_model")
    assert model.config.num_labels == 2
