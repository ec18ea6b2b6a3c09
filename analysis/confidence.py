"""How sure a figure is: 95% percentile-bootstrap intervals, and verdicts on differences.

Resampling a class's requests with replacement, the k-th smallest of a resample is the
value at index ``floor(n * U)`` of the sorted data, where ``U`` is the k-th smallest of
``n`` uniforms, which follows Beta(k, n - k + 1); the next one up is
``U + (1 - U) * Beta(1, n - k)``. So each bootstrap replicate of a percentile (numpy's
linear definition, between those two order statistics) is drawn exactly, in constant
time, without building the resample: the percentile bootstrap at any size. The mean is
bootstrapped by resampling up to :data:`DIRECT_MEAN_MAX` values and, above that, by the
normal law its bootstrap distribution follows there. Every draw is seeded from what is
being estimated, so a report computed twice is identical.

A percentile needs samples beyond it: p99 from fewer than 100 values is the maximum
under another name, so its interval is ``None`` ("n too small").
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import numpy as np

REPLICATES = 2000
DIRECT_MEAN_MAX = 5000
STATS = {"p50": 50.0, "p90": 90.0, "p99": 99.0}
MIN_SAMPLES = 5


def supported(q: float, n: int) -> bool:
    """Whether ``n`` values hold at least one beyond the ``q``-th percentile."""
    return n >= MIN_SAMPLES and n * (1 - q / 100) >= 1


def rng_for(*key: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32("/".join(key).encode()))


def replicates(sorted_values: np.ndarray, stat: str, rng: np.random.Generator) -> np.ndarray | None:
    """``REPLICATES`` bootstrap replicates of ``stat`` (``p50`` … or ``mean``) of already
    sorted values; None where the data cannot support it."""
    n = sorted_values.size
    if stat == "mean":
        if n < MIN_SAMPLES:
            return None
        if n <= DIRECT_MEAN_MAX:
            picks = rng.integers(0, n, size=(REPLICATES, n))
            return sorted_values[picks].mean(axis=1)
        spread = sorted_values.std(ddof=1) / np.sqrt(n)
        return rng.normal(sorted_values.mean(), spread, REPLICATES)
    q = STATS[stat]
    if not supported(q, n):
        return None
    h = (n - 1) * q / 100
    k = int(np.floor(h))
    frac = h - k
    low_u = rng.beta(k + 1, n - k, REPLICATES)  # the (k+1)-th smallest of n uniforms
    low = sorted_values[np.minimum((low_u * n).astype(np.int64), n - 1)]
    if frac == 0 or k + 1 >= n:
        return low
    high_u = low_u + (1 - low_u) * rng.beta(1, n - k - 1, REPLICATES)
    high = sorted_values[np.minimum((high_u * n).astype(np.int64), n - 1)]
    return low + frac * (high - low)


def interval(draws: np.ndarray | None) -> tuple[float, float] | None:
    if draws is None:
        return None
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return float(lo), float(hi)


def ci95(values: np.ndarray, *key: str) -> dict[str, tuple[float, float] | None]:
    """The 95% interval of p50, p90, p99 and the mean of ``values`` (seeded by ``key``)."""
    data = np.sort(values[~np.isnan(values)])
    return {
        stat: interval(replicates(data, stat, rng_for(*key, stat))) for stat in (*STATS, "mean")
    }


def difference(
    baseline: np.ndarray, run: np.ndarray, stat: str, *key: str
) -> tuple[float, float] | None:
    """The 95% interval of ``stat(run) - stat(baseline)``, the two resampled apart."""
    a = np.sort(baseline[~np.isnan(baseline)])
    b = np.sort(run[~np.isnan(run)])
    draws_a = replicates(a, stat, rng_for(*key, stat, "baseline"))
    draws_b = replicates(b, stat, rng_for(*key, stat, "run"))
    if draws_a is None or draws_b is None:
        return None
    return interval(draws_b - draws_a)


def verdict(ci: tuple[float, float] | None, lower: str, higher: str) -> str:
    """``lower`` or ``higher`` when the interval of the difference excludes zero."""
    if ci is None or ci[0] <= 0 <= ci[1]:
        return "no detectable difference"
    return lower if ci[1] < 0 else higher


def as_json(intervals: Mapping[str, tuple[float, float] | None]) -> dict[str, list | None]:
    return {k: None if v is None else [v[0], v[1]] for k, v in intervals.items()}
