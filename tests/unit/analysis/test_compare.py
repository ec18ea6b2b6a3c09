"""The comparison crowns no winner on a difference the data cannot support."""

from __future__ import annotations

from coldbench.analysis.compare import recommend


def row(label, warm_p99, cold_p99, warm_n=5000, cold_n=18, cost=1.0, ok=True):
    return {
        "label": label,
        "warm_p99_ms": warm_p99,
        "cold_p99_ms": cold_p99,
        "warm_count": warm_n,
        "cold_count": cold_n,
        "cost_per_million_usd": cost,
        "slo_ok": ok,
    }


def test_a_five_percent_warm_difference_is_no_winner_and_18_cold_starts_no_p99():
    """The card once crowned 256 MB 'fastest' on 4.75 vs 5.00 ms warm p99 while its cold
    p99 was 59% worse, from 18 cold starts."""
    verdict = recommend([row("256 MB", 4.75, 800.0), row("512 MB", 5.00, 503.0)])
    assert verdict["lowest_warm_p99"]["winner"] is None
    assert "within 10%" in verdict["lowest_warm_p99"]["why"]
    assert verdict["lowest_cold_p99"]["winner"] is None
    assert "n too small" in verdict["lowest_cold_p99"]["why"]


def test_a_clear_difference_with_enough_samples_is_crowned_and_cost_needs_every_slo():
    verdict = recommend(
        [
            row("a", 4.0, 300.0, cold_n=400, cost=0.5, ok=False),
            row("b", 9.0, 900.0, cold_n=400, cost=0.9),
            row("c", 8.0, 700.0, cold_n=400, cost=1.2),
        ]
    )
    assert verdict["lowest_warm_p99"]["winner"] == "a"
    assert verdict["lowest_cold_p99"]["winner"] == "a"
    assert verdict["cheapest_meeting_slos"] == "b", "a is cheaper but misses an SLO"


def test_an_init_profiled_run_is_never_recommended():
    from coldbench.analysis.compare import recommend

    fast = {
        "label": "optimized (init profiled)",
        "slo_ok": True,
        "cost_per_million_usd": 0.1,
        "warm_p99_ms": 1.0,
        "cold_p99_ms": 1.0,
        "warm_count": 500,
        "cold_count": 500,
        "init_profiled": True,
    }
    plain = {**fast, "label": "naive", "cost_per_million_usd": 0.3, "init_profiled": False}
    verdict = recommend([fast, plain])
    assert verdict["cheapest_meeting_slos"] == "naive"
    assert verdict["lowest_cold_p99"]["winner"] is None  # one candidate left: no contest
