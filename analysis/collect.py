"""``coldbench collect``: a run's REPORT records and ``AWS/Lambda`` metrics into its folder.

Logs arrive late on AWS, so collection reads again until the records cover the run's
invocations or stop growing, bounded by ``wait_s``, with a progress line and an
estimate of the time left. The run's span is read a minute at a time, several minutes
at once; a minute read once the ingestion lag has passed is kept
(:mod:`checkpoint`), so a killed ``collect`` resumes where it stopped and each polling
round reads only the minutes still open. What it found
is written to ``platform.jsonl`` and ``metrics.csv``, and how complete it is to
``run.json`` (``collection``). Reading CloudWatch is :mod:`cloudwatch`'s job.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from coldbench.analysis.checkpoint import Checkpoint
from coldbench.analysis.cloudwatch import (
    client,
    fetch_init_records,
    fetch_logs_dropped,
    fetch_metrics,
    fetch_profile_events,
    read_windows,
    windows_of,
)
from coldbench.analysis.errors import CollectError
from coldbench.analysis.initprofile import parse_events
from coldbench.record.files import open_atomic
from coldbench.record.progress import Progress
from coldbench.record.rundir import (
    INIT_FIELDS,
    METRIC_COLUMNS,
    PLATFORM_FIELDS,
    PROFILE_FIELDS,
    Collection,
    RunRecord,
    reached_function,
)
from coldbench.record.target import Target

WINDOW_MS = 60_000  # REPORT records are read (and kept for a resumed collect) a minute at a time


@dataclass(frozen=True)
class CollectResult:
    records: int
    expected: int
    skipped_events: int
    complete: bool
    metrics_rows: int
    logs_dropped: dict[str, int]


def recorded_requests(run_dir: Path) -> tuple[int, set[str]]:
    """In one pass over the run's rows: how many requests reached the function (had a
    request id and were not refused), and every request id the client recorded."""
    reached, ids = 0, set()
    for path in sorted(run_dir.glob("requests*.csv")):
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                request_id = row.get("request_id") or ""
                reached += reached_function(request_id, row.get("status") or "")
                ids.add(request_id)
    return reached, ids - {""}


def collect(
    run_dir: Path, wait_s: float = 60.0, settle_s: float | None = None, progress: bool = True
) -> CollectResult:
    """Collect REPORT records and metrics for a run; writes platform.jsonl and metrics.csv.

    Raises:
        CollectError: CloudWatch refused or could not be reached (names the call).
    """
    run = RunRecord.read(run_dir)
    target = run.target
    logs = client(target, "logs")
    start_ms = run.started_ms - 30_000
    end_ms = (run.ended_ms or int(time.time() * 1000)) + 120_000
    json_format = target.function.log_format == "JSON"
    pattern = '"platform.report"' if json_format else '"REPORT RequestId"'
    expected, requested = recorded_requests(run_dir)
    settle_s = settle_s if settle_s is not None else (3.0 if target.kind == "local" else 60.0)
    deadline = time.monotonic() + wait_s
    bar = Progress("collect", expected, "REPORT records") if progress else None
    found: dict[str, dict] = {}
    dropped = {"events": 0, "bytes": 0, "reports": 0, "records": 0}
    skipped, last_count, last_growth, error = 0, -1, time.monotonic(), ""
    others: dict[str, dict] = {}
    windows = windows_of(start_ms, end_ms, WINDOW_MS)
    checkpoint = Checkpoint(run_dir, target.log_group, pattern)
    final = checkpoint.load(windows)  # read for good by an earlier collect
    if final and bar:
        print(
            f"collect: resuming: {len(final)}/{len(windows)} windows already read", file=sys.stderr
        )
    latest: dict = {}
    began = time.monotonic()
    try:
        while True:
            read_at_ms = time.time() * 1000
            pending = [w for w in windows if w not in final]
            for window, records, skipped_here in read_windows(
                logs, target.log_group, pattern, pending
            ):
                latest[window] = (records, skipped_here)
                if read_at_ms - window[1] >= 2 * settle_s * 1000:  # past the ingestion lag
                    checkpoint.keep(window, records, skipped_here)
                    final[window] = latest.pop(window)
            found, skipped = _records({**latest, **final})
            found, others = _split_by_run(found, run)
            if len(found) != last_count:
                last_count, last_growth = len(found), time.monotonic()
            if bar:
                bar.update(len(found), _estimate(len(found), expected, time.monotonic() - began))
            covered = expected > 0 and len(found) >= expected
            settled = time.monotonic() - last_growth >= settle_s
            if covered or settled or time.monotonic() >= deadline or len(final) == len(windows):
                break
            time.sleep(1.0 if target.kind == "local" else 10.0)
        dropped = fetch_logs_dropped(logs, target.log_group, start_ms, end_ms)
        inits = fetch_init_records(logs, target.log_group, start_ms, end_ms, json_format)
        _write_jsonl(run_dir / "init.jsonl", inits, INIT_FIELDS)
        if target.function.profile_init:
            events = fetch_profile_events(logs, target.log_group, start_ms, end_ms)
            rows = parse_events(events)
            _write_jsonl(run_dir / "init_profile.jsonl", rows, PROFILE_FIELDS, in_order=True)
    except (ClientError, BotoCoreError) as exc:
        error = f"FilterLogEvents on {target.log_group}: {exc}"
    finally:
        if bar:
            bar.close(f"{len(found)}/{expected} REPORT records")
    if found or not error:
        _write_platform(run_dir / "platform.jsonl", found)
    metrics_rows, invocations = 0, 0.0
    try:
        metrics_rows, invocations = _write_metrics(
            target, run, run_dir / "metrics.csv", len(found), deadline, settle_s
        )
    except (ClientError, BotoCoreError) as exc:
        error = error or f"GetMetricData for {target.function_name}: {exc}"
    metrics_complete = invocations >= len(found)
    complete = not error and len(found) >= expected and metrics_complete
    run.collected(
        Collection(
            records=len(found),
            expected=expected,
            skipped_events=skipped,
            logs_dropped=dropped,
            other_records=len(others),
            without_request=len(set(found) - requested),
            metrics_invocations=invocations,
            metrics_complete=metrics_complete,
            complete=complete,
            error=error,
            collected_ms=int(time.time() * 1000),
        )
    )
    if error:
        raise CollectError(f"{error} (kept {len(found)} records; collection marked incomplete)")
    if others:
        print(
            f"collect: {len(others)} REPORT records in the log group are of invocations "
            "before this run: counted apart, not joined",
            file=sys.stderr,
        )
    if not metrics_complete:
        print(
            f"collect: the Invocations metric counts {invocations:.0f} of {len(found)} "
            "invocations: metrics marked incomplete",
            file=sys.stderr,
        )
    if dropped["events"]:
        print(
            f"collect: the platform says {dropped['events']} log events were lost before "
            f"reaching CloudWatch, {dropped['reports']} of them REPORT records",
            file=sys.stderr,
        )
    return CollectResult(len(found), expected, skipped, complete, metrics_rows, dropped)


def _records(windows: dict) -> tuple[dict[str, dict], int]:
    """Every window's REPORT records by request id, and their skipped events."""
    found, skipped = {}, 0
    for records, skipped_here in windows.values():
        skipped += skipped_here
        for record in records:
            found[record["request_id"]] = record
    return found, skipped


