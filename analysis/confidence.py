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

Values measured in blocks (a configuration's share of an interleaved comparison) are
resampled by whole blocks instead: requests within a block share its moment (drift,
a neighbour's load, one burst's contention) and move together, so resampling them one
by one would pass that correlation off as precision. A replicate draws as many blocks
as there are, with replacement, and takes the statistic of their values pooled (each
block counted as often as drawn). Fewer than :data:`MIN_BLOCKS` blocks cannot give an
interval. Two configurations of one interleaved plan are compared round by round
(:func:`paired_difference`): the difference within each round, where what the round's
moment did to both (drift) cancels, then Student's t over the rounds.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import numpy as np

REPLICATES = 2000
DIRECT_MEAN_MAX = 5000
STATS = {"p50": 50.0, "p90": 90.0, "p99": 99.0}
MIN_SAMPLES = 5
MIN_BLOCKS = 3
_CHUNK = 64  # block replicates computed together (memory: chunk x values)


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


def block_replicates(
    values: np.ndarray, blocks: np.ndarray, stat: str, rng: np.random.Generator
) -> np.ndarray | None:
    """``REPLICATES`` replicates of ``stat`` over resamples of whole blocks (``blocks``
    labels each value); None with fewer than :data:`MIN_BLOCKS` blocks or too few values."""
    universe = np.unique(blocks[~np.isnan(values)])
    if universe.size < MIN_BLOCKS:
        return None
    return pooled_replicates(values, blocks, stat, _block_counts(universe.size, rng), universe)


def _block_counts(m: int, rng: np.random.Generator) -> np.ndarray:
    """How often each of ``m`` blocks is drawn, per replicate (m draws with replacement)."""
    return rng.multinomial(m, np.full(m, 1 / m), size=REPLICATES).astype(float)


def pooled_replicates(
    values: np.ndarray, labels: np.ndarray, stat: str, counts: np.ndarray, universe: np.ndarray
) -> np.ndarray | None:
    """``stat`` of the values pooled from the blocks of ``universe`` (sorted labels),
    each counted as often as ``counts`` (replicates x blocks) says; None where a
    replicate cannot support the statistic."""
    keep = ~np.isnan(values) & np.isin(labels, universe)
    order = np.argsort(values[keep], kind="stable")
    data = values[keep][order]
    if data.size < MIN_SAMPLES:
        return None
    codes = np.searchsorted(universe, labels[keep][order])
    m = universe.size
    if stat == "mean":
        sums = np.bincount(codes, weights=data, minlength=m)
        sizes = counts @ np.bincount(codes, minlength=m).astype(float)
        if (sizes == 0).any():
            return None
        return (counts @ sums) / sizes
    q = STATS[stat]
    draws = np.empty(len(counts))
    for start in range(0, len(counts), _CHUNK):
        weights = counts[start : start + _CHUNK][:, codes]  # each value, as often as drawn
        for row, cumulative in enumerate(np.cumsum(weights, axis=1)):
            draws[start + row] = _weighted_percentile(data, cumulative, q)
    return draws if np.isfinite(draws).all() else None


def _weighted_percentile(sorted_values: np.ndarray, cumulative: np.ndarray, q: float) -> float:
    """numpy's linear percentile of the multiset holding each sorted value as often as
    its weight says (``cumulative``: the running total of weights)."""
    n = int(cumulative[-1])
    if not supported(q, n):
        return float("nan")
    h = (n - 1) * q / 100
    k = int(np.floor(h))
    at = np.searchsorted(cumulative, [k, k + 1], side="right")
    low = sorted_values[min(at[0], sorted_values.size - 1)]
    high = sorted_values[min(at[1], sorted_values.size - 1)]
    return float(low + (h - k) * (high - low))


def interval(draws: np.ndarray | None) -> tuple[float, float] | None:
    if draws is None:
        return None
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return float(lo), float(hi)


def draw(
    values: np.ndarray, stat: str, rng: np.random.Generator, blocks: np.ndarray | None = None
) -> np.ndarray | None:
    """Replicates of ``stat``: by whole blocks when the values come in more than one,
    else value by value."""
    if blocks is not None and np.unique(blocks).size > 1:
        return block_replicates(values, blocks, stat, rng)
    return replicates(np.sort(values[~np.isnan(values)]), stat, rng)


def ci95(
    values: np.ndarray, *key: str, blocks: np.ndarray | None = None
) -> dict[str, tuple[float, float] | None]:
    """The 95% interval of p50, p90, p99 and the mean of ``values`` (seeded by ``key``),
    resampled by whole ``blocks`` when given."""
    if blocks is None or np.unique(blocks).size < 2:
        data = np.sort(values[~np.isnan(values)])
        return {
            stat: interval(replicates(data, stat, rng_for(*key, stat))) for stat in (*STATS, "mean")
        }
    return {
        stat: interval(block_replicates(values, blocks, stat, rng_for(*key, stat)))
        for stat in (*STATS, "mean")
    }


def difference(
    baseline: np.ndarray,
    run: np.ndarray,
    stat: str,
    *key: str,
    blocks: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
) -> tuple[float, float] | None:
    """The 95% interval of ``stat(run) - stat(baseline)``, the two resampled apart (each
    by whole blocks when it has them)."""
    draws_a = draw(baseline, stat, rng_for(*key, stat, "baseline"), blocks[0])
    draws_b = draw(run, stat, rng_for(*key, stat, "run"), blocks[1])
    if draws_a is None or draws_b is None:
        return None
    return interval(draws_b - draws_a)


# Student's t, 97.5th percentile, by degrees of freedom (the paired rounds' interval).
_T975: tuple[float, ...] = (
    *(12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228),
    *(2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086),
    *(2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042),
)


def t975(df: int) -> float:
    if df <= len(_T975):
        return _T975[df - 1]
    return 2.0 if df <= 60 else 1.98 if df <= 120 else 1.96


def paired_difference(
    baseline: np.ndarray,
    baseline_rounds: np.ndarray,
    run: np.ndarray,
    run_rounds: np.ndarray,
    stat: str,
) -> tuple[float | None, tuple[float, float] | None]:
    """The difference between two configurations of one interleaved plan, round by
    round, and its 95% interval.

    Each round measured both configurations, one block each, at nearly the same moment.
    The difference is taken within each round (``stat`` of the run's block minus the
    baseline's), so what the round's moment did to both cancels; the estimate is the
    mean of the rounds' differences. Each round is one observation, whatever its
    requests (they move together), and with a handful of rounds a bootstrap would be too
    narrow, so the interval is Student's t over the rounds' differences. A round whose
    blocks cannot support ``stat`` (p99 needs 100 values in each block) is left out;
    fewer than :data:`MIN_BLOCKS` rounds left give (None, None).
    """
    a_ok, b_ok = ~np.isnan(baseline), ~np.isnan(run)
    rounds = np.intersect1d(np.unique(baseline_rounds[a_ok]), np.unique(run_rounds[b_ok]))
    differences = []
    for r in rounds:
        a = baseline[a_ok & (baseline_rounds == r)]
        b = run[b_ok & (run_rounds == r)]
        if not (_block_supports(stat, a.size) and _block_supports(stat, b.size)):
            continue
        differences.append(_stat(b, stat) - _stat(a, stat))
    if len(differences) < MIN_BLOCKS:
        return None, None
    d = np.asarray(differences)
    mean = float(d.mean())
    half = t975(d.size - 1) * float(d.std(ddof=1)) / np.sqrt(d.size)
    return mean, (mean - half, mean + half)


def _block_supports(stat: str, n: int) -> bool:
    """Whether one block's ``n`` values give ``stat``: a value beyond the percentile (a
    p99 needs 100), two at least. A single block's figure may be rough (four cold
    starts' median); the rounds' spread carries that into the interval."""
    q = STATS.get(stat, 50.0)
    return n >= 2 and n * (1 - q / 100) >= 1


def _stat(values: np.ndarray, stat: str) -> float:
    return float(values.mean() if stat == "mean" else np.percentile(values, STATS[stat]))


def verdict(ci: tuple[float, float] | None, lower: str, higher: str) -> str:
    """``lower`` or ``higher`` when the interval of the difference excludes zero."""
    if ci is None or ci[0] <= 0 <= ci[1]:
        return "no detectable difference"
    return lower if ci[1] < 0 else higher


def as_json(intervals: Mapping[str, tuple[float, float] | None]) -> dict[str, list | None]:
    return {k: None if v is None else [v[0], v[1]] for k, v in intervals.items()}
