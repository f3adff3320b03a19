"""The report's statistics, each checked against an independent computation: the Wilson interval by
inverting the score test numerically (and by its closed forms at 0 and n), the exact McNemar p-value
by enumerating every sign pattern of the discordant examples."""

from __future__ import annotations

import itertools
import math
import statistics

import pytest

from textattack_rift.evaluation import stats

Z95 = 1.959963984540054  # the 97.5 % quantile of the standard normal


def _score_test_rejects(p: float, k: int, n: int) -> bool:
    """The two-sided score test of H0: proportion = p at 5 %: |k/n - p| / sqrt(p (1 - p) / n) > z."""
    return abs(k / n - p) > Z95 * math.sqrt(p * (1 - p) / n)


def _bisect(lo: float, hi: float, rejected_at_lo: bool, k: int, n: int) -> float:
    """The boundary between rejected and kept proportions in [lo, hi]."""
    for _ in range(200):
        mid = (lo + hi) / 2
        if _score_test_rejects(mid, k, n) == rejected_at_lo:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _wilson_by_inversion(k: int, n: int) -> tuple[float, float]:
    """The set of p the score test keeps, found by bisection on each side of k/n."""
    phat = k / n
    low = 0.0 if k == 0 else _bisect(1e-15, phat, True, k, n)
    high = 1.0 if k == n else _bisect(phat, 1 - 1e-15, False, k, n)
    return low, high


@pytest.mark.parametrize("k,n", [(1, 1), (3, 10), (8, 10), (25, 50), (37, 50), (1, 200), (199, 200), (5, 7)])
def test_wilson_interval_is_the_inverted_score_test(k, n):
    low, high = stats.wilson_interval(k, n)
    ref_low, ref_high = _wilson_by_inversion(k, n)
    assert low == pytest.approx(ref_low, abs=1e-9) and high == pytest.approx(ref_high, abs=1e-9)
    assert 0.0 <= low < k / n < high <= 1.0 or k in (0, n)


@pytest.mark.parametrize("n", [1, 4, 50, 500])
def test_wilson_interval_at_zero_and_all_correct(n):
    """k = 0 and k = n (e.g. a method right on every example): one end is exactly 0 or 1, the other
    z^2/(n+z^2) from it (the closed form of the score test at the boundary)."""
    z2 = Z95 * Z95
    assert stats.wilson_interval(0, n) == (0.0, pytest.approx(z2 / (n + z2), abs=1e-12))
    low, high = stats.wilson_interval(n, n)
    assert high == 1.0 and low == pytest.approx(n / (n + z2), abs=1e-12)
    assert stats.wilson_percent(n, n) == [pytest.approx(100 * n / (n + z2)), 100.0]


def test_wilson_interval_edges():
    assert stats.wilson_interval(0, 0) is None and stats.wilson_percent(0, 0) is None
    with pytest.raises(ValueError):
        stats.wilson_interval(3, 2)
    # wider at 90 % than nothing, narrower than at 99 %
    w = lambda c: (lambda lo_hi: lo_hi[1] - lo_hi[0])(stats.wilson_interval(10, 40, confidence=c))
    assert w(0.90) < w(0.95) < w(0.99)


def _mcnemar_by_enumeration(b: int, c: int) -> float:
    """Under H0 each of the b + c discordant examples favours either method with probability 1/2:
    enumerate all 2^(b+c) patterns; p = the share at least as lopsided as the one observed."""
    n = b + c
    if n == 0:
        return 1.0
    observed = abs(b - c)
    extreme = sum(1 for signs in itertools.product((0, 1), repeat=n) if abs(2 * sum(signs) - n) >= observed)
    return extreme / 2 ** n


@pytest.mark.parametrize("b,c", [(0, 0), (1, 0), (0, 1), (3, 3), (7, 1), (1, 7), (10, 0), (6, 2), (9, 4), (5, 6)])
def test_mcnemar_exact_matches_enumeration(b, c):
    assert stats.mcnemar_exact(b, c) == pytest.approx(_mcnemar_by_enumeration(b, c), abs=1e-15)


def test_mcnemar_known_values():
    assert stats.mcnemar_exact(0, 0) == 1.0  # no discordant example: no evidence either way
    assert stats.mcnemar_exact(7, 1) == pytest.approx(2 * (1 + 8) / 256)  # 0.0703: not significant
    assert stats.mcnemar_exact(10, 0) == pytest.approx(2 / 1024)
    assert stats.mcnemar_exact(4, 4) == 1.0
    # large counts stay exact (integer arithmetic): 60 vs 40 of 100
    assert stats.mcnemar_exact(60, 40) == pytest.approx(2 * sum(math.comb(100, i) for i in range(41)) / 2 ** 100)
    with pytest.raises(ValueError):
        stats.mcnemar_exact(-1, 2)


def test_paired_test_counts_discordant_examples_on_the_shared_examples():
    first = {0: True, 1: True, 2: False, 3: True, 4: False, 9: True}
    second = {0: True, 1: False, 2: True, 3: False, 4: False, 7: False}
    test = stats.paired_test(first, second)
    assert (test["examples"], test["b"], test["c"], test["both"], test["neither"]) == (5, 2, 1, 1, 1)
    assert test["p"] == pytest.approx(_mcnemar_by_enumeration(2, 1))
    # all-correct columns: both methods right everywhere -> no discordant pair, p = 1
    everything = {i: True for i in range(20)}
    assert stats.paired_test(everything, dict(everything)) | {} == {
        "examples": 20, "b": 0, "c": 0, "both": 20, "neither": 0, "p": 1.0}


def test_mean_sd_is_the_sample_standard_deviation():
    values = [70.0, 74.0, 68.0]
    out = stats.mean_sd(values)
    assert out["mean"] == pytest.approx(statistics.mean(values)) and out["n"] == 3
    assert out["sd"] == pytest.approx(statistics.stdev(values))
    assert stats.mean_sd([5.0, None]) == {"mean": 5.0, "sd": None, "n": 1}
    assert stats.mean_sd([]) == {"mean": None, "sd": None, "n": 0}


def test_against_scipy_when_installed():
    scipy_stats = pytest.importorskip("scipy.stats")
    for k, n in [(0, 5), (3, 10), (37, 50), (50, 50)]:
        ci = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert stats.wilson_interval(k, n) == (pytest.approx(ci.low, abs=1e-9), pytest.approx(ci.high, abs=1e-9))
    for b, c in [(7, 1), (9, 4), (12, 30)]:
        assert stats.mcnemar_exact(b, c) == pytest.approx(scipy_stats.binomtest(b, b + c, 0.5).pvalue)
