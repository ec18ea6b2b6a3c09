"""Compare runs side by side: a table, two plots, and a recommendation.

Natural uses: naive vs optimized, memory sizes, on-demand vs provisioned concurrency,
x86_64 vs arm64. Each run is labelled by what distinguishes it (variant, memory,
architecture, provisioned concurrency).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from coldbench.analysis import initprofile
from coldbench.analysis.html import Figure, figure, render_page
from coldbench.record.rundir import write_json_atomic
from coldbench.record.summary import Summary


def label(summary: Summary) -> str:
    fn = summary.function
    parts = [fn.variant, f"{fn.memory_mb} MB", fn.architecture]
    if fn.provisioned_concurrency:
        parts.append(f"PC {fn.provisioned_concurrency}")
    if fn.profile_init:
        parts.append("(init profiled)")
    return " ".join(p for p in parts if p)


def row(summary: Summary) -> dict[str, Any]:
    cold, warm = summary.of("cold"), summary.of("warm")
    return {
        "run_id": summary.run_id,
        "label": label(summary),
        "requests": summary.requests,
        "cold_share": summary.cold_share,
        "cold_count": cold.count,
        "warm_count": warm.count,
        "cold_p50_ms": cold.e2e_ms.p50,
        "cold_p99_ms": cold.e2e_ms.p99,
        "warm_p50_ms": warm.e2e_ms.p50,
        "warm_p99_ms": warm.e2e_ms.p99,
        "init_p50_ms": cold.init_ms.p50,
        "cost_per_million_usd": summary.cost_usd.per_million_requests,
        "slo_ok": summary.slo_ok,
        "failure_rate": summary.failure_rate,
        "init_profiled": summary.function.profile_init,
    }


# Until every figure carries its confidence interval, a winner is crowned on a p99 only
# when every run has enough requests of that class for a p99 to mean something, and the
# best beats the runner-up by more than run-to-run noise does on this kind of machine.
MIN_SAMPLES_FOR_P99 = 100
MIN_RELATIVE_GAP = 0.10


def lowest(rows: list[dict], key: str, count_key: str) -> dict[str, Any]:
    """The run with the lowest ``key``, or none with the reason the data cannot tell."""
    timed = sorted((r for r in rows if r[key] is not None), key=lambda r: r[key])
    if len(timed) < 2:
        return {"winner": None, "why": "fewer than two runs have this figure"}
    thin = [r["label"] for r in timed if r[count_key] < MIN_SAMPLES_FOR_P99]
    if thin:
        return {
            "winner": None,
            "why": f"n too small for a p99 (< {MIN_SAMPLES_FOR_P99}): {', '.join(thin)}",
        }
    best, runner_up = timed[0], timed[1]
    gap = (runner_up[key] - best[key]) / runner_up[key] if runner_up[key] else 0.0
    if gap <= MIN_RELATIVE_GAP:
        return {
            "winner": None,
            "why": f"{best['label']} and {runner_up['label']} are within "
            f"{MIN_RELATIVE_GAP:.0%} of each other ({gap:.1%}): not a real difference",
        }
    return {"winner": best["label"], "why": f"{gap:.0%} below {runner_up['label']}"}


def recommend(rows: list[dict]) -> dict:
    """The cheapest configuration meeting every SLO, and the lowest warm and cold p99,
    each crowned only on a difference the data can support. A run with init profiled is
    slower by its own measuring, so it is never a candidate."""
    rows = [r for r in rows if not r.get("init_profiled")]
    passing = [r for r in rows if r["slo_ok"] and r["cost_per_million_usd"] is not None]
    cheapest = min(passing, key=lambda r: r["cost_per_million_usd"], default=None)
    return {
        "cheapest_meeting_slos": cheapest and cheapest["label"],
        "lowest_warm_p99": lowest(rows, "warm_p99_ms", "warm_count"),
        "lowest_cold_p99": lowest(rows, "cold_p99_ms", "cold_count"),
    }


def plot_latency(rows: list[dict]) -> Figure:
    fig, ax = plt.subplots(figsize=(10, 3.6))
    x = range(len(rows))
    width = 0.2
    for offset, (key, colour) in enumerate(
        (
            ("cold_p50_ms", "#f4a3a3"),
            ("cold_p99_ms", "#d62728"),
            ("warm_p50_ms", "#9ecae1"),
            ("warm_p99_ms", "#1f77b4"),
        )
    ):
        ax.bar(
            [i + (offset - 1.5) * width for i in x],
            [r[key] or 0 for r in rows],
            width,
            label=key,
            color=colour,
        )
    ax.set_xticks(list(x), [r["label"] for r in rows], rotation=20, ha="right", fontsize=8)
    ax.set(yscale="log", ylabel="end-to-end ms (log)")
    ax.legend(fontsize=8)
    return figure(
        fig,
        "Cold and warm latency by run. The gap between red and blue bars is what a cold start costs each configuration.",
    )


def plot_cost(rows: list[dict]) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in rows:
        if r["cost_per_million_usd"] is None:
            continue
        marker = "o" if r["slo_ok"] else "x"
        ax.scatter(r["cost_per_million_usd"], r["cold_p99_ms"] or 0, marker=marker, s=50)
        ax.annotate(r["label"], (r["cost_per_million_usd"], r["cold_p99_ms"] or 0), fontsize=7)
    ax.set(xlabel="cost per million requests (USD)", ylabel="cold p99 ms", yscale="log")
    return figure(
        fig, "Cost against cold-start latency (x = misses an SLO). Down and to the left is better."
    )


HEADER = [
    "run",
    "configuration",
    "requests",
    "cold share",
    "cold p50",
    "cold p99",
    "warm p50",
    "warm p99",
    "init p50",
    "$ / million",
    "SLOs",
]


def compare(summaries: list[Summary], reports_root: Path = Path("reports")) -> Path:
    """Write ``reports/compare-<time>/index.html`` and ``compare.json``; returns the page."""
    rows = [row(s) for s in summaries]
    verdict = recommend(rows)
    out = reports_root / f"compare-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    out.mkdir(parents=True, exist_ok=True)
    profiles = [(s.run_id, s.init_profile) for s in summaries if s.init_profile is not None]
    init_differences = [
        {
            "baseline": profiles[0][0],
            "run": run_id,
            "init_ms_p50": [profiles[0][1].init_ms_p50, profile.init_ms_p50],
            "modules": initprofile.differences(profiles[0][1], profile),
        }
        for run_id, profile in profiles[1:]
    ]
    write_json_atomic(
        out / "compare.json",
        {"runs": rows, "recommendation": verdict, "init_profile_differences": init_differences},
    )
    table_rows = [
        [
            r["run_id"],
            r["label"],
            r["requests"],
            f"{r['cold_share']:.1%}",
            r["cold_p50_ms"],
            r["cold_p99_ms"],
            r["warm_p50_ms"],
            r["warm_p99_ms"],
            r["init_p50_ms"],
            None if r["cost_per_million_usd"] is None else f"{r['cost_per_million_usd']:.4f}",
            "pass" if r["slo_ok"] else "FAIL",
        ]
        for r in rows
    ]

    def crowned(judged: dict[str, Any]) -> str:
        return judged["winner"] or "no clear winner"

    cards = [
        (
            "cheapest meeting every SLO (cost per million invocations)",
            verdict["cheapest_meeting_slos"] or "none of the runs meets every SLO",
        ),
        (
            "lowest warm p99, end to end: " + verdict["lowest_warm_p99"]["why"],
            crowned(verdict["lowest_warm_p99"]),
        ),
        (
            "lowest cold p99, end to end: " + verdict["lowest_cold_p99"]["why"],
            crowned(verdict["lowest_cold_p99"]),
        ),
    ]
    return render_page(
        "compare.html.j2",
        out / "index.html",
        rows=rows,
        cards=cards,
        header=HEADER,
        table_rows=table_rows,
        figures=[plot_latency(rows), plot_cost(rows)],
        init_differences=init_differences,
        init_header=["module", "baseline ms", "run ms", "difference ms", "phase in run"],
    )
