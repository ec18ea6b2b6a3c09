"""Render ``reports/<run-id>/index.html``: one self-contained page (inline CSS and PNGs).

Verdicts and summary cards on top, then plots that each carry a one-line caption on
what to look for, then the statistics tables. The page is the ``report.html.j2``
template; this module makes its plots and the values it shows.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection

from coldbench.analysis import initreport, keepalivereport
from coldbench.analysis.console import slo_number
from coldbench.analysis.html import Figure, figure, fmt, render_page
from coldbench.analysis.summary import Analysis
from coldbench.record.summary import ClassStats, Distribution, Summary

COLORS = {
    "cold": "#d62728",
    "proactive": "#ff7f0e",
    "provisioned": "#2ca02c",
    "warm": "#1f77b4",
    "unknown": "#7f7f7f",
}


def _t0(a: Analysis) -> float:
    """Every time axis counts from the run's start, as its idle windows do."""
    return a.run.started_ms / 1000


def _no_data(ax, what: str) -> None:
    """An empty plot says so, instead of showing an empty frame."""
    ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes, color="#555")


# Above this many warm requests a scatter is a blot that takes minutes to draw: they
# are drawn as a density instead (every one counted). Cold starts, failures and every
# other class are always drawn one by one.
DENSITY_ABOVE = 20_000
CDF_POINTS = 4_000  # a CDF's shape, plus its top CDF_TAIL values exactly
CDF_TAIL = 1_000


def plot_latency_over_time(a: Analysis) -> Figure:
    df, t0 = a.joined, _t0(a)
    fig, ax = plt.subplots(figsize=(11, 3.6))
    for start, stage in a.run.idle_windows():
        ax.axvspan(start, start + stage, color="#eee", label="_idle")
    dense = False
    for cls, group in df[["class", "start_time", "e2e_ms"]].groupby("class", observed=True):
        x, y = group["start_time"] - t0, group["e2e_ms"]
        if cls == "warm" and len(group) > DENSITY_ABOVE:
            dense = True
            positive = y > 0
            ax.hexbin(
                x[positive], y[positive], yscale="log", gridsize=(220, 50), bins="log",
                cmap="Blues", mincnt=1, linewidths=0, zorder=1,
            )  # fmt: skip
            ax.scatter(
                [],
                [],
                s=30,
                marker="h",
                color=COLORS["warm"],
                label=f"warm ({len(group)}, density)",
            )
            continue
        ax.scatter(
            x,
            y,
            s=6 if cls == "warm" else 18,
            color=COLORS.get(cls, "k"),
            label=f"{cls} ({len(group)})",
            alpha=0.7,
            zorder=2,
        )
    failed = df[df["failed"]]
    if len(failed):
        ax.scatter(
            failed["start_time"] - t0, failed["e2e_ms"].clip(lower=0.1), s=14, marker="x",
            color="k", label=f"failed ({len(failed)})", zorder=3,
        )  # fmt: skip
    ax.set(yscale="log", xlabel="seconds since start", ylabel="end-to-end ms")
    ax.legend(loc="upper right", fontsize=8)
    return figure(
        fig,
        "End-to-end latency of every request; cold starts in red, failures as black crosses, "
        "idle gaps shaded. Look for red clusters right after each gap: that is what users "
        "wait for."
        + (
            f" Warm requests (more than {DENSITY_ABOVE:,}) are drawn as a density: the "
            "darker the cell, the more requests."
            if dense
            else ""
        ),
    )


