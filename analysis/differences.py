"""Comparisons that decide: is a difference between two runs real?

For every pair of runs (the earlier given as ``baseline``) and each key metric, the
difference ``run - baseline``, their ratio, the 95% interval of the difference (the two
runs' requests resampled apart, :mod:`confidence`) and a verdict: ``faster`` or
``slower`` (``cheaper`` or ``dearer`` for cost) when the interval excludes zero, else
``no detectable difference``. A run measured in blocks is resampled by whole blocks.
Two configurations of one interleaved plan are compared round by round (``paired``):
``diff`` is then the mean of the rounds' differences, the estimate the interval belongs
to (:func:`confidence.paired_difference`), which can differ from ``run_value -
baseline_value`` (pooled over rounds whose levels drifted). Where too few rounds can
give the statistic in both blocks, the two are resampled apart by blocks instead
(``paired`` false).
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


# The joined columns :func:`samples` reads (``block`` and ``round`` where measured in blocks).
RESAMPLED = (
    "class",
    "matched",
    "billed_duration_ms",
    "init_visible_ms",
    "e2e_ms",
    "duration_ms",
    "outside_ms",
    "block",
    "round",
)


@dataclass(frozen=True)
class RunData:
    """What a comparison resamples of one run: its summary and its joined requests."""

    summary: Summary
    joined: pd.DataFrame


def samples(data: RunData, metric: str) -> tuple[np.ndarray, pd.DataFrame]:
    """The per-request values behind a metric (for cost: each invocation's cost, the
    provisioned standing charge spread over them, in USD per million), and the rows they
    come from (for their ``block`` and ``round``, when the run was measured in blocks)."""
    df = data.joined
    if metric == COST:
        invoked = df[df["matched"]]
        cost = data.summary.cost_usd
        if invoked.empty:
            return np.array([]), invoked
        billed = invoked["billed_duration_ms"].to_numpy(dtype=float)
        rate = cost.compute / billed.sum() if billed.sum() else 0.0
        fixed = (cost.requests + cost.provisioned) / len(invoked)
        return (billed * rate + fixed) * 1e6, invoked
    cls, measure, _ = metric.split(".")
    rows = df[df["class"] == cls]
    if measure == "init_ms":
        rows = rows[rows["init_visible_ms"] > 0]
        return rows["init_visible_ms"].to_numpy(dtype=float), rows
    return rows[measure].to_numpy(dtype=float), rows


def _labels(rows: pd.DataFrame, by: str) -> np.ndarray | None:
    return rows[by].to_numpy() if by in rows else None


def _figure(data: RunData, metric: str) -> float | None:
    if metric == COST:
        return data.summary.cost_usd.per_million_requests
    cls, measure, stat = metric.split(".")
    return getattr(getattr(data.summary.of(cls), measure), stat)


def compare_pair(baseline: RunData, run: RunData, metric: str) -> dict:
    a, b = _figure(baseline, metric), _figure(run, metric)
    stat = "mean" if metric == COST else metric.split(".")[2]
    key = (baseline.summary.run_id, run.summary.run_id, metric)
    lower, higher = ("cheaper", "dearer") if metric == COST else ("faster", "slower")
    diff = None if a is None or b is None else b - a
    (a_values, a_rows), (b_values, b_rows) = samples(baseline, metric), samples(run, metric)
    ci, paired = None, False
    a_rounds, b_rounds = _labels(a_rows, "round"), _labels(b_rows, "round")
    same_plan = bool(baseline.summary.plan) and baseline.summary.plan == run.summary.plan
    if same_plan and a_rounds is not None and b_rounds is not None:
        # Two configurations of one interleaved plan are compared round by round.
        estimate, ci = confidence.paired_difference(a_values, a_rounds, b_values, b_rounds, stat)
        paired = ci is not None
        diff = estimate if paired else diff
    if ci is None:  # not one plan's, or too few rounds whose blocks give the statistic
        blocks = (_labels(a_rows, "block"), _labels(b_rows, "block"))
        ci = confidence.difference(a_values, b_values, stat, *key, blocks=blocks)
    return {
        "metric": metric,
        "baseline": baseline.summary.run_id,
        "run": run.summary.run_id,
        "baseline_value": a,
        "run_value": b,
        "diff": diff,
        "ratio": b / a if a and b is not None else None,
        "paired": paired,
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
