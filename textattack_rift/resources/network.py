"""Is the Hugging Face hub reachable? Asked once per process, bounded in time, never hanging."""

from __future__ import annotations

import functools
import os
import socket
import threading

OFFLINE_ENV = "TEXTATTACK_RIFT_OFFLINE"
_TRUE = {"1", "true", "yes", "on"}


def offline_forced() -> bool:
    """The user said offline: ``TEXTATTACK_RIFT_OFFLINE=1`` or Hugging Face's ``HF_HUB_OFFLINE=1``."""
    return any(os.environ.get(k, "").strip().lower() in _TRUE for k in (OFFLINE_ENV, "HF_HUB_OFFLINE"))


def _can_connect(host: str, port: int, timeout: float) -> bool:
    result = [False]

    def probe():
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result[0] = True
        except OSError:
            pass

    # DNS lookups ignore socket timeouts, so the probe runs in a thread we stop waiting for.
    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return result[0]


def hub_reachable(host: str = "huggingface.co", timeout: float = 2.0) -> bool:
    """False when offline is forced (checked on every call); else one cached, bounded probe per host."""
    if offline_forced():
        return False
    return _probe(host, timeout)


@functools.lru_cache(maxsize=None)
def _probe(host: str, timeout: float) -> bool:
    return _can_connect(host, 443, timeout)


def reset_probe() -> None:
    """Forget the probe's answers (after the network changed; tests)."""
    _probe.cache_clear()