def cdf_points(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points of the empirical CDF of ``values`` to draw: all of them when few, else
    :data:`CDF_POINTS` spread evenly plus the top :data:`CDF_TAIL` exactly (where the
    tail's steps are the story). Each drawn point is exact."""
    ordered = np.sort(values)
    n = ordered.size
    if n <= CDF_POINTS + CDF_TAIL:
        index = np.arange(n)
    else:
        index = np.unique(
            np.concatenate(
                [np.linspace(0, n - 1, CDF_POINTS).astype(np.int64), np.arange(n - CDF_TAIL, n)]
            )
        )
    return ordered[index], (index + 1) / n


def plot_cdf(a: Analysis) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for cls, group in a.joined["e2e_ms"].groupby(a.joined["class"], observed=True):
        x, y = cdf_points(group.to_numpy())
        ax.plot(x, y, color=COLORS.get(cls, "k"), label=cls)
    ax.set(xscale="log", xlabel="end-to-end ms (log)", ylabel="fraction of requests")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return figure(
        fig,
        "Latency distributions by class (CDF). The horizontal distance between "
        "cold and warm is the cold-start penalty at each percentile.",
    )


def plot_breakdown(a: Analysis) -> Figure:
    parts = {"outside": "outside_ms", "init": "init_visible_ms", "in-function": "duration_ms"}
    df = a.joined.loc[a.joined["matched"], ["class", *parts.values()]]
    classes = [c for c in ("cold", "proactive", "provisioned", "warm") if (df["class"] == c).any()]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    left = np.zeros(len(classes))
    for (label, column), color in zip(
        parts.items(), ("#9edae5", "#d62728", "#1f77b4"), strict=True
    ):
        means = np.array([df.loc[df["class"] == c, column].mean() for c in classes])
        ax.barh(classes, means, left=left, color=color, label=label)
        left += np.nan_to_num(means)
    ax.set(xlabel="mean ms")
    if classes:
        ax.legend(fontsize=8)
    else:
        _no_data(ax, "no request joined with a REPORT record: no in-function time")
    return figure(
        fig,
        "Where the time went (mean per request): outside the function "
        "(network, URL front end, queueing), visible init, and in-function Duration.",
    )


CAUSE_COLORS = {
    "first": "#9467bd",
    "scale_out": "#d62728",
    "idle_eviction": "#1f77b4",
    "recycle": "#2ca02c",
    "after_error": "#000000",
    "proactive": "#ff7f0e",
    "unexplained": "#7f7f7f",
}


def plot_causes(a: Analysis) -> Figure:
    df = a.joined
    fig, ax = plt.subplots(figsize=(10, 3))
    marked = (
        df.loc[df["cold_cause"].notna(), ["cold_cause", "start_time", "e2e_ms"]]
        if "cold_cause" in df
        else df.iloc[0:0]
    )
    for cause, color in CAUSE_COLORS.items():
        part = marked[marked["cold_cause"] == cause]
        if len(part):
            ax.scatter(
                part["start_time"] - _t0(a), part["e2e_ms"], s=14, color=color,
                label=f"{cause} ({len(part)})",
            )  # fmt: skip
    for start, length in a.run.idle_windows():
        ax.axvspan(start, start + length, color="#eee", zorder=0)
    for began, _ in a.run.recycles:
        ax.axvline(began - _t0(a), color=CAUSE_COLORS["recycle"], linestyle=":", linewidth=1)
    if len(marked):
        ax.legend(fontsize=8, loc="best", ncols=4)
    else:
        _no_data(ax, "no cold start")
    ax.set(xlabel="seconds since start", ylabel="cold start e2e ms")
    return figure(
        fig,
        "Why each cold start happened: the first environments, scale-out (every environment "
        "busy), idle eviction (an environment's keep-alive ran out), a recycle (dotted lines), "
        "a crash or timeout, or init done before the request (proactive). Idle gaps shaded.",
    )


def plot_init_histogram(a: Analysis) -> Figure:
    init = a.joined["init_duration_ms"].dropna()
    fig, ax = plt.subplots(figsize=(7, 3))
    if len(init):
        ax.hist(init, bins=min(40, max(5, len(init))), color=COLORS["cold"])
    else:
        _no_data(ax, "no cold start with an Init Duration")
    ax.set(xlabel="Init Duration ms (REPORT)", ylabel="environments")
    return figure(
        fig,
        "Init Duration of every new environment. A wide spread points at "
        "CPU contention during init or imports that vary.",
    )


def plot_environments(a: Analysis) -> Figure:
    df = a.joined
    frame = pd.DataFrame(
        {
            "env": df["environment"],
            "start_time": df["start_time"],
            "end_time": df["start_time"] + df["e2e_ms"] / 1000,
        }
    )
    frame = frame[frame["env"] != ""]
    t0 = _t0(a)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 4.6), sharex=True)
    spans = frame.groupby("env", observed=True).agg(
        first=("start_time", "min"), last=("end_time", "max")
    )
    spans = spans.sort_values("first")
    # One line per environment, a marker at each end: an environment that served one
    # request is a point, not a line of zero length that no one would see.
    first, last = spans["first"].to_numpy() - t0, spans["last"].to_numpy() - t0
    rows = np.arange(len(spans))
    segments = list(np.stack([np.c_[first, rows], np.c_[last, rows]], axis=1))
    bottom.add_collection(LineCollection(segments, colors="#1f77b4", lw=2))
    bottom.scatter(np.r_[first, last], np.r_[rows, rows], marker="|", color="#1f77b4", s=20)
    bottom.autoscale_view()
    if spans.empty:
        _no_data(bottom, "no environment ids (no probe and no REPORT records)")
    seconds = np.arange(0, np.ceil(df["start_time"].max() - t0) + 1)
    # In use in second s: began before s + 1 and ended at or after s (a running count).
    began = np.searchsorted(np.sort(first), seconds + 1, side="left")
    ended = np.searchsorted(np.sort(last), seconds, side="left")
    alive = began - ended
    top.step(seconds, alive, where="post", label="environments in use (requests)")
    metrics = a.run_dir / "metrics.csv"
    _overlay_metric(top, metrics, "ConcurrentExecutions", t0)
    top.set(ylabel="count")
    top.legend(fontsize=8)
    bottom.set(xlabel="seconds since start", ylabel="environment")
    return figure(
        fig,
        "Environments over time against the ConcurrentExecutions metric, and each "
        "environment's lifeline. New lines after a gap are the cold starts.",
    )


