"""Comparisons that decide: is a difference between two runs real?

For every pair of runs (the earlier given as ``baseline``) and each key metric, the
difference ``run - baseline``, their ratio, the 95% interval of the difference (the two
runs' requests resampled apart, :mod:`confidence`) and a verdict: ``faster`` or
``slower`` (``cheaper`` or ``dearer`` for cost) when the interval excludes zero, else
``no detectable difference``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coldbench.analysis import confidence
from coldbench.record.summary import Summary

COST = "cost_usd.per_million_requests"
METRICS = (
    "cold.e2e_ms.p50",
    "cold.e2e_ms.p90",
    "cold.e2e_ms.p99",  # what the recommendation's "lowest cold p99" is decided on
    "warm.e2e_ms.p50",
    "warm.e2e_ms.p99",
    "cold.init_ms.p50",
    COST,
)


@dataclass(frozen=True)
class RunData:
    """What a comparison resamples of one run: its summary and its joined requests."""

    summary: Summary
    joined: pd.DataFrame


def values(data: RunData, metric: str) -> np.ndarray:
    """The per-request values behind a metric (for cost: each invocation's cost, the
    provisioned standing charge spread over them, in USD per million)."""
    df = data.joined
    if metric == COST:
        invoked = df[df["matched"]]
        cost = data.summary.cost_usd
        if invoked.empty:
            return np.array([])
        billed = invoked["billed_duration_ms"].to_numpy(dtype=float)
        rate = cost.compute / billed.sum() if billed.sum() else 0.0
        fixed = (cost.requests + cost.provisioned) / len(invoked)
        return (billed * rate + fixed) * 1e6
    cls, measure, _ = metric.split(".")
    rows = df[df["class"] == cls]
    if measure == "init_ms":
        column = rows["init_visible_ms"]
        return column[column > 0].to_numpy(dtype=float)
    return rows[measure].to_numpy(dtype=float)


def _figure(data: RunData, metric: str) -> float | None:
    if metric == COST:
        return data.summary.cost_usd.per_million_requests
    cls, measure, stat = metric.split(".")
    return getattr(getattr(data.summary.of(cls), measure), stat)


def compare_pair(baseline: RunData, run: RunData, metric: str) -> dict:
    a, b = _figure(baseline, metric), _figure(run, metric)
    stat = "mean" if metric == COST else metric.split(".")[2]
    key = (baseline.summary.run_id, run.summary.run_id, metric)
    ci = confidence.difference(values(baseline, metric), values(run, metric), stat, *key)
    lower, higher = ("cheaper", "dearer") if metric == COST else ("faster", "slower")
    diff = None if a is None or b is None else b - a
    return {
        "metric": metric,
        "baseline": baseline.summary.run_id,
        "run": run.summary.run_id,
        "baseline_value": a,
        "run_value": b,
        "diff": diff,
        "ratio": b / a if a and b is not None else None,
        "ci95": None if ci is None else [ci[0], ci[1]],
        "verdict": confidence.verdict(ci, lower, higher),
    }


def differences(runs: list[RunData], metrics: tuple[str, ...] = METRICS) -> list[dict]:
    """Every pair (earlier given as baseline) on every metric."""
    return [
        compare_pair(baseline, run, metric)
        for baseline, run in itertools.combinations(runs, 2)
        for metric in metrics
    ]


def lookup(found: list[dict]) -> Mapping[tuple[str, str, str], dict]:
    return {(d["baseline"], d["run"], d["metric"]): d for d in found}


def is_better(
    found: Mapping[tuple[str, str, str], dict], best: str, other: str, metric: str
) -> bool:
    """Whether ``best`` is really lower than ``other`` on ``metric`` (whichever was given
    first)."""
    if (other, best, metric) in found:
        return found[(other, best, metric)]["verdict"] in ("faster", "cheaper")
    if (best, other, metric) in found:
        return found[(best, other, metric)]["verdict"] in ("slower", "dearer")
    return False
