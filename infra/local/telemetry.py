"""Platform telemetry of the local Lambda, written the way Lambda writes it.

START / END / REPORT lines (text format) or ``platform.*`` JSON records (JSON format)
and the function's own output go to CloudWatch Logs, one stream per environment;
``AWS/Lambda`` metrics go to CloudWatch via ``PutMetricData``. The endpoint is the
local moto server, so ``collect`` reads them with the same boto3 code as on AWS.

A background thread ships batches so the event loop serving requests never waits on
CloudWatch. Each request costs far more than the events in it (on the 2-core development
machine ~3 ms of boto3 and 3-4 ms of moto per request, 5-15 us per event: printed by
``bench/bench_telemetry.py``), so it ships few and large requests. A stream's events wait until the oldest has waited
half a second; then one such stream ships each quarter-second tick, the oldest first. A
stream whose oldest event has waited four seconds, or that holds a full batch, ships at
once. So under light load events reach CloudWatch within about a second; with 16 busy
environments each stream waits its turn (about 4 s), and with hundreds of streams none
waits more than 4 s. The backlog is a few seconds of events, and the final flush at a
stop is short.

One bad event never costs its batch: events are shaped into what ``PutLogEvents``
accepts first (:mod:`logbatch`), a refused request is halved until the event it refuses
stands alone, and a failed request is retried with backoff. What still cannot be
delivered is counted (:attr:`Telemetry.counts`) and, as Lambda does when it drops logs, a
``platform.logsDropped`` record in the stream says how many events (and REPORT records)
were lost, so ``collect`` can report them with the run.
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
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from coldbench.infra.local.logbatch import is_report, plan_batches, rejected_indexes

log = logging.getLogger(__name__)

RUNTIME_VERSION = "python:{}.{}.local".format(*sys.version_info[:2])  # INIT_START
_TICK_S = 0.25
_MIN_WAIT_MS = 500  # a stream's events ship once the oldest has waited this long ...
_REQUESTS_PER_TICK = 1  # ... at most this many streams a tick, oldest first ...
_MAX_WAIT_MS = 4_000  # ... but a stream waiting this long ships at once ...
_FULL_BATCH_EVENTS = 2_000  # ... as does one holding this many
_MAX_ATTEMPTS = 6  # a batch is tried over ~30 s (0.5 s doubling, at most 8 s apart)
_REFUSED = {"InvalidParameterException", "DataAlreadyAcceptedException"}
DROPPED_REASON = "Some logs could not be delivered to CloudWatch Logs"


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
        retention_days: int = 0,
        delay_s: float = 0.0,
    ):
        self.function_name = function_name
        self.log_group = log_group
        self.json_format = log_format == "JSON"
        self.version = version
        self.retention_days = retention_days
        self.delay_s = delay_s  # hold events this long before delivery: late logs, as on AWS
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        )
        # Events are shaped to what PutLogEvents accepts before they are sent (logbatch),
        # so botocore's validation would only repeat it (about half its cost per event); a
        # request CloudWatch still refuses is halved as before.
        cfg = BotoConfig(
            retries={"mode": "adaptive", "max_attempts": 10}, parameter_validation=False
        )
        self._logs = session.client("logs", endpoint_url=endpoint, config=cfg)
        self._cw = session.client("cloudwatch", endpoint_url=endpoint, config=cfg)
        self._lock = threading.Lock()
        self._events: dict[str, list[dict]] = defaultdict(list)
        self._streams: set[str] = set()
        # (epoch second, metric, unit) -> [count, sum, min, max]
        self._metrics: dict[tuple[int, str, str], list[float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="telemetry", daemon=True)
        # Touched by the shipping thread only (and by stop() once it has ended).
        self._pending: list[tuple[float, int, str, list[dict]]] = []  # due, attempts, ...
        self._dropped: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.counts = {
            "delivered": 0,  # events CloudWatch stored
            "split": 0,  # extra events from splitting lines over the event size limit
            "empty": 0,  # empty events set aside (they hold nothing)
            "retried": 0,  # requests tried again after a failure
            "lost": 0,  # events set aside or undeliverable: their content is gone
            "reports_lost": 0,  # REPORT records among them
        }

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

    def backlog(self) -> int:
        """Log events recorded and not yet shipped (queued, or waiting for a retry)."""
        with self._lock:
            queued = sum(len(events) for events in self._events.values())
        return queued + sum(len(p[3]) for p in list(self._pending))

    # -- shipping (background thread) ------------------------------------------------
    def start(self) -> None:
        """Create the log group with its retention, as the AWS provisioner does."""
        try:
            self._logs.create_log_group(logGroupName=self.log_group)
        except self._logs.exceptions.ResourceAlreadyExistsException:
            pass
        if self.retention_days:
            self._logs.put_retention_policy(
                logGroupName=self.log_group, retentionInDays=self.retention_days
            )
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after a final flush of everything recorded."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self.flush(final=True)

    def _run(self) -> None:
        while not self._stop.wait(_TICK_S):
            try:
                self.flush(paced=True)
            except Exception:  # keep shipping; one bad batch must not stop telemetry
                log.exception("telemetry flush failed")

    def flush(self, final: bool = False, paced: bool = False) -> None:
        """Ship what is recorded: everything, or with ``paced`` only the streams due
        (see the module's docstring); ``final`` also ships every metric and gives each
        failed batch its last try."""
        with self._lock:
            if paced and not final:
                events = self._due()
            else:
                events, self._events = self._events, defaultdict(list)
            if self.delay_s and not final:
                events = self._hold_back(events)
            now = int(time.time() - (0 if final else self.delay_s))
            ready = {k: v for k, v in self._metrics.items() if final or k[0] < now}
            for key in ready:
                del self._metrics[key]
        now_ms = int(time.time() * 1000)
        for stream, batch in events.items():
            plan = plan_batches(batch, now_ms)
            self.counts["split"] += plan.split
            self.counts["empty"] += plan.set_aside.pop("empty", 0)
            lost = sum(plan.set_aside.values())
            if lost:
                self._note_dropped(stream, lost, 0, plan.reports_set_aside)
            for chunk in plan.batches:
                self._deliver(stream, chunk, 0)
        self._retry_due(final)
        self._report_dropped(final)
        if ready:
            self._put_metrics(ready)

    def _due(self) -> dict[str, list[dict]]:
        """The streams to ship this tick, taken out of the queue (under the lock)."""
        now_ms = int((time.time() - self.delay_s) * 1000)
        chosen, waiting = [], []
        for stream, batch in self._events.items():
            if not batch:
                continue
            oldest = batch[0]["timestamp"]
            if len(batch) >= _FULL_BATCH_EVENTS or oldest <= now_ms - _MAX_WAIT_MS:
                chosen.append(stream)
            elif oldest <= now_ms - _MIN_WAIT_MS:
                waiting.append((oldest, stream))
        chosen += [stream for _, stream in sorted(waiting)[:_REQUESTS_PER_TICK]]
        return {stream: self._events.pop(stream) for stream in chosen}

    def _hold_back(self, events: dict[str, list[dict]]) -> dict[str, list[dict]]:
        """The events older than the delivery delay; the younger ones wait (under the lock)."""
        cutoff = int((time.time() - self.delay_s) * 1000)
        due: dict[str, list[dict]] = {}
        for stream, batch in events.items():
            ready = [e for e in batch if e["timestamp"] <= cutoff]
            waiting = [e for e in batch if e["timestamp"] > cutoff]
            if ready:
                due[stream] = ready
            if waiting:
                self._events[stream].extend(waiting)
        return due

    def _deliver(self, stream: str, batch: list[dict], attempts: int) -> None:
        """Send one batch; halve a refused one; keep a failed one for a retry."""
        try:
            self._ensure_stream(stream)
            response = self._logs.put_log_events(
                logGroupName=self.log_group, logStreamName=stream, logEvents=batch
            )
        except (ParamValidationError, ClientError, BotoCoreError) as exc:
            code = exc.response["Error"].get("Code", "") if isinstance(exc, ClientError) else ""
            if isinstance(exc, ParamValidationError) or code in _REFUSED:
                if len(batch) > 1:  # find the event it refuses; the rest go through
                    half = len(batch) // 2
                    self._deliver(stream, batch[:half], attempts)
                    self._deliver(stream, batch[half:], attempts)
                else:
                    log.warning("CloudWatch refused a log event of %s: %s", stream, exc)
                    self._drop(stream, batch)
                return
            if code == "ResourceNotFoundException":
                self._streams.discard(stream)  # created again on the retry
            log.debug("log delivery to %s failed (attempt %d): %s", stream, attempts + 1, exc)
            due = time.monotonic() + min(8.0, 0.5 * 2**attempts)
            self._pending.append((due, attempts + 1, stream, batch))
            return
        rejected = rejected_indexes(response.get("rejectedLogEventsInfo") or {}, len(batch))
        if rejected:
            self._drop(stream, [batch[i] for i in rejected])
        self.counts["delivered"] += len(batch) - len(rejected)

    def _ensure_stream(self, stream: str) -> None:
        if stream in self._streams:
            return
        try:
            self._logs.create_log_stream(logGroupName=self.log_group, logStreamName=stream)
        except self._logs.exceptions.ResourceAlreadyExistsException:
            pass
        self._streams.add(stream)

    def _retry_due(self, final: bool) -> None:
        """Retry the failed batches whose backoff has passed (all of them at the end);
        a batch out of attempts, or still failing at the end, is lost and counted."""
        now = time.monotonic()
        due = [p for p in self._pending if final or p[0] <= now]
        self._pending = [p for p in self._pending if not (final or p[0] <= now)]
        for _, attempts, stream, batch in due:
            self.counts["retried"] += 1
            self._deliver(stream, batch, attempts)
        if final:
            failed, self._pending = self._pending, []
            for _, _, stream, batch in failed:
                self._drop(stream, batch)
        else:
            spent = [p for p in self._pending if p[1] >= _MAX_ATTEMPTS]
            self._pending = [p for p in self._pending if p[1] < _MAX_ATTEMPTS]
            for _, _, stream, batch in spent:
                self._drop(stream, batch)

    def _drop(self, stream: str, events: list[dict]) -> None:
        notices = [e for e in events if '"platform.logsDropped"' in e["message"][:80]]
        if notices:  # a lost notice is not noticed again, or a dead endpoint would loop
            events = [e for e in events if '"platform.logsDropped"' not in e["message"][:80]]
        if events:
            size = sum(len(e["message"].encode()) for e in events)
            reports = sum(is_report(e["message"]) for e in events)
            self._note_dropped(stream, len(events), size, reports)
        if notices:
            log.warning("a logsDropped record for %s could not be delivered", stream)

    def _note_dropped(self, stream: str, events: int, size: int, reports: int) -> None:
        self.counts["lost"] += events
        self.counts["reports_lost"] += reports
        note = self._dropped[stream]
        note[0] += events
        note[1] += size
        note[2] += reports
        log.warning("%d log events (%d REPORT records) of %s were lost", events, reports, stream)

    def _report_dropped(self, final: bool) -> None:
        """One ``platform.logsDropped`` record per stream that lost events. Lambda writes
        such a record when it drops logs; ``droppedReports`` is coldbench's own field."""
        notes, self._dropped = self._dropped, defaultdict(lambda: [0, 0, 0])
        epoch_s = time.time()
        for stream, (events, size, reports) in notes.items():
            record = {
                "reason": DROPPED_REASON,
                "droppedRecords": events,
                "droppedBytes": size,
                "droppedReports": reports,
            }
            message = json.dumps(
                {"time": iso_ms(epoch_s), "type": "platform.logsDropped", "record": record}
            )
            self._deliver(stream, [{"timestamp": int(epoch_s * 1000), "message": message}], 0)
        if final and self._pending:  # the very end: nothing will try these again
            log.warning("%d logsDropped records could not be delivered", len(self._pending))
            self._pending.clear()

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
