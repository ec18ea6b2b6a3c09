"""Platform telemetry of the local Lambda, written the way Lambda writes it.

START / END / REPORT lines (text format) or ``platform.*`` JSON records (JSON format)
and the function's own output go to CloudWatch Logs, one stream per environment;
``AWS/Lambda`` metrics go to CloudWatch via ``PutMetricData``. The endpoint is the
local moto server, so ``collect`` reads them with the same boto3 code as on AWS.

A background thread ships batches every half second so the event loop serving
requests never waits on CloudWatch.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import boto3
from botocore.config import Config as BotoConfig

log = logging.getLogger(__name__)

RUNTIME_VERSION = "python:{}.{}.local".format(*sys.version_info[:2])  # INIT_START
_FLUSH_INTERVAL_S = 0.5
_MAX_BATCH_EVENTS = 5000


@dataclass(frozen=True)
class Report:
    """What Lambda reports for one invocation."""

    request_id: str
    duration_ms: float
    billed_duration_ms: int
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None = None
    status: str = "success"  # success | error | timeout
    error_type: str = ""


def billed_ms(duration_ms: float, init_duration_ms: float | None, on_demand: bool) -> int:
    """Billed Duration: 1 ms granularity; includes init for on-demand zip functions."""
    billed = duration_ms + ((init_duration_ms or 0.0) if on_demand else 0.0)
    return max(1, math.ceil(billed))


@functools.lru_cache(maxsize=4)
def _iso_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def iso_ms(epoch_s: float) -> str:
    """``2026-11-22T10:00:00.123Z``; the second's text is cached (called per log line)."""
    second = int(epoch_s)
    micros = round((epoch_s - second) * 1e6)  # rounded to the microsecond, as datetime does
    if micros >= 1_000_000:
        second, micros = second + 1, micros - 1_000_000
    return f"{_iso_second(second)}.{micros // 1000:03d}Z"


def report_text(report: Report) -> str:
    parts = [
        f"REPORT RequestId: {report.request_id}",
        f"Duration: {report.duration_ms:.2f} ms",
        f"Billed Duration: {report.billed_duration_ms} ms",
        f"Memory Size: {report.memory_size_mb} MB",
        f"Max Memory Used: {report.max_memory_used_mb} MB",
    ]
    if report.init_duration_ms is not None:
        parts.append(f"Init Duration: {report.init_duration_ms:.2f} ms")
    if report.status != "success":
        parts.append(f"Status: {report.status}")
        if report.error_type:
            parts.append(f"Error Type: {report.error_type}")
    return "\t".join(parts) + "\t"


def report_json(report: Report, epoch_s: float) -> str:
    metrics = {
        "durationMs": round(report.duration_ms, 3),
        "billedDurationMs": report.billed_duration_ms,
        "memorySizeMB": report.memory_size_mb,
        "maxMemoryUsedMB": report.max_memory_used_mb,
    }
    if report.init_duration_ms is not None:
        metrics["initDurationMs"] = round(report.init_duration_ms, 3)
    record = {"requestId": report.request_id, "metrics": metrics, "status": report.status}
    if report.error_type:
        record["errorType"] = report.error_type
    return json.dumps({"time": iso_ms(epoch_s), "type": "platform.report", "record": record})


