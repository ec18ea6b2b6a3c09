"""Exact statistics from raw rows: percentiles by linear interpolation (numpy's default).

Also environments and their lifetimes, the observed keep-alive, cost, SLO verdicts and
time series. Nothing here is rounded into buckets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

import numpy as np
import pandas as pd

from coldbench.analysis import confidence
from coldbench.record.config import Config
from coldbench.record.summary import ClassStats, Cost, Distribution, SloVerdict
from coldbench.record.target import FunctionSnapshot

PERCENTILES = {"p50": 50, "p90": 90, "p95": 95, "p99": 99, "p999": 99.9}
MEASURES = ("e2e_ms", "duration_ms", "init_ms", "outside_ms")


def describe(
    values: pd.Series | np.ndarray, *ci_key: str, blocks: pd.Series | np.ndarray | None = None
) -> Distribution:
    """count, p50, p90, p95, p99, p999, max, mean of the non-missing values; with a
    ``ci_key`` (what is described, which seeds the resampling) their 95% intervals,
    resampled by whole ``blocks`` when the values came in several."""
    data = np.asarray(values, dtype=float)
    present = ~np.isnan(data)
    data = data[present]
    if data.size == 0:
        return Distribution()
    qs = np.percentile(data, list(PERCENTILES.values()))
    p50, p90, p95, p99, p999 = (float(q) for q in qs)
    labels = None if blocks is None else np.asarray(blocks)[present]
    intervals = confidence.ci95(data, *ci_key, blocks=labels) if ci_key else {}
    return Distribution(
        int(data.size),
        p50,
        p90,
        p95,
        p99,
        p999,
        float(data.max()),
        float(data.mean()),
        ci95=intervals,
    )


def group_stats(df: pd.DataFrame, by: str) -> dict[str, ClassStats]:
    """Per group: count, failures, and the four measures described. Rows are picked
    by position, column by column: a run of millions is never copied whole."""
    visible = df["init_visible_ms"].to_numpy(dtype=float)
    columns = {  # one array per measure (init_ms: only where init was visible)
        "e2e_ms": df["e2e_ms"].to_numpy(dtype=float),
        "duration_ms": df["duration_ms"].to_numpy(dtype=float),
        "init_ms": np.where(visible > 0, visible, np.nan),
        "outside_ms": df["outside_ms"].to_numpy(dtype=float),
    }
    failed = df["failed"].to_numpy(dtype=bool)
    labels = blocks_of(df)
    block_values = None if labels is None else labels.to_numpy()
    result = {}
    groups = df[by].groupby(df[by], sort=True, observed=True).indices
    for key, rows in groups.items():
        picked = None if block_values is None else block_values[rows]
        if picked is not None and np.unique(picked).size < 2:
            picked = None
        result[str(key)] = ClassStats(
            len(rows),
            int(failed[rows].sum()),
            **{
                measure: describe(columns[measure][rows], by, str(key), measure, blocks=picked)
                for measure in MEASURES
            },
        )
    return result


def blocks_of(df: pd.DataFrame) -> pd.Series | None:
    """Each row's block, when the run was measured in several (else None)."""
    if "block" not in df or df["block"].nunique() < 2:
        return None
    return df["block"]


def environments(df: pd.DataFrame) -> dict:
    """How many environments, requests each, lifetimes, and the observed keep-alive."""
    known = (df["environment"] != "").to_numpy(dtype=bool)
    if not known.any():
        return {"count": 0}
    # Environments as codes in the order of their names, rows by environment then time:
    # numpy on arrays, one sort each, for runs of millions.
    codes, names = pd.factorize(df["environment"][known], sort=True)
    start = df["start_time"].to_numpy(dtype=float)[known]
    end = start + df["e2e_ms"].to_numpy(dtype=float)[known] / 1000
    by_time = np.argsort(start, kind="stable")
    order = by_time[np.argsort(codes[by_time], kind="stable")]
    codes, start, end = codes[order], start[order], end[order]
    first_rows = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    requests = np.diff(np.r_[first_rows, codes.size])
    firsts_by_env = start[first_rows]
    lasts = np.maximum.reduceat(end, first_rows)
    lifetimes = lasts - firsts_by_env
    same = codes[1:] == codes[:-1]  # a request and the next one in its environment
    gaps = start[1:][same] - end[:-1][same]
    reused_after = float(gaps.max()) if gaps.size else None
    firsts = np.sort(firsts_by_env)
    reap_gaps = []
    for last in lasts:
        later = firsts[np.searchsorted(firsts, last, side="right") :]
        if later.size:
            reap_gaps.append(float(later[0] - last))
    # Only gaps longer than the longest reuse can be reaps (shorter ones were concurrency).
    reap_gaps = [g for g in reap_gaps if reused_after is None or g > reused_after]
    return {
        "count": len(names),
        "requests_per_env": asdict(describe(requests.astype(float))),
        "lifetime_s": asdict(describe(lifetimes)),
        "keep_alive_observed_s": {
            "longest_idle_then_reused": reused_after,
            "shortest_idle_then_new": min(reap_gaps) if reap_gaps else None,
        },
    }


