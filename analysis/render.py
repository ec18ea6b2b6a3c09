"""Render ``reports/<run-id>/index.html``: one self-contained page (inline CSS and PNGs).

Verdicts and summary cards on top, then plots that each carry a one-line caption on
what to look for, then the statistics tables.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from coldbench.analysis.summary import Analysis

COLORS = {
    "cold": "#d62728",
    "proactive": "#ff7f0e",
    "provisioned": "#2ca02c",
    "warm": "#1f77b4",
    "unknown": "#7f7f7f",
}
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{margin-top:2rem;border-bottom:1px solid #ddd}
.meta{color:#555;font-size:.9rem} .cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.6rem 1rem;min-width:130px}
.card b{display:block;font-size:1.3rem} .ok{color:#2ca02c} .fail{color:#d62728}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0} td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
th{background:#f5f5f5} td:first-child,th:first-child{text-align:left}
figure{margin:1.2rem 0} figure img{max-width:100%} figcaption{color:#444;font-size:.9rem}
@media print{body{margin:0} figure{page-break-inside:avoid}}
"""


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _figure(fig, caption: str) -> str:
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{_png(fig)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def plot_latency_over_time(a: Analysis) -> str:
    df, t0 = a.joined, a.joined["start_time"].min()
    fig, ax = plt.subplots(figsize=(11, 3.6))
    for start, stage in _idle_windows(a.run):
        ax.axvspan(start, start + stage, color="#eee", label="_idle")
    for cls, group in df.groupby("class"):
        ax.scatter(
            group["start_time"] - t0,
            group["e2e_ms"],
            s=6 if cls == "warm" else 18,
            color=COLORS.get(cls, "k"),
            label=f"{cls} ({len(group)})",
            alpha=0.7,
        )
    ax.set(yscale="log", xlabel="seconds since start", ylabel="end-to-end ms")
    ax.legend(loc="upper right", fontsize=8)
    return _figure(
        fig,
        "End-to-end latency of every request; cold starts in red, idle gaps shaded. "
        "Look for red clusters right after each gap: that is what users wait for.",
    )


def _idle_windows(run: dict) -> list[tuple[float, float]]:
    windows, t = [], 0.0
    for stage in run.get("shape_table", []):
        if str(stage.get("phase", "")).endswith("-idle"):
            windows.append((t, stage["duration_s"]))
        t += stage["duration_s"]
    return windows


def plot_cdf(a: Analysis) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for cls, group in a.joined.groupby("class"):
        values = np.sort(group["e2e_ms"].to_numpy())
        ax.plot(
            values,
            np.arange(1, len(values) + 1) / len(values),
            color=COLORS.get(cls, "k"),
            label=cls,
        )
    ax.set(xscale="log", xlabel="end-to-end ms (log)", ylabel="fraction of requests")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _figure(
        fig,
        "Latency distributions by class (CDF). The horizontal distance between "
        "cold and warm is the cold-start penalty at each percentile.",
    )


def plot_breakdown(a: Analysis) -> str:
    df = a.joined[a.joined["matched"]]
    classes = [c for c in ("cold", "proactive", "provisioned", "warm") if (df["class"] == c).any()]
    parts = {"outside": "outside_ms", "init": "init_visible_ms", "in-function": "duration_ms"}
    fig, ax = plt.subplots(figsize=(7, 3.2))
    left = np.zeros(len(classes))
    for (label, column), color in zip(
        parts.items(), ("#9edae5", "#d62728", "#1f77b4"), strict=True
    ):
        means = np.array([df.loc[df["class"] == c, column].mean() for c in classes])
        ax.barh(classes, means, left=left, color=color, label=label)
        left += np.nan_to_num(means)
    ax.set(xlabel="mean ms")
    ax.legend(fontsize=8)
    return _figure(
        fig,
        "Where the time went (mean per request): outside the function "
        "(network, URL front end, queueing), visible init, and in-function Duration.",
    )


def plot_init_histogram(a: Analysis) -> str:
    init = a.joined["init_duration_ms"].dropna()
    fig, ax = plt.subplots(figsize=(7, 3))
    if len(init):
        ax.hist(init, bins=min(40, max(5, len(init))), color=COLORS["cold"])
    ax.set(xlabel="Init Duration ms (REPORT)", ylabel="environments")
    return _figure(
        fig,
        "Init Duration of every new environment. A wide spread points at "
        "CPU contention during init or imports that vary.",
    )


def plot_environments(a: Analysis) -> str:
    df = a.joined
    env = df["log_stream"].where(df["log_stream"].notna() & (df["log_stream"] != ""), df["env_id"])
    frame = df.assign(env=env)
    frame = frame[frame["env"].notna() & (frame["env"] != "")]
    t0 = df["start_time"].min()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 4.6), sharex=True)
    spans = frame.groupby("env")["start_time"].agg(["min", "max"]).sort_values("min")
    for i, (_, row) in enumerate(spans.iterrows()):
        bottom.plot([row["min"] - t0, row["max"] - t0], [i, i], color="#1f77b4", lw=2)
    seconds = np.arange(np.floor(df["start_time"].min()), np.ceil(df["start_time"].max()) + 1)
    alive = [((spans["min"] <= s + 1) & (spans["max"] >= s)).sum() for s in seconds]
    top.step(seconds - t0, alive, where="post", label="environments in use (requests)")
    metrics = a.run_dir / "metrics.csv"
    _overlay_metric(top, metrics, "ConcurrentExecutions", t0)
    top.set(ylabel="count")
    top.legend(fontsize=8)
    bottom.set(xlabel="seconds since start", ylabel="environment")
    return _figure(
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
        ax.plot(
            series["timestamp"] / 1000 - t0,
            series["value"],
            "o",
            ms=3,
            label=f"{name} (CloudWatch)",
        )


def plot_throughput(a: Analysis) -> str:
    s = a.series
    t0 = a.joined["start_time"].min()
    fig, ax = plt.subplots(figsize=(11, 3))
    ax.plot(s["second"] - t0, s["requests"], label="requests/s")
    ax.plot(s["second"] - t0, s["failures"], color=COLORS["cold"], label="failures/s")
    ax.set(xlabel="seconds since start", ylabel="per second")
    ax.legend(fontsize=8)
    return _figure(
        fig,
        "Throughput and errors per second. Dips at ramps that coincide with cold "
        "starts show users blocked on init.",
    )


def plot_memory(a: Analysis) -> str:
    used = a.joined["max_memory_used_mb"].dropna()
    size = a.summary.get("memory_size_mb") or 0
    fig, ax = plt.subplots(figsize=(7, 3))
    if len(used):
        ax.hist(used, bins=20, color="#9467bd")
    if size:
        ax.axvline(size, color="k", ls="--", label=f"memory size {size} MB")
        ax.legend(fontsize=8)
    ax.set(xlabel="Max Memory Used MB", ylabel="invocations")
    return _figure(
        fig,
        "Max Memory Used against the memory size. Far below it, a smaller size "
        "costs less, but on Lambda memory also buys CPU (and faster init).",
    )


def _table(rows: list[list], header: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _configured_runtime(fn: dict) -> str:
    """A local run says when the function is configured with another runtime for AWS."""
    configured = fn.get("configured_runtime")
    return f" (configured {html.escape(str(configured))} for AWS)" if configured else ""


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    return "-" if value is None else str(value)


def stats_table(groups: dict, measure: str = "e2e_ms") -> str:
    header = ["group", "count", "failures", "p50", "p90", "p95", "p99", "p99.9", "max", "mean"]
    rows = []
    for name, g in groups.items():
        if not g.get("count"):
            continue
        d = g.get(measure) or {}
        rows.append(
            [name, g["count"], g.get("failures", 0)]
            + [d.get(k) for k in ("p50", "p90", "p95", "p99", "p999", "max", "mean")]
        )
    return _table(rows, header)


def render(a: Analysis) -> Path:
    s = a.summary
    cards = _cards(s)
    verdicts = "".join(
        f'<span class="card {"ok" if v["ok"] else "fail"}"><b>{"PASS" if v["ok"] else "FAIL"}</b>'
        f"{html.escape(v['name'])} &lt; {v['threshold']:g}: {_fmt(v['actual'])}</span>"
        for v in s["slo"]
    )
    fn = s.get("target", {}).get("function", {})
    meta = (
        f"{html.escape(str(s['target'].get('kind')))} target {html.escape(str(s['target'].get('function_name')))}: "
        f"{fn.get('variant')} variant, {fn.get('memory_mb')} MB, {fn.get('architecture')}, "
        f"{fn.get('runtime')}{_configured_runtime(fn)}, CPU scaling {fn.get('cpu_scaling', 'AWS')}; shape "
        f"{html.escape(str(s['load'].get('shape')))} with {s['load'].get('users')} users"
    )
    plots = [
        plot_latency_over_time,
        plot_cdf,
        plot_breakdown,
        plot_init_histogram,
        plot_environments,
        plot_throughput,
        plot_memory,
    ]
    figures = "".join(plot(a) for plot in plots)
    errors = _table([[k, v] for k, v in s["errors"].items()], ["error", "count"])
    unmatched = s["unmatched"]
    lost = s["lost_telemetry"]
    lost_note = (
        f'<p class="fail"><b>{lost["log_events"]:,} log events were lost</b> before reaching '
        f"CloudWatch, {lost['report_records']:,} of them REPORT records: their requests have "
        "no in-function figures.</p>"
        if lost["log_events"]
        else ""
    )
    body = f"""<h1>coldbench report — {html.escape(s["run_id"])}</h1>
<p class="meta">{meta}</p>
{"" if s["completed"] else '<p class="fail"><b>This run did not complete</b>: figures cover what was recorded.</p>'}
{lost_note}
<h2>SLO verdicts</h2><div class="cards">{verdicts}</div>
<div class="cards">{cards}</div>
<h2>Plots</h2>{figures}
<h2>End-to-end by class (ms)</h2>{stats_table(s["classes"])}
<h2>In-function Duration by class (ms)</h2>{stats_table(s["classes"], "duration_ms")}
<h2>Outside the function by class (ms)</h2>{stats_table(s["classes"], "outside_ms")}
<h2>End-to-end by shape phase (ms)</h2>{stats_table(s["phases"])}
<h2>Failures by error</h2>{errors}
<h2>Unmatched requests</h2><p>{unmatched["count"]} request(s) without a REPORT record
({unmatched["with_request_id"]} with a request id). Sample: {html.escape(", ".join(unmatched["sample"][:10])) or "none"}</p>
<p class="meta">Probe/REPORT disagreements: {s["probe_report_disagreements"]}; rows whose parts exceed
their end-to-end time: {s["inconsistent_rows"]}.</p>"""
    page = f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>coldbench {html.escape(s["run_id"])}</title><style>{CSS}</style></head><body>{body}</body></html>'
    path = a.report_dir / "index.html"
    path.write_text(page)
    return path


def _cards(s: dict) -> str:
    classes = s["classes"]

    def p(cls: str, key: str):
        return (classes.get(cls) or {}).get("e2e_ms", {}).get(key)

    per_million = s["cost_usd"].get("per_million_requests")
    items = [
        ("requests", f"{s['requests']:,}"),
        ("failures", f"{s['failures']:,} ({s['failure_rate']:.2%})"),
        ("cold starts", f"{s['cold_starts']:,} ({s['cold_share']:.1%})"),
        ("cold p50 / p99 ms", f"{_fmt(p('cold', 'p50'))} / {_fmt(p('cold', 'p99'))}"),
        ("warm p50 / p99 ms", f"{_fmt(p('warm', 'p50'))} / {_fmt(p('warm', 'p99'))}"),
        ("matched REPORTs", f"{s['match_rate']:.1%}"),
        ("cost per million", "-" if per_million is None else f"${per_million:.2f}"),
    ]
    return "".join(
        f'<div class="card"><b>{html.escape(v)}</b>{html.escape(k)}</div>' for k, v in items
    )
