"""What the ``.pth`` start-up hook costs every Python process.

Two measures in one run: the hook module's own import time as ``-X importtime`` reports it, and
interpreter start-up (``python -c pass``) with the hook on and off, interleaved so that machine noise
hits both alike.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time


def _startup_seconds(env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
    return time.perf_counter() - start


def _hook_import_us(env: dict) -> int | None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "pass"], env=env, capture_output=True, text=True, check=True
    )
    for line in result.stderr.splitlines():
        if line.rstrip().endswith("textattack_rift_hook"):
            return int(line.split("|")[1])
    return None


def bench_startup(runs: int = 20) -> dict:
    on = dict(os.environ, TEXTATTACK_RIFT_HOOK="1")
    off = dict(os.environ, TEXTATTACK_RIFT_HOOK="0")
    on_times, off_times, hook_us = [], [], []
    for _ in range(runs):
        on_times.append(_startup_seconds(on))
        off_times.append(_startup_seconds(off))
        cumulative = _hook_import_us(on)
        if cumulative is not None:
            hook_us.append(cumulative)
    result = {
        "runs": runs,
        "startup_hook_on_ms": 1000 * statistics.median(on_times),
        "startup_hook_off_ms": 1000 * statistics.median(off_times),
        "hook_import_ms": (min(hook_us) / 1000) if hook_us else None,
    }
    result["added_ms"] = result["startup_hook_on_ms"] - result["startup_hook_off_ms"]
    result["ratio_on_off"] = result["startup_hook_on_ms"] / result["startup_hook_off_ms"]
    return result


def format_startup(result: dict) -> str:
    if result["hook_import_ms"] is None:
        return "the start-up hook is not installed (pip install -e .)"
    return (
        f"interpreter start-up, median of {result['runs']}: hook on {result['startup_hook_on_ms']:.1f} ms, "
        f"off {result['startup_hook_off_ms']:.1f} ms (ratio {result['ratio_on_off']:.3f}, "
        f"added {result['added_ms']:+.1f} ms); hook module import {result['hook_import_ms']:.2f} ms (budget 30 ms)"
    )
