"""Reading CloudWatch: REPORT records, ``platform.logsDropped`` records, ``AWS/Lambda`` metrics.

The same boto3 code reads AWS and the local Lambda's CloudWatch endpoint. Retries are
botocore's adaptive mode alone (throttling and transient errors, with client-side rate
limiting); a call that still fails raises. Long spans are cut into time windows read
in parallel, each as it completes (:func:`read_windows`), so a collection can keep what
it has read.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from coldbench.analysis.platform import parse_init, parse_logs_dropped, parse_report
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
RETRIES = BotoConfig(retries={"mode": "adaptive", "max_attempts": 10})
_SLICES = 4
WORKERS = 4  # windows read at once: FilterLogEvents has a per-account, per-region TPS quota


def client(target: Target, service: str) -> Any:
    """A client for the target's CloudWatch (``logs`` or ``cloudwatch``): the local
    endpoint with dummy credentials, or AWS with the target's profile."""
    if target.cloudwatch_endpoint:
        session = boto3.session.Session(
            region_name=target.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        return session.client(service, endpoint_url=target.cloudwatch_endpoint, config=RETRIES)
    session = boto3.session.Session(profile_name=target.profile or None, region_name=target.region)
    return session.client(service, config=RETRIES)


def logs_client(target: Target) -> Any:
    """A CloudWatch Logs client for the target (the local endpoint or AWS)."""
    return client(target, "logs")


def _events(logs, log_group: str, start_ms: int, end_ms: int, pattern: str):
    """Every event of ``log_group`` in [start_ms, end_ms) matching ``pattern``."""
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=log_group, startTime=start_ms, endTime=end_ms - 1, filterPattern=pattern
    )
    for page in pages:
        yield from page.get("events", [])


Window = tuple[int, int]  # [start_ms, end_ms) of log event timestamps


def windows_of(start_ms: int, end_ms: int, window_ms: int) -> list[Window]:
    """[start_ms, end_ms) cut into windows of ``window_ms`` (the last one shorter)."""
    return [(s, min(s + window_ms, end_ms)) for s in range(start_ms, end_ms, window_ms)]


def read_reports(logs, log_group: str, pattern: str, window: Window) -> tuple[list[dict], int]:
    """The REPORT records of one window (every page), and the count of skipped events."""
    records, skipped = [], 0
    for event in _events(logs, log_group, window[0], window[1], pattern):
        record = parse_report(event["message"])
        if record is None:
            skipped += 1
            continue
        record["timestamp"] = event["timestamp"]
        record["log_stream"] = event.get("logStreamName", "")
        records.append(record)
    return records, skipped


def read_windows(
    logs, log_group: str, pattern: str, windows: list[Window], workers: int = WORKERS
) -> Iterator[tuple[Window, list[dict], int]]:
    """Each window's REPORT records as its read completes, ``workers`` windows at once
    (one client: botocore's adaptive mode paces them all against the account's quota).
    When a read fails, windows not yet begun are not read, the windows already read are
    still handed over, and then the error is raised.

    Raises:
        ClientError: a window could not be read even after botocore's retries.
    """
    if not windows:
        return
    pool = ThreadPoolExecutor(max_workers=min(workers, len(windows)))
    futures = {pool.submit(read_reports, logs, log_group, pattern, w): w for w in windows}
    failure: BaseException | None = None
    try:
        for future in as_completed(futures):
            try:
                records, skipped = future.result()
            except BaseException as exc:  # raised again below, once the reads done are handed over
                if failure is None:
                    failure = exc
                    for waiting in futures:
                        waiting.cancel()
                continue
            yield futures[future], records, skipped  # every window read is handed over
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if failure is not None:
        raise failure


def fetch_reports(
    logs, log_group: str, pattern: str, start_ms: int, end_ms: int, slices: int = _SLICES
) -> tuple[dict[str, dict], int]:
    """All REPORT records in the window, by request id; and the count of skipped events.

    Raises:
        ClientError: a slice could not be read even after botocore's retries.
    """
    step = max(1, (end_ms - start_ms) // slices + 1)
    found: dict[str, dict] = {}
    skipped = 0
    for _, records, skipped_here in read_windows(
        logs, log_group, pattern, windows_of(start_ms, end_ms, step), workers=slices
    ):
        skipped += skipped_here
        for record in records:
            found[record["request_id"]] = record
    return found, skipped


def fetch_logs_dropped(logs, log_group: str, start_ms: int, end_ms: int) -> dict[str, int]:
    """What ``platform.logsDropped`` records in the window say was lost, summed."""
    lost = {"events": 0, "bytes": 0, "reports": 0, "records": 0}
    events = _events(logs, log_group, start_ms, end_ms, '"platform.logsDropped"')
    for event in events:
        found = parse_logs_dropped(event["message"])
        if found is not None:
            lost["records"] += 1
            for key, value in found.items():
                lost[key] += value
    return lost


def fetch_init_records(
    logs, log_group: str, start_ms: int, end_ms: int, json_format: bool
) -> list[dict]:
    """Every init record in the window, with its log stream and time: what says an
    environment was provisioned (JSON format) or its init failed or ran out of time."""
    records = []
    events = _events(
        logs, log_group, start_ms, end_ms, '"platform.init"' if json_format else '"INIT_"'
    )
    for event in events:
        record = parse_init(event["message"])
        if record is not None:
            record["timestamp"] = event["timestamp"]
            record["log_stream"] = event.get("logStreamName", "")
            records.append(record)
    return records


def fetch_profile_events(logs, log_group: str, start_ms: int, end_ms: int) -> list[tuple[str, str]]:
    """(log stream, message) of every import-time line and init-shim marker in the window,
    in each stream's order (``function.profile_init``)."""
    events = _events(logs, log_group, start_ms, end_ms, '?"import time:" ?"coldbench-init"')
    return [(event.get("logStreamName", ""), event["message"]) for event in events]


def fetch_metrics(
    cloudwatch, function_name: str, start_ms: int, end_ms: int, period_s: int
) -> list[list]:
    """``GetMetricData`` rows ``[timestamp_ms, metric, stat, value, unit, period_s]``.

    Raises:
        ClientError, BotoCoreError: the metrics could not be read.
    """
    dims = [{"Name": "FunctionName", "Value": function_name}]
    queries = [
        {
            "Id": f"m{i}",
            "Label": f"{name}|{stat}",
            "MetricStat": {
                "Metric": {"Namespace": "AWS/Lambda", "MetricName": name, "Dimensions": dims},
                "Period": period_s,
                "Stat": stat,
            },
        }
        for i, (name, stat) in enumerate(METRICS)
    ]
    start = datetime.fromtimestamp(start_ms / 1000, UTC)
    end = datetime.fromtimestamp(end_ms / 1000, UTC)
    rows = []
    paginator = cloudwatch.get_paginator("get_metric_data")
    for page in paginator.paginate(MetricDataQueries=queries, StartTime=start, EndTime=end):
        for result in page["MetricDataResults"]:
            name, _, stat = result["Label"].partition("|")
            for ts, value in zip(result["Timestamps"], result["Values"], strict=False):
                rows.append([int(ts.timestamp() * 1000), name, stat, value, "", period_s])
    rows.sort()
    return rows
