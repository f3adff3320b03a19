"""Run a worker script as two gloo ranks on this machine (DistributedDataParallel tests on a CPU)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import torch


def run_two_ranks(worker_code: str, tmp_path: Path, *args: str, timeout: int = 180) -> list[dict]:
    """Write ``worker_code`` to ``tmp_path``, run it as ranks 0 and 1 with ``tmp_path`` and ``args`` as its
    arguments (the tests folder importable), and return what each rank saved to ``grads<rank>.pt``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = tmp_path / "worker.py"
    script.write_text(worker_code)
    here = Path(__file__).resolve().parent
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": "2",
           "PYTHONPATH": os.pathsep.join([str(here), str(here.parent), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path), *args], env={**env, "RANK": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for r in range(2)]
    outputs = [p.communicate(timeout=timeout)[0].decode() for p in procs]
    assert all(p.returncode == 0 for p in procs), "\n".join(outputs)
    return [torch.load(tmp_path / f"grads{r}.pt") for r in range(2)]