def _overlay_metric(ax, path: Path, name: str, t0: float) -> None:
    if not path.exists():
        return
    metrics = pd.read_csv(path)
    series = metrics[(metrics["metric"] == name)]
    if len(series):
        # A datapoint's timestamp is the start of its period: drawn across the period.
        ax.step(
            series["timestamp"] / 1000 - t0,
            series["value"],
            where="post",
            marker="o",
            ms=3,
            label=f"{name} (CloudWatch, max per period)",
        )


def plot_throughput(a: Analysis) -> Figure:
    s = a.series
    fig, ax = plt.subplots(figsize=(11, 3))
    # Each second drawn at its middle; a partial last second divided by its length.
    middle = s["t_s"] + s["covered_s"].clip(lower=1e-9) / 2
    failures = s["failures"] / s["covered_s"].where(s["covered_s"] > 0)
    ax.plot(middle, s["requests_per_s"], label="requests/s")
    ax.plot(middle, failures.fillna(0), color=COLORS["cold"], label="failures/s")
    ax.set(xlabel="seconds since start", ylabel="per second")
    ax.legend(fontsize=8)
    return figure(
        fig,
        "Throughput and errors per second. Dips at ramps that coincide with cold "
        "starts show users blocked on init.",
    )


def plot_memory(a: Analysis) -> Figure:
    used = a.joined["max_memory_used_mb"].dropna()
    size = a.summary.memory_size_mb or 0
    fig, ax = plt.subplots(figsize=(7, 3))
    if len(used):
        # Bins over the whole axis (0 to the memory size), at least 1 MB wide: a value
        # every REPORT shares is a visible bar, not a sliver on a 0-512 MB axis.
        top = max(float(used.max()), float(size)) + 1
        bins = np.arange(0, top + 1, max(1.0, top / 64)).tolist()
        ax.hist(used, bins=bins, color="#9467bd")
    else:
        _no_data(ax, "no REPORT records")
    if size:
        ax.axvline(size, color="k", ls="--", label=f"memory size {size} MB")
        ax.legend(fontsize=8)
    ax.set(xlabel="Max Memory Used MB", ylabel="invocations")
    return figure(
        fig,
        "Max Memory Used against the memory size. Far below it, a smaller size "
        "costs less, but on Lambda memory also buys CPU (and faster init).",
    )