def cost(df: pd.DataFrame, config: Config, function: FunctionSnapshot, run_seconds: float) -> Cost:
    """Cost of the run and per million requests, from Billed Duration (init included)."""
    prices = config.cost
    arch = function.architecture
    memory_gb = function.memory_mb / 1024
    matched = df["matched"].to_numpy(dtype=bool)
    provisioned = (df["class"] == "provisioned").to_numpy()
    billed = df["billed_duration_ms"].to_numpy(dtype=float)
    invoked = int(matched.sum())
    gb_s = np.nansum(billed[matched & ~provisioned]) / 1000 * memory_gb
    compute = gb_s * getattr(prices, f"gb_second_{arch}")
    pc_duration = np.nansum(billed[matched & provisioned]) / 1000 * memory_gb
    compute += pc_duration * getattr(prices, f"provisioned_duration_gb_second_{arch}")
    pc = function.provisioned_concurrency
    standing = pc * memory_gb * run_seconds * getattr(prices, f"provisioned_gb_second_{arch}")
    requests_cost = invoked / 1e6 * prices.per_million_requests
    total = compute + standing + requests_cost
    return Cost(
        total=float(total),
        compute=float(compute),
        provisioned=float(standing),
        requests=float(requests_cost),
        per_million_requests=float(total / invoked * 1e6) if invoked else None,
        gb_seconds=float(gb_s + pc_duration),
        invocations=invoked,
    )


def slo_verdicts(
    classes: Mapping[str, ClassStats], failure_rate: float, config: Config, platform: bool = True
) -> tuple[SloVerdict, ...]:
    """Each SLO against its figure. Without platform data the cold/warm split is not
    known, so those verdicts are unknown, never a pass."""
    slo = config.slo

    def p99(cls: str) -> float | None:
        return (classes.get(cls) or ClassStats()).e2e_ms.p99

    def verdict(name: str, threshold: float, actual: float | None, needs_platform: bool):
        if needs_platform and not platform:
            return SloVerdict(name, threshold, actual, None)
        return SloVerdict(name, threshold, actual, actual is None or actual < threshold)

    return (
        verdict("cold_p99_ms", slo.cold_p99_ms, p99("cold"), True),
        verdict("warm_p99_ms", slo.warm_p99_ms, p99("warm"), True),
        verdict("error_rate", slo.error_rate, failure_rate, False),
    )


def _group_order(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The order that sorts by key, then value: ``np.lexsort((values, keys))``. Keys of
    a narrow range (the seconds of a run) are sorted stably as 16-bit numbers, which
    numpy does by radix, after the values: at ten million rows, in about half the time
    of ``lexsort`` (1.6-2.6 s against 3.3-4.4 s, profiled)."""
    if keys.size and int(keys.max()) - int(keys.min()) < 2**16:
        by_value = np.argsort(values)  # equal values may come in any order
        narrow = (keys[by_value] - keys.min()).astype(np.uint16)
        return by_value[np.argsort(narrow, kind="stable")]
    return np.lexsort((values, keys))


def grouped_percentiles(
    keys: np.ndarray, values: np.ndarray, qs: tuple[float, ...] = (50.0, 99.0)
) -> tuple[np.ndarray, ...]:
    """Each key's percentiles of its values (numpy's linear definition), for every key at
    once: one sort, no Python per group. Returns the keys, then one array per ``q``."""
    order = _group_order(keys, values)
    keys, values = keys[order], values[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, keys.size])
    found = []
    for q in qs:
        # numpy's own arithmetic, step by step, so the figures are equal to the last bit
        fraction = np.float64(q) / 100
        h = (sizes - 1) * fraction
        low = np.clip(np.floor(h), 0, sizes - 1).astype(np.int64)
        high = np.minimum(low + 1, sizes - 1)
        gamma = h - np.floor(h)
        below, above = values[starts + low], values[starts + high]
        difference = above - below
        found.append(
            np.where(gamma >= 0.5, above - difference * (1 - gamma), below + difference * gamma)
        )
    return (keys[starts], *found)


def timeseries(df: pd.DataFrame, t0: float, t_end: float | None = None) -> pd.DataFrame:
    """One row per second of the run, counted from its start ``t0`` (epoch seconds):
    requests, failures, cold starts, p50 and p99 end-to-end, and the rate.

    ``t_s`` is the second's start after ``t0`` and ``second`` its epoch; ``covered_s`` is
    how much of it the run covered (the last second may be cut short by ``t_end``), and
    ``requests_per_s`` divides by it, so a partial second shows no false dip.
    """
    bucket = np.floor(df["start_time"] - t0).astype("int64")
    counted = pd.DataFrame(
        {"t_s": bucket, "failed": df["failed"], "is_cold": df["class"] == "cold"}
    )
    out = counted.groupby("t_s").agg(
        requests=("failed", "size"), failures=("failed", "sum"), cold=("is_cold", "sum")
    )
    seconds, p50, p99 = grouped_percentiles(bucket.to_numpy(), df["e2e_ms"].to_numpy(float))
    out["p50_ms"] = pd.Series(p50, index=seconds)
    out["p99_ms"] = pd.Series(p99, index=seconds)
    # Seconds without requests (idle gaps) are rows of zeros, not missing.
    full = pd.RangeIndex(min(0, out.index.min()), out.index.max() + 1, name="t_s")
    out = out.reindex(full)
    out[["requests", "failures", "cold"]] = (
        out[["requests", "failures", "cold"]].fillna(0).astype("int64")
    )
    out = out.reset_index()
    out["second"] = t0 + out["t_s"]
    end = (t_end - t0) if t_end is not None else float(out["t_s"].max() + 1)
    out["covered_s"] = (end - out["t_s"]).clip(lower=0.0, upper=1.0)
    out["requests_per_s"] = np.where(
        out["covered_s"] > 0, out["requests"] / out["covered_s"].where(out["covered_s"] > 0), 0.0
    )
    return out
