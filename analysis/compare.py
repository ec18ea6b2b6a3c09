"""Compare runs side by side: a table, two plots, differences with their intervals and
verdicts (:mod:`differences`), and a recommendation that names a configuration only
where the difference deciding it is real.

Natural uses: naive vs optimized, memory sizes, on-demand vs provisioned concurrency,
x86_64 vs arm64. Each run is labelled by what distinguishes it (variant, memory,
architecture, provisioned concurrency).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import pyarrow.parquet as pq

from coldbench.analysis import initprofile
from coldbench.analysis.differences import (
    COST,
    RESAMPLED,
    RunData,
    differences,
    is_better,
    lookup,
)
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
        "cold_causes": dict(summary.cold_causes),
        "blocks": summary.blocks,
        "ci95": {
            f"{cls}_{stat}_ms": summary.of(cls).e2e_ms.interval(stat)
            for cls in ("cold", "warm")
            for stat in ("p50", "p99")
        },
    }


def _why_not(found: Mapping, a: dict, b: dict, metric: str) -> str:
    entry = found.get((a["run_id"], b["run_id"], metric)) or found.get(
        (b["run_id"], a["run_id"], metric)
    )
    if entry is None or entry["ci95"] is None:
        return f"{a['label']} vs {b['label']}: n too small to tell"
    lo, hi = entry["ci95"]
    return (
        f"{a['label']} and {b['label']}: no detectable difference (95% interval of the "
        f"difference {lo:,.2f} to {hi:,.2f} includes zero)"
    )


def lowest(rows: list[dict], key: str, metric: str, found: Mapping) -> dict[str, Any]:
    """The run with the lowest ``key``, crowned only when it is really lower than the
    runner-up (the interval of their difference excludes zero)."""
    timed = sorted((r for r in rows if r[key] is not None), key=lambda r: r[key])
    if len(timed) < 2:
        return {"winner": None, "why": "fewer than two runs have this figure"}
    best, runner_up = timed[0], timed[1]
    if not is_better(found, best["run_id"], runner_up["run_id"], metric):
        return {"winner": None, "why": _why_not(found, best, runner_up, metric)}
    return {
        "winner": best["label"],
        "why": f"really below {runner_up['label']} (95% interval of the difference excludes zero)",
    }


def recommend(rows: list[dict], found: Mapping | None = None) -> dict:
    """The cheapest configuration meeting every SLO, and the lowest warm and cold p99,
    each named only where the difference that decides it is real. A run with init
    profiled is slower by its own measuring, so it is never a candidate."""
    found = found or {}
    rows = [r for r in rows if not r.get("init_profiled")]
    passing = sorted(
        (r for r in rows if r["slo_ok"] and r["cost_per_million_usd"] is not None),
        key=lambda r: r["cost_per_million_usd"],
    )
    cheapest, why = None, "none of the runs meets every SLO"
    if len(passing) == 1:
        cheapest, why = passing[0]["label"], "the only run meeting every SLO"
    elif passing:
        first, second = passing[0], passing[1]
        if is_better(found, first["run_id"], second["run_id"], COST):
            cheapest, why = first["label"], f"really cheaper than {second['label']}"
        else:
            why = _why_not(found, first, second, COST)
    return {
        "cheapest_meeting_slos": cheapest,
        "cheapest_why": why,
        "lowest_warm_p99": lowest(rows, "warm_p99_ms", "warm.e2e_ms.p99", found),
        "lowest_cold_p99": lowest(rows, "cold_p99_ms", "cold.e2e_ms.p99", found),
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
        heights = [r[key] or 0 for r in rows]
        spans = [r["ci95"].get(key) for r in rows]
        errors = [
            [max(h - s[0], 0) if s else 0 for h, s in zip(heights, spans, strict=True)],
            [max(s[1] - h, 0) if s else 0 for h, s in zip(heights, spans, strict=True)],
        ]
        ax.bar(
            [i + (offset - 1.5) * width for i in x],
            heights,
            width,
            label=key,
            color=colour,
            yerr=errors,
            capsize=2,
            error_kw={"elinewidth": 0.8},
        )
    ax.set_xticks(list(x), [r["label"] for r in rows], rotation=20, ha="right", fontsize=8)
    ax.set(yscale="log", ylabel="end-to-end ms (log)")
    ax.legend(fontsize=8)
    return figure(
        fig,
        "Cold and warm latency by run, with 95% intervals where the counts support them "
        "(none on a p99 from fewer than 100 requests). The gap between red and blue bars is "
        "what a cold start costs each configuration.",
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
    "cold starts by cause",
]


def _run_data(summaries: list[Summary], reports_root: Path) -> list[RunData] | None:
    """Each run's joined requests, for resampling; None when a report lacks them."""
    paths = [reports_root / s.run_id / "joined.parquet" for s in summaries]
    if not all(p.exists() for p in paths):
        return None
    return [RunData(s, _resampled(p)) for s, p in zip(summaries, paths, strict=True)]


def _resampled(path: Path) -> pd.DataFrame:
    """The columns a comparison resamples (a run of millions is several GB whole)."""
    present = set(pq.ParquetFile(path).schema_arrow.names)
    return pd.read_parquet(path, columns=[c for c in RESAMPLED if c in present])


ORDERS = {
    "interleaved": "Measured in interleaved blocks (A B B A …): drift over time landed on every "
    "configuration alike, and the intervals resample whole blocks.",
    "sequential": "Measured one configuration after another: a drift over time (the "
    "platform's load by hour, a neighbour) would read as a difference between them. "
    'sweep.order = "interleaved" guards against it.',
    "": "Runs measured apart (coldbench report --compare): a drift between them would read "
    "as a difference.",
}


def compare(
    summaries: list[Summary], reports_root: Path = Path("reports"), order: str = ""
) -> Path:
    """Write ``reports/compare-<time>/index.html`` and ``compare.json``; returns the page.
    ``order``: how the runs were measured (interleaved blocks, sequential, or apart)."""
    rows = [row(s) for s in summaries]
    data = _run_data(summaries, reports_root)
    found = differences(data) if data else []
    verdict = recommend(rows, lookup(found))
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
        {
            "runs": rows,
            "order": order,
            "recommendation": verdict,
            "differences": found,
            "init_profile_differences": init_differences,
        },
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
            ", ".join(f"{k} {v}" for k, v in r["cold_causes"].items()) or "-",
        ]
        for r in rows
    ]

    def crowned(judged: dict[str, Any]) -> str:
        return judged["winner"] or "no clear winner"

    cards = [
        (
            "cheapest meeting every SLO (cost per million invocations): " + verdict["cheapest_why"],
            verdict["cheapest_meeting_slos"] or "no clear choice",
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
        order=ORDERS[order],
        header=HEADER,
        table_rows=table_rows,
        figures=[plot_latency(rows), plot_cost(rows)],
        init_differences=init_differences,
        differences=[
            [
                d["baseline"],
                d["run"],
                d["metric"],
                d["baseline_value"],
                d["run_value"],
                d["diff"],
                "-" if d["ci95"] is None else f"[{d['ci95'][0]:,.2f}, {d['ci95'][1]:,.2f}]",
                d["verdict"] if d["ci95"] is not None else "n too small",
            ]
            for d in found
        ],
        differences_header=[
            "baseline",
            "run",
            "metric",
            "baseline",
            "run",
            "difference",
            "95% interval",
            "verdict",
        ],
        init_header=["module", "baseline ms", "run ms", "difference ms", "phase in run"],
    )
