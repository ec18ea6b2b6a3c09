"""``coldbench collect``: REPORT records and ``AWS/Lambda`` metrics into a run directory.

The same boto3 code reads AWS and the local Lambda's CloudWatch endpoint. Logs arrive
late on AWS, so collection repeats until the records cover the run's invocations or
stop growing, bounded by ``wait_s``, with a progress line. The window is split into
slices fetched in parallel; botocore's adaptive retry mode absorbs throttling.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from coldbench.analysis.errors import CollectError
from coldbench.analysis.platform import parse_logs_dropped, parse_report
from coldbench.record.rundir import METRIC_COLUMNS, PLATFORM_FIELDS, read_run_json, write_run_json
from coldbench.record.target import Target

METRICS = (
    ("Invocations", "Sum"),
    ("Errors", "Sum"),
    ("Throttles", "Sum"),
    ("Duration", "Average"),
    ("Duration", "Maximum"),
    ("ConcurrentExecutions", "Maximum"),
    ("ProvisionedConcurrentExecutions", "Maximum"),
    ("ProvisionedConcurrencySpilloverInvocations", "Sum"),
    ("UrlRequestCount", "Sum"),
    ("Url4xxCount", "Sum"),
    ("Url5xxCount", "Sum"),
)
_SLICES = 4
_NO_INVOCATION_STATUSES = {"403", "413", "429", "0", ""}


@dataclass(frozen=True)
class CollectResult:
    records: int
    expected: int
    skipped_events: int
    complete: bool
    metrics_rows: int
    logs_dropped: dict[str, int]


def fetch_logs_dropped(logs, log_group: str, start_ms: int, end_ms: int, sleep=time.sleep) -> dict:
    """What ``platform.logsDropped`` records in the window say was lost, summed."""
    lost = {"events": 0, "bytes": 0, "reports": 0, "records": 0}
    pages = _pages(
        logs,
        sleep,
        logGroupName=log_group,
        startTime=start_ms,
        endTime=end_ms - 1,
        filterPattern='"platform.logsDropped"',
    )
    for page in pages:
        for event in page.get("events", []):
            found = parse_logs_dropped(event["message"])
            if found is not None:
                lost["records"] += 1
                for key, value in found.items():
                    lost[key] += value
    return lost


def _session(target: Target) -> tuple[boto3.session.Session, dict]:
    kwargs: dict = {"region_name": target.region}
    if target.kind == "local":
        kwargs.update(aws_access_key_id="testing", aws_secret_access_key="testing")
    cfg = BotoConfig(retries={"mode": "adaptive", "max_attempts": 10})
    client_kwargs = {"config": cfg}
    if target.cloudwatch_endpoint:
        client_kwargs["endpoint_url"] = target.cloudwatch_endpoint
    return boto3.session.Session(**kwargs), client_kwargs


def logs_client(target: Target):
    """A CloudWatch Logs client for the target (the local moto endpoint or AWS)."""
    session, client_kwargs = _session(target)
    return session.client("logs", **client_kwargs)


def expected_invocations(run_dir: Path) -> int:
    """Requests that reached the function (had a request id and were not refused)."""
    count = 0
    for path in sorted(run_dir.glob("requests*.csv")):
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                if row.get("request_id") and row.get("status") not in _NO_INVOCATION_STATUSES:
                    count += 1
    return count


_RETRYABLE = {
    "ThrottlingException",
    "Throttling",
    "ServiceUnavailableException",
    "LimitExceededException",
    "RequestLimitExceeded",
    "InternalFailure",
    "ServiceUnavailable",
}


def _pages(logs, sleep, **kwargs):
    """FilterLogEvents pages, resuming at the last token after throttling or a transient error.

    botocore's adaptive mode already retries; this outer loop keeps a long collection
    going through longer throttling without starting over.
    """
    token, attempts = None, 0
    while True:
        try:
            page = logs.filter_log_events(**kwargs, **({"nextToken": token} if token else {}))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _RETRYABLE or attempts >= 8:
                raise
            attempts += 1
            sleep(min(0.2 * 2**attempts, 10.0))
            continue
        attempts = 0
        yield page
        token = page.get("nextToken")
        if not token:
            return


def fetch_reports(
    logs,
    log_group: str,
    pattern: str,
    start_ms: int,
    end_ms: int,
    sleep=time.sleep,
    slices: int = _SLICES,
) -> tuple[dict, int]:
    """All REPORT records in the window, by request id; and the count of skipped events.

    Raises:
        ClientError: a slice could not be read even after retrying.
    """
    step = max(1, (end_ms - start_ms) // slices + 1)
    windows = [(s, min(s + step, end_ms)) for s in range(start_ms, end_ms, step)]

    def fetch(window: tuple[int, int]) -> tuple[list[dict], int]:
        records, skipped = [], 0
        pages = _pages(
            logs,
            sleep,
            logGroupName=log_group,
            startTime=window[0],
            endTime=window[1] - 1,
            filterPattern=pattern,
        )
        for page in pages:
            for event in page.get("events", []):
                record = parse_report(event["message"])
                if record is None:
                    skipped += 1
                    continue
                record["timestamp"] = event["timestamp"]
                record["log_stream"] = event.get("logStreamName", "")
                records.append(record)
        return records, skipped

    found: dict[str, dict] = {}
    skipped = 0
    with ThreadPoolExecutor(max_workers=len(windows)) as pool:
        for records, skipped_here in pool.map(fetch, windows):
            skipped += skipped_here
            for record in records:
                found[record["request_id"]] = record
    return found, skipped


def collect(
    run_dir: Path, wait_s: float = 60.0, settle_s: float | None = None, progress: bool = True
) -> CollectResult:
    """Collect REPORT records and metrics for a run; writes platform.jsonl and metrics.csv.

    Raises:
        CollectError: CloudWatch refused or could not be reached (names the call).
    """
    run = read_run_json(run_dir)
    target = Target.from_dict(run["target"])
    session, client_kwargs = _session(target)
    logs = session.client("logs", **client_kwargs)
    start_ms = int(run["started_ms"]) - 30_000
    end_ms = int(run.get("ended_ms") or time.time() * 1000) + 120_000
    json_format = target.function.get("log_format", "JSON") == "JSON"
    pattern = '"platform.report"' if json_format else '"REPORT RequestId"'
    expected = expected_invocations(run_dir)
    settle_s = settle_s if settle_s is not None else (3.0 if target.kind == "local" else 60.0)
    deadline = time.monotonic() + wait_s
    found: dict[str, dict] = {}
    dropped = {"events": 0, "bytes": 0, "reports": 0, "records": 0}
    skipped, last_count, last_growth, error = 0, -1, time.monotonic(), ""
    try:
        while True:
            found, skipped = fetch_reports(logs, target.log_group, pattern, start_ms, end_ms)
            if len(found) != last_count:
                last_count, last_growth = len(found), time.monotonic()
            if progress:
                _progress(len(found), expected)
            covered = expected > 0 and len(found) >= expected
            settled = time.monotonic() - last_growth >= settle_s
            if covered or settled or time.monotonic() >= deadline:
                break
            time.sleep(1.0 if target.kind == "local" else 10.0)
        dropped = fetch_logs_dropped(logs, target.log_group, start_ms, end_ms)
    except (ClientError, BotoCoreError) as exc:
        error = f"FilterLogEvents on {target.log_group}: {exc}"
    finally:
        if progress:
            print(
                "" if sys.stderr.isatty() else f"collect: {len(found)}/{expected} REPORT records",
                file=sys.stderr,
            )
    if found or not error:
        _write_platform(run_dir / "platform.jsonl", found)
    metrics_rows = 0
    try:
        metrics_rows = collect_metrics(session, client_kwargs, target, run, run_dir / "metrics.csv")
    except CollectError as exc:
        error = error or str(exc)
    complete = not error and len(found) >= expected
    write_run_json(
        run_dir,
        collection={
            "records": len(found),
            "expected": expected,
            "skipped_events": skipped,
            "logs_dropped": dropped,
            "complete": complete,
            "error": error,
            "collected_ms": int(time.time() * 1000),
        },
    )
    if error:
        raise CollectError(f"{error} (kept {len(found)} records; collection marked incomplete)")
    if dropped["events"]:
        print(
            f"collect: the platform says {dropped['events']} log events were lost before "
            f"reaching CloudWatch, {dropped['reports']} of them REPORT records",
            file=sys.stderr,
        )
    return CollectResult(len(found), expected, skipped, complete, metrics_rows, dropped)


def _progress(found: int, expected: int) -> None:
    if not sys.stderr.isatty():
        return
    width = 30
    done = min(1.0, found / expected) if expected else 1.0
    bar = "#" * int(done * width)
    print(f"\rcollect: [{bar:<{width}}] {found}/{expected} REPORT records", end="", file=sys.stderr)


def _write_platform(path: Path, found: dict[str, dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as f:
        for record in sorted(found.values(), key=lambda r: r["timestamp"]):
            f.write(json.dumps({k: record.get(k) for k in PLATFORM_FIELDS}) + "\n")
    tmp.replace(path)


def collect_metrics(session, client_kwargs: dict, target: Target, run: dict, path: Path) -> int:
    """``GetMetricData`` for the run window: 1 s period locally, 60 s on AWS."""
    cloudwatch = session.client("cloudwatch", **client_kwargs)
    period = 1 if target.kind == "local" else 60
    start = datetime.fromtimestamp(int(run["started_ms"]) / 1000 - period, UTC)
    end = datetime.fromtimestamp(
        int(run.get("ended_ms") or time.time() * 1000) / 1000 + period, UTC
    )
    dims = [{"Name": "FunctionName", "Value": target.function_name}]
    queries = [
        {
            "Id": f"m{i}",
            "Label": f"{name}|{stat}",
            "MetricStat": {
                "Metric": {"Namespace": "AWS/Lambda", "MetricName": name, "Dimensions": dims},
                "Period": period,
                "Stat": stat,
            },
        }
        for i, (name, stat) in enumerate(METRICS)
    ]
    rows = []
    try:
        paginator = cloudwatch.get_paginator("get_metric_data")
        for page in paginator.paginate(MetricDataQueries=queries, StartTime=start, EndTime=end):
            for result in page["MetricDataResults"]:
                name, _, stat = result["Label"].partition("|")
                for ts, value in zip(result["Timestamps"], result["Values"], strict=False):
                    rows.append([int(ts.timestamp() * 1000), name, stat, value, "", period])
    except (ClientError, BotoCoreError) as exc:
        raise CollectError(f"GetMetricData for {target.function_name}: {exc}") from exc
    rows.sort()
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(METRIC_COLUMNS)
        writer.writerows(rows)
    return len(rows)