MEASURES = ("e2e_ms", "duration_ms", "outside_ms")
STATS_HEADER = ["group", "count", "failures", "p50", "p90", "p95", "p99", "p99.9", "max", "mean"]
PLOTS = (
    plot_latency_over_time,
    plot_causes,
    plot_cdf,
    plot_breakdown,
    plot_init_histogram,
    plot_environments,
    plot_throughput,
    plot_memory,
)


def with_ci(d: Distribution, stat: str) -> str:
    """A figure and its 95% interval, or what keeps it from having one."""
    value = getattr(d, stat)
    if value is None:
        return "-"
    found = d.interval(stat)
    if found is None:
        return f"{fmt(value)} (n too small)"
    return f"{fmt(value)} [{fmt(found[0])}, {fmt(found[1])}]"


def stats_rows(groups: dict[str, ClassStats], measure: str = "e2e_ms") -> list[list]:
    """One table row per group that had requests: count, failures, the distribution
    (p50, p90, p99 and the mean with their 95% intervals)."""
    rows = []
    for name, g in groups.items():
        if not g.count:
            continue
        d = getattr(g, measure)
        rows.append(
            [
                name,
                g.count,
                g.failures,
                with_ci(d, "p50"),
                with_ci(d, "p90"),
                d.p95,
                with_ci(d, "p99"),
                d.p999,
                d.max,
                with_ci(d, "mean"),
            ]
        )
    return rows


def cards(s: Summary) -> list[tuple[str, str]]:
    cold, warm = s.of("cold").e2e_ms, s.of("warm").e2e_ms
    per_million = s.cost_usd.per_million_requests
    items = [
        ("requests", f"{s.requests:,}"),
        ("failures", f"{s.failures:,} ({s.failure_rate:.2%})"),
        ("cold starts", f"{s.cold_starts:,} ({s.cold_share:.1%})"),
        ("cold p50 / p99 ms", f"{fmt(cold.p50)} / {fmt(cold.p99)}"),
        ("warm p50 / p99 ms", f"{fmt(warm.p50)} / {fmt(warm.p99)}"),
        (f"matched REPORTs, of {s.reached:,} that reached the function", f"{s.match_rate:.1%}"),
    ]
    if s.throttled:
        items.append(("throttled (429): never reached the function", f"{s.throttled:,}"))
    items.append(
        (
            f"cost per million invocations ({s.cost_usd.invocations:,} billed)",
            "-" if per_million is None else f"${per_million:.2f}",
        )
    )
    return items


def meta(s: Summary) -> str:
    fn = s.function
    configured = fn.configured_runtime
    runtime = fn.runtime + (f" (configured {configured} for AWS)" if configured else "")
    return (
        f"{s.target.get('kind')} target {s.target.get('function_name')}: "
        f"{fn.variant} variant, {fn.memory_mb} MB, {fn.architecture}, "
        f"{runtime}, CPU scaling {fn.cpu_scaling}; shape "
        f"{s.load.get('shape')} with {s.load.get('users')} users"
    )


def render(a: Analysis) -> Path:
    s = a.summary
    profile = s.init_profile
    return render_page(
        "report.html.j2",
        a.report_dir / "index.html",
        s=s,
        meta=meta(s),
        cards=cards(s),
        figures=[plot(a) for plot in PLOTS],
        stats_header=STATS_HEADER,
        class_rows={m: stats_rows(dict(s.classes), m) for m in MEASURES},
        phase_rows={m: stats_rows(dict(s.phases), m) for m in MEASURES},
        slo_number=slo_number,
        keep_alive_figure=keepalivereport.plot(s.keep_alive) if s.keep_alive else None,
        keep_alive_rows=keepalivereport.rows(s.keep_alive) if s.keep_alive else [],
        init_figure=initreport.plot(profile) if profile else None,
        init_header=initreport.HEADER,
        init_rows=initreport.rows(profile) if profile else [],
        lazy_imports=initreport.lazy_roots(profile) if profile else [],
    )
