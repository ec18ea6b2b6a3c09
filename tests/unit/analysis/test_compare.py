"""The comparison crowns no winner on a difference the data cannot support: differences
carry bootstrap intervals computed from the runs' requests, and verdicts follow them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from coldbench.analysis import stats
from coldbench.analysis.compare import recommend, row
from coldbench.analysis.differences import RunData, differences, lookup
from coldbench.record.summary import Cost, LostTelemetry, SloVerdict, Summary, Unmatched


def run(
    run_id: str,
    warm_ms: float,
    cold_ms: float,
    cold_n: int = 18,
    cost_ms: float = 10.0,
    ok: bool = True,
    seed: int = 0,
) -> RunData:
    """A run of 3,000 warm requests (normal around ``warm_ms``, 10% spread) and ``cold_n``
    cold ones around ``cold_ms``, billed ``cost_ms`` each."""
    rng = np.random.default_rng(seed)
    warm = rng.normal(warm_ms, warm_ms / 10, 3000)
    cold = rng.normal(cold_ms, cold_ms / 10, cold_n)
    joined = pd.DataFrame(
        {
            "class": ["warm"] * warm.size + ["cold"] * cold.size,
            "e2e_ms": np.concatenate([warm, cold]),
            "init_visible_ms": np.concatenate([np.zeros(warm.size), cold * 0.9]),
            "duration_ms": np.concatenate([warm, cold]) * 0.5,
            "outside_ms": np.concatenate([warm, cold]) * 0.1,
            "failed": False,
            "matched": True,
            "billed_duration_ms": cost_ms,
        }
    )
    classes = stats.group_stats(joined, "class")
    n = len(joined)
    compute = cost_ms / 1000 * 0.5 * 0.0000166667 * n
    summary = Summary(
        run_id=run_id,
        completed=True,
        requests=n,
        failures=0,
        failure_rate=0.0,
        throughput_rps=1.0,
        duration_s=1.0,
        matched=n,
        match_rate=1.0,
        unmatched=Unmatched(),
        lost_telemetry=LostTelemetry(),
        inconsistent_rows=0,
        probe_report_disagreements=0,
        cold_starts=cold_n,
        cold_share=cold_n / n,
        classes=classes,
        phases={},
        errors={},
        cost_usd=Cost(
            total=compute,
            compute=compute,
            provisioned=0.0,
            requests=0.0,
            per_million_requests=compute / n * 1e6,
            gb_seconds=0.0,
            invocations=n,
        ),
        slo=(SloVerdict("error_rate", 0.01, 0.0, ok),),
        target={"function": {"variant": run_id, "memory_mb": 512}},
    )
    return RunData(summary, joined)


def verdict_of(runs: list[RunData]) -> dict:
    return recommend([row(r.summary) for r in runs], lookup(differences(runs)))


def test_a_five_percent_warm_difference_is_no_winner_and_18_cold_starts_no_p99():
    """The card once crowned 256 MB 'fastest' on 4.75 vs 5.00 ms warm p99 while its cold
    p99 was 59% worse, from 18 cold starts."""
    verdict = verdict_of(
        [run("a", 4.75 / 1.25, 800.0, seed=1), run("b", 5.0 / 1.25, 503.0, seed=2)]
    )
    assert verdict["lowest_cold_p99"]["winner"] is None
    assert "n too small" in verdict["lowest_cold_p99"]["why"]
    same = verdict_of([run("a", 5.0, 800.0, seed=3), run("b", 5.0, 800.0, seed=4)])
    assert same["lowest_warm_p99"]["winner"] is None
    assert "no detectable difference" in same["lowest_warm_p99"]["why"]


def test_a_clear_difference_with_enough_samples_is_crowned_and_cost_needs_every_slo():
    verdict = verdict_of(
        [
            run("a", 4.0, 300.0, cold_n=400, cost_ms=5.0, ok=False, seed=5),
            run("b", 9.0, 900.0, cold_n=400, cost_ms=9.0, seed=6),
            run("c", 8.0, 700.0, cold_n=400, cost_ms=12.0, seed=7),
        ]
    )
    assert verdict["lowest_warm_p99"]["winner"] == "a 512 MB x86_64"
    assert verdict["lowest_cold_p99"]["winner"] == "a 512 MB x86_64"
    assert verdict["cheapest_meeting_slos"] == "b 512 MB x86_64", "a is cheaper but misses an SLO"


def test_differences_name_both_runs_the_metric_and_a_verdict():
    found = differences(
        [run("slow", 10.0, 900.0, cold_n=200, seed=8), run("fast", 5.0, 300.0, cold_n=200, seed=9)]
    )
    by_metric = {d["metric"]: d for d in found}
    cold = by_metric["cold.e2e_ms.p50"]
    assert (cold["baseline"], cold["run"], cold["verdict"]) == ("slow", "fast", "faster")
    assert cold["ci95"][0] < cold["diff"] < cold["ci95"][1] < 0
    assert cold["ratio"] < 0.5
    assert by_metric["cost_usd.per_million_requests"]["verdict"] == "no detectable difference"
    assert by_metric["warm.e2e_ms.p99"]["verdict"] == "faster"


def test_an_init_profiled_run_is_never_recommended():
    fast = {
        "run_id": "f",
        "label": "optimized (init profiled)",
        "slo_ok": True,
        "cost_per_million_usd": 0.1,
        "warm_p99_ms": 1.0,
        "cold_p99_ms": 1.0,
        "init_profiled": True,
    }
    plain = {
        **fast,
        "run_id": "n",
        "label": "naive",
        "cost_per_million_usd": 0.3,
        "init_profiled": False,
    }
    verdict = recommend([fast, plain])
    assert verdict["cheapest_meeting_slos"] == "naive"
    assert verdict["lowest_cold_p99"]["winner"] is None  # one candidate left: no contest
