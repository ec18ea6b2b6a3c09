"""``coldbench report`` numbers: join a run, compute everything, write the report folder.

Writes ``reports/<run-id>/summary.json`` (the :class:`Summary` contract other tools
read), ``joined.parquet`` (every request with its platform record and class) and
``timeseries.csv``. Rendering and console output live in :mod:`render` and
:mod:`console`.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from coldbench.analysis import causes, initprofile, keepalive, stats
from coldbench.analysis.join import (
    join_files,
    lean_columns,
    load_init,
    read_joined,
    write_joined,
)
from coldbench.record.config import Config
from coldbench.record.rundir import REPORTS_DIR, RunRecord, write_json_atomic
from coldbench.record.summary import (
    CLASSES,
    ClassStats,
    InitProfile,
    LostTelemetry,
    Summary,
    Unmatched,
    finite,
)


@dataclass(frozen=True)
class Analysis:
    summary: Summary
    joined: pd.DataFrame
    series: pd.DataFrame
    run: RunRecord
    report_dir: Path
    run_dir: Path


def analyse(run_dir: Path, config: Config, reports_root: Path = REPORTS_DIR) -> Analysis:
    """Join, classify and summarise one run; write its report folder (without HTML)."""
    run = RunRecord.read(run_dir)
    report_dir = reports_root / run.run_id
    report_dir.mkdir(parents=True, exist_ok=True)
    # Joined out of core into a file, then read back column by column: a run of
    # millions of requests is never held whole.
    raw = report_dir / "joined.raw.parquet"
    spill = report_dir / ".spill"
    join_files(run_dir, raw, spill, load_init(run_dir), run.blocks)
    # The columns the causes need first: DuckDB then writes joined.parquet on its own
    # threads while pandas, on one core, reads the rest and summarises.
    try:
        joined = read_joined(raw, causes.COLUMNS)
        cold_causes = causes.infer(joined, run.recycles)
        with ThreadPoolExecutor(max_workers=1) as pool:
            written = pool.submit(
                write_joined, raw, cold_causes, report_dir / "joined.parquet", spill
            )
            rest = [c for c in lean_columns(run.blocks) if c not in joined]
            for name, column in read_joined(raw, rest).items():
                joined[name] = column
            joined["cold_cause"] = cold_causes
            series = stats.timeseries(
                joined, run.started_ms / 1000, run.ended_ms / 1000 if run.ended_ms else None
            )
            summary = build_summary(run, joined, config, init_profile(run_dir, joined))
            written.result()
    finally:
        raw.unlink(missing_ok=True)
    write_json_atomic(report_dir / "summary.json", summary.to_dict())
    series.to_csv(report_dir / "timeseries.csv", index=False)
    return Analysis(summary, joined, series, run, report_dir, run_dir)


def init_profile(run_dir: Path, joined: pd.DataFrame) -> InitProfile | None:
    """The run's import-time profile, joined with its cold starts' Init Duration."""
    path = run_dir / "init_profile.jsonl"
    if not path.exists():
        return None
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    cold = joined[joined["init_duration_ms"].notna() & (joined["log_stream"].fillna("") != "")]
    init_ms = cold.groupby("log_stream")["init_duration_ms"].max().to_dict()
    return initprofile.aggregate(rows, init_ms)


def build_summary(
    run: RunRecord, df: pd.DataFrame, config: Config, profile: InitProfile | None = None
) -> Summary:
    requests = len(df)
    failures = int(df["failed"].sum())
    cancelled = int(df["cancelled"].sum())
    matched = int(df["matched"].sum())
    reached = int(df["reached"].sum())
    started = float(df["start_time"].min())
    ended = float((df["start_time"] + df["e2e_ms"] / 1000).max())
    span = max(ended - started, 1e-9)
    classes = {cls: ClassStats() for cls in CLASSES} | stats.group_stats(df, "class")
    answered = requests - cancelled  # the load's end cut the cancelled ones short
    failure_rate = failures / answered if answered else 0.0
    unmatched = unmatched_ids(df)
    platform_missing = missing_platform_data(run, matched, reached)
    failed = df.loc[df["failed"], ["error", "status"]]
    # Built on the failed rows alone: a series over all rows aligned onto an empty frame
    # once listed every successful request as an error.
    labels = failed["error"].where(
        failed["error"] != "", "HTTP " + failed["status"].astype("Int64").astype(str)
    )
    errors = labels.value_counts()
    platform_errors = df["error_type"].dropna().astype(str)
    function_errors = platform_errors[platform_errors != ""].value_counts()
    dropped = run.collection.logs_dropped if run.collection else {}
    function = run.target.function
    return Summary(
        run_id=run.run_id,
        completed=run.completed,
        requests=requests,
        failures=failures,
        failure_rate=failure_rate,
        throughput_rps=requests / span,
        duration_s=span,
        matched=matched,
        match_rate=matched / reached if reached else 0.0,
        unmatched=Unmatched(
            count=len(unmatched),
            with_request_id=int((unmatched != "").sum()),
            sample=tuple(unmatched.head(20).tolist()),
        ),
        lost_telemetry=LostTelemetry(
            log_events=int(dropped.get("events", 0)),
            report_records=int(dropped.get("reports", 0)),
        ),
        inconsistent_rows=int(df["inconsistent"].sum()),
        probe_report_disagreements=int(df["disagree"].sum()),
        cold_starts=classes["cold"].count,
        cold_share=classes["cold"].count / requests if requests else 0.0,
        classes=classes,
        phases=stats.group_stats(df, "phase"),
        errors={str(k): int(v) for k, v in errors.items()},
        function_errors={str(k): int(v) for k, v in function_errors.items()},
        cost_usd=stats.cost(df, config, function, span),
        slo=stats.slo_verdicts(classes, failure_rate, config, platform=not platform_missing),
        max_memory_used_mb=finite(float(df["max_memory_used_mb"].max())),
        memory_size_mb=function.memory_mb,
        reached=reached,
        throttled=int((df["status"] == 429).sum()),
        refused=int(df["status"].isin([403, 413]).sum()),
        unanswered=int(((df["status"].fillna(0) == 0) & ~df["cancelled"]).sum()),
        platform_missing=platform_missing,
        suppressed_inits=int(df["suppressed_init"].sum()),
        cancelled=cancelled,
        invocations_without_request=run.collection.without_request if run.collection else 0,
        environments=stats.environments(df),
        collection=asdict(run.collection) if run.collection else {},
        target=run.target.to_dict(),
        load=run.load,
        init_profile=profile,
        cold_causes=causes.counts(df["cold_cause"]) if "cold_cause" in df else {},
        keep_alive=keepalive.keep_alive(df),
        order=run.order,
        blocks=len(run.blocks),
        plan=run.plan,
        workers={str(k): int(v) for k, v in df["worker"].value_counts().sort_index().items() if v},
    )


def unmatched_ids(df: pd.DataFrame) -> pd.Series:
    """The request ids ('' where none) of requests that reached the function and found
    no REPORT record, earliest first (the join's ``unmatched_id``)."""
    mask = df["reached"] & ~df["matched"]
    found = pd.DataFrame(
        {"id": df.loc[mask, "unmatched_id"].fillna(""), "start_time": df.loc[mask, "start_time"]}
    )
    return found.sort_values("start_time", kind="stable")["id"]


def missing_platform_data(run: RunRecord, matched: int, reached: int) -> str:
    """Why a run has no platform data to join ("" when it has some)."""
    if matched or not reached:
        return ""
    collection = run.collection
    if collection is None:
        return f"its platform data was never collected (coldbench collect runs/{run.run_id})"
    if collection.error:
        return f"collection failed: {collection.error}"
    return "no REPORT record of the run was found in its log group"