class Telemetry:
    """Collects log events and metric datapoints and ships them in the background."""

    def __init__(
        self,
        endpoint: str,
        region: str,
        function_name: str,
        log_group: str,
        log_format: str = "JSON",
        version: str = "$LATEST",
    ):
        self.function_name = function_name
        self.log_group = log_group
        self.json_format = log_format == "JSON"
        self.version = version
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        )
        cfg = BotoConfig(retries={"mode": "adaptive", "max_attempts": 10})
        self._logs = session.client("logs", endpoint_url=endpoint, config=cfg)
        self._cw = session.client("cloudwatch", endpoint_url=endpoint, config=cfg)
        self._lock = threading.Lock()
        self._events: dict[str, list[dict]] = defaultdict(list)
        self._streams: set[str] = set()
        # (epoch second, metric, unit) -> [count, sum, min, max]
        self._metrics: dict[tuple[int, str, str], list[float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="telemetry", daemon=True)

    # -- recording (any thread) -------------------------------------------------------
    def log(self, stream: str, message: str, epoch_s: float | None = None) -> None:
        event = {"timestamp": int((epoch_s or time.time()) * 1000), "message": message}
        with self._lock:
            self._events[stream].append(event)

    def platform(self, stream: str, kind: str, record: dict, text: str, epoch_s: float) -> None:
        """A platform line: ``text`` in text format, a ``platform.<kind>`` record in JSON."""
        if self.json_format:
            message = json.dumps(
                {"time": iso_ms(epoch_s), "type": f"platform.{kind}", "record": record}
            )
        else:
            message = text
        self.log(stream, message, epoch_s)

    def report(self, stream: str, report: Report, epoch_s: float) -> None:
        message = report_json(report, epoch_s) if self.json_format else report_text(report)
        self.log(stream, message, epoch_s)

    def metric(self, name: str, value: float, unit: str = "Count", epoch_s: float | None = None):
        self.metrics([(name, value, unit)], epoch_s)

    def metrics(self, values: list[tuple[str, float, str]], epoch_s: float | None = None) -> None:
        """Record several datapoints of one moment under a single lock acquisition."""
        second = int(epoch_s or time.time())
        with self._lock:
            for name, value, unit in values:
                stats = self._metrics.get((second, name, unit))
                if stats is None:
                    self._metrics[(second, name, unit)] = [1, value, value, value]
                else:
                    stats[0] += 1
                    stats[1] += value
                    stats[2] = min(stats[2], value)
                    stats[3] = max(stats[3], value)

    # -- shipping (background thread) ------------------------------------------------
    def start(self) -> None:
        try:
            self._logs.create_log_group(logGroupName=self.log_group)
        except self._logs.exceptions.ResourceAlreadyExistsException:
            pass
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after a final flush of everything recorded."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self.flush(final=True)

    def _run(self) -> None:
        while not self._stop.wait(_FLUSH_INTERVAL_S):
            try:
                self.flush()
            except Exception:  # keep shipping; one bad batch must not stop telemetry
                log.exception("telemetry flush failed")

    def flush(self, final: bool = False) -> None:
        with self._lock:
            events, self._events = self._events, defaultdict(list)
            now = int(time.time())
            ready = {k: v for k, v in self._metrics.items() if final or k[0] < now}
            for key in ready:
                del self._metrics[key]
        for stream, batch in events.items():
            self._put_logs(stream, sorted(batch, key=lambda e: e["timestamp"]))
        if ready:
            self._put_metrics(ready)

    def _put_logs(self, stream: str, batch: list[dict]) -> None:
        if stream not in self._streams:
            try:
                self._logs.create_log_stream(logGroupName=self.log_group, logStreamName=stream)
            except self._logs.exceptions.ResourceAlreadyExistsException:
                pass
            self._streams.add(stream)
        for i in range(0, len(batch), _MAX_BATCH_EVENTS):
            chunk = batch[i : i + _MAX_BATCH_EVENTS]
            self._logs.put_log_events(
                logGroupName=self.log_group, logStreamName=stream, logEvents=chunk
            )

    def _put_metrics(self, ready: dict[tuple[int, str, str], list[float]]) -> None:
        dims = [{"Name": "FunctionName", "Value": self.function_name}]
        datums = [
            {
                "MetricName": name,
                "Dimensions": dims,
                "Timestamp": datetime.fromtimestamp(second, UTC),
                "StatisticValues": {
                    "SampleCount": stats[0],
                    "Sum": stats[1],
                    "Minimum": stats[2],
                    "Maximum": stats[3],
                },
                "Unit": unit,
                "StorageResolution": 1,
            }
            for (second, name, unit), stats in sorted(ready.items())
        ]
        for i in range(0, len(datums), 500):
            self._cw.put_metric_data(Namespace="AWS/Lambda", MetricData=datums[i : i + 500])