def _estimate(found: int, expected: int, elapsed_s: float) -> str:
    """``, 1,234/s, about 3 min left`` from the rate so far (nothing until it has one)."""
    if found <= 0 or elapsed_s <= 0 or found >= expected:
        return ""
    rate = found / elapsed_s
    left = (expected - found) / rate
    return (
        f", {rate:,.0f}/s, about {left / 60:.0f} min left"
        if left >= 60
        else f", {rate:,.0f}/s, about {left:.0f} s left"
    )


def _write_platform(path: Path, found: dict[str, dict]) -> None:
    _write_jsonl(path, list(found.values()), PLATFORM_FIELDS)


def _write_jsonl(
    path: Path, records: list[dict], fields: tuple[str, ...], in_order: bool = False
) -> None:
    """One JSON object per line: by time, or as given (``in_order``)."""
    with open_atomic(path) as f:
        for record in records if in_order else sorted(records, key=lambda r: r["timestamp"]):
            f.write(json.dumps({k: record.get(k) for k in fields}) + "\n")


def _split_by_run(found: dict[str, dict], run: RunRecord) -> tuple[dict, dict]:
    """The run's REPORT records, and the others of the log group's window: a REPORT is
    written when an invocation ends, so one written before the run began is not its."""
    ours = {rid: r for rid, r in found.items() if r["timestamp"] >= run.started_ms}
    return ours, {rid: r for rid, r in found.items() if rid not in ours}


def _write_metrics(
    target: Target, run: RunRecord, path: Path, invocations: int, deadline: float, settle_s: float
) -> tuple[int, float]:
    """The run window's metrics (1 s period locally, 60 s on AWS), read again while the
    Invocations metric is short of the run's invocations: metrics arrive late too.
    Returns the rows written and the Invocations sum."""
    period = 1 if target.kind == "local" else 60
    start_ms = run.started_ms - period * 1000
    end_ms = (run.ended_ms or int(time.time() * 1000)) + period * 1000
    cloudwatch = client(target, "cloudwatch")
    last, last_growth = -1.0, time.monotonic()
    while True:
        rows = fetch_metrics(cloudwatch, target.function_name, start_ms, end_ms, period)
        counted = sum(r[3] for r in rows if r[1] == "Invocations" and r[2] == "Sum")
        if counted != last:
            last, last_growth = counted, time.monotonic()
        settled = time.monotonic() - last_growth >= settle_s
        if counted >= invocations or settled or time.monotonic() >= deadline:
            break
        time.sleep(1.0 if target.kind == "local" else 10.0)
    with open_atomic(path) as f:
        writer = csv.writer(f)
        writer.writerow(METRIC_COLUMNS)
        writer.writerows(rows)
    return len(rows), counted
