"""The uncertainty in the reports: an interval for every accuracy and a paired test between methods.

- ``wilson_interval``: the Wilson score interval of a binomial proportion (Wilson 1927), the set of
  proportions p that a two-sided score test at the given confidence does not reject for k successes
  in n trials. Unlike the normal ("Wald") interval it stays inside [0, 1] and keeps its coverage
  near 0 % and 100 %, which is where accuracies under attack of small subsets live.
- ``mcnemar_exact``: the exact (binomial) McNemar test for paired binary outcomes. Two methods are
  scored on the same examples; only the discordant examples carry information: b = right for the
  first method only, c = right for the second only. Under the null hypothesis that both methods are
  equally accurate, b ~ Binomial(b + c, 1/2); the two-sided p-value doubles the smaller tail (capped
  at 1). With b + c = 0 there is no evidence either way: p = 1.
- ``mean_sd``: the mean and the sample standard deviation (n - 1) of per-seed numbers.

Pure standard library (``math``, ``statistics``): no SciPy needed.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Iterable, Mapping, Sequence

CONFIDENCE = 0.95
INTERVAL_NAME = "Wilson score interval"
TEST_NAME = "exact McNemar test (two-sided, binomial on the discordant examples)"


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """(low, high) as fractions in [0, 1] for ``successes`` out of ``trials``; None when ``trials`` is 0."""
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return None
    z = _z(confidence)
    n = float(trials)
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denominator
    half = (z / denominator) * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    # at k = 0 or k = n one end is exactly 0 or 1; rounding must not push it past
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def wilson_percent(successes: int, trials: int, confidence: float = CONFIDENCE) -> list[float] | None:
    """The Wilson interval in percent, as a JSON-ready [low, high] list (None when ``trials`` is 0)."""
    interval = wilson_interval(successes, trials, confidence)
    return None if interval is None else [100.0 * interval[0], 100.0 * interval[1]]


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant examples: 2 * P(X <= min(b, c))
    for X ~ Binomial(b + c, 1/2), capped at 1; 1.0 when there is no discordant example."""
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    # exact integer arithmetic up to the one division, so large n loses nothing to rounding
    tail = sum(math.comb(n, i) for i in range(k + 1))
    return min(1.0, 2.0 * tail / (2 ** n))


def paired_test(first: Mapping[int, bool], second: Mapping[int, bool]) -> dict:
    """McNemar on the examples both maps have (example -> right or robust): ``examples`` shared,
    ``b`` right for ``first`` only, ``c`` right for ``second`` only, ``both``, ``neither``, ``p``."""
    shared = sorted(set(first) & set(second))
    b = sum(1 for e in shared if first[e] and not second[e])
    c = sum(1 for e in shared if second[e] and not first[e])
    both = sum(1 for e in shared if first[e] and second[e])
    return {
        "examples": len(shared),
        "b": b,
        "c": c,
        "both": both,
        "neither": len(shared) - b - c - both,
        "p": mcnemar_exact(b, c),
    }


def mean_sd(values: Iterable[float | None]) -> dict:
    """``{"mean", "sd", "n"}`` over the values that are not None; sd is the sample standard deviation
    (n - 1), None for fewer than two values; mean None for none."""
    kept: Sequence[float] = [float(v) for v in values if v is not None]
    n = len(kept)
    if n == 0:
        return {"mean": None, "sd": None, "n": 0}
    mean = sum(kept) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in kept) / (n - 1)) if n > 1 else None
    return {"mean": mean, "sd": sd, "n": n}
