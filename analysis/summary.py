"""``coldbench report`` numbers: join a run, compute everything, write the report folder.

Writes ``reports/<run-id>/summary.json`` (the contract other tools read),
``joined.parquet`` (every request with its platform record and class) and
``timeseries.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from coldbench.analysis import stats
from coldbench.analysis.join import CLASSES, join, load_platform, load_requests
from coldbench.record.config import Config
from coldbench.record.rundir import read_run_json, write_json_atomic

REPORTS_DIR = Path("reports")


@dataclass(frozen=True)
class Analysis:
    summary: dict
    joined: pd.DataFrame
    series: pd.DataFrame
    run: dict
    report_dir: Path
    run_dir: Path


def analyse(run_dir: Path, config: Config, reports_root: Path = REPORTS_DIR) -> Analysis:
    """Join, classify and summarise one run; write its report folder (without HTML)."""
    run = read_run_json(run_dir)
    joined = join(load_requests(run_dir), load_platform(run_dir))
    series = stats.timeseries(joined)
    summary = build_summary(run, joined, config)
    report_dir = reports_root / run["run_id"]
    report_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(report_dir / "summary.json", _clean(summary))
    joined.to_parquet(report_dir / "joined.parquet", index=False)
    series.to_csv(report_dir / "timeseries.csv", index=False)
    return Analysis(summary, joined, series, run, report_dir, run_dir)


def build_summary(run: dict, df: pd.DataFrame, config: Config) -> dict:
    requests = len(df)
    failures = int((df["ok"] != 1).sum())
    matched = int(df["matched"].sum())
    invoked = int((df["request_id"] != "").sum())
    started = float(df["start_time"].min())
    ended = float((df["start_time"] + df["e2e_ms"] / 1000).max())
    span = max(ended - started, 1e-9)
    classes = stats.group_stats(df, "class")
    for cls in CLASSES:
        classes.setdefault(cls, {"count": 0, "failures": 0})
    failure_rate = failures / requests if requests else 0.0
    target_fn = (run.get("target") or {}).get("function", {})
    unmatched = df[~df["matched"]]
    errors = (
        df[df["ok"] != 1]
        .assign(
            error=df["error"].where(
                df["error"] != "", "HTTP " + df["status"].astype("Int64").astype(str)
            )
        )
        .groupby("error")
        .size()
        .sort_values(ascending=False)
    )
    dropped = run.get("collection", {}).get("logs_dropped") or {}
    summary = {
        "run_id": run["run_id"],
        "completed": bool(run.get("completed")),
        "collection": run.get("collection", {}),
        "target": run.get("target", {}),
        "load": run.get("load", {}),
        "requests": requests,
        "failures": failures,
        "failure_rate": failure_rate,
        "throughput_rps": requests / span,
        "duration_s": span,
        "matched": matched,
        "match_rate": matched / invoked if invoked else 0.0,
        "unmatched": {
            "count": len(unmatched),
            "with_request_id": int((unmatched["request_id"] != "").sum()),
            "sample": unmatched["request_id"].head(20).tolist(),
        },
        # What the platform said it lost before CloudWatch (platform.logsDropped).
        "lost_telemetry": {
            "log_events": int(dropped.get("events", 0)),
            "report_records": int(dropped.get("reports", 0)),
        },
        "inconsistent_rows": int(df["inconsistent"].sum()),
        "probe_report_disagreements": int(df["disagree"].sum()),
        "cold_starts": int(classes["cold"]["count"]),
        "cold_share": classes["cold"]["count"] / requests if requests else 0.0,
        "classes": classes,
        "phases": stats.group_stats(df, "phase"),
        "environments": stats.environments(df),
        "errors": {str(k): int(v) for k, v in errors.items()},
        "max_memory_used_mb": stats.finite(float(df["max_memory_used_mb"].max())),
        "memory_size_mb": target_fn.get("memory_mb"),
        "cost_usd": stats.cost(df, config, target_fn, span),
    }
    summary["slo"] = stats.slo_verdicts(classes, failure_rate, config)
    summary["slo_ok"] = all(v["ok"] for v in summary["slo"])
    return summary


def _clean(value):
    """Make a summary JSON-safe (NaN -> None, numpy scalars -> Python)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    return stats.finite(value)


def one_screen(summary: dict) -> str:
    """The summary printed after a run."""
    classes = summary["classes"]

    def ms(cls: str, key: str) -> str:
        value = (classes.get(cls) or {}).get("e2e_ms", {}).get(key)
        return f"{value:8.1f}" if value is not None else "       -"

    cost = summary["cost_usd"]
    per_million = cost.get("per_million_requests")
    lines = [
        f"run {summary['run_id']}: {summary['requests']} requests, {summary['failures']} failed "
        f"({summary['failure_rate']:.2%}), {summary['throughput_rps']:.1f} req/s",
        f"joined with REPORT records: {summary['matched']} ({summary['match_rate']:.1%})",
        f"{'class':<12}{'count':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}",
    ]
    for cls in ("cold", "proactive", "provisioned", "warm", "unknown"):
        count = (classes.get(cls) or {}).get("count", 0)
        if count:
            lines.append(f"{cls:<12}{count:>8}{ms(cls, 'p50')} {ms(cls, 'p99')} {ms(cls, 'max')}")
    envs = summary["environments"]
    lines.append(
        f"environments: {envs.get('count', 0)}; cold starts: {summary['cold_starts']} "
        f"({summary['cold_share']:.1%} of requests)"
    )
    if per_million is not None:
        lines.append(
            f"cost: ${cost['total']:.6f} this run, ${per_million:.2f} per million requests"
        )
    for verdict in summary["slo"]:
        actual = verdict["actual"]
        shown = "n/a" if actual is None else f"{actual:.4g}"
        lines.append(
            f"SLO {verdict['name']} < {verdict['threshold']:g}: {shown} "
            f"{'PASS' if verdict['ok'] else 'FAIL'}"
        )
    lost = summary["lost_telemetry"]
    if lost["log_events"]:
        lines.append(
            f"WARNING: {lost['log_events']} log events were lost before reaching CloudWatch, "
            f"{lost['report_records']} of them REPORT records: in-function figures miss them"
        )
    if not summary["completed"]:
        lines.append("NOTE: the run did not complete; figures cover what was recorded")
    return "\n".join(lines)
