"""Parse Lambda's REPORT records, text or JSON, into plain dicts.

Handles every variant real Lambda writes: with and without ``Init Duration``; SnapStart
``Restore Duration`` / ``Billed Restore Duration``; ``Status`` and ``Error Type``;
trailing tabs; an ``XRAY TraceId`` line in the same event; the JSON
``platform.report`` record. Anything else returns None (the caller counts skips).
"""

from __future__ import annotations

import json
import re
from typing import Any

_TEXT_FIELDS = {
    "Duration": ("duration_ms", float),
    "Billed Duration": ("billed_duration_ms", float),
    "Memory Size": ("memory_size_mb", float),
    "Max Memory Used": ("max_memory_used_mb", float),
    "Init Duration": ("init_duration_ms", float),
    "Restore Duration": ("restore_duration_ms", float),
    "Billed Restore Duration": ("billed_restore_duration_ms", float),
    "Status": ("status", str),
    "Error Type": ("error_type", str),
}
_JSON_METRICS = {
    "durationMs": "duration_ms",
    "billedDurationMs": "billed_duration_ms",
    "memorySizeMB": "memory_size_mb",
    "maxMemoryUsedMB": "max_memory_used_mb",
    "initDurationMs": "init_duration_ms",
    "restoreDurationMs": "restore_duration_ms",
    "billedRestoreDurationMs": "billed_restore_duration_ms",
}
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_REQUIRED = ("request_id", "duration_ms")


def _empty() -> dict:
    return {
        "request_id": None,
        "duration_ms": None,
        "billed_duration_ms": None,
        "memory_size_mb": None,
        "max_memory_used_mb": None,
        "init_duration_ms": None,
        "restore_duration_ms": None,
        "billed_restore_duration_ms": None,
        "status": "success",
        "error_type": None,
    }


def parse_text(message: str) -> dict | None:
    line = message.strip().splitlines()[0] if message.strip() else ""
    if not line.startswith("REPORT RequestId:"):
        return None
    record = _empty()
    for part in line.split("\t"):
        key, sep, value = part.strip().partition(": ")
        if not sep:
            continue
        if key == "REPORT RequestId":
            record["request_id"] = value.strip()
            continue
        if key not in _TEXT_FIELDS:
            continue
        name, kind = _TEXT_FIELDS[key]
        if kind is float:
            match = _NUMBER.search(value)
            if match is None:
                return None
            record[name] = float(match.group())
        else:
            record[name] = value.strip()
    return record if all(record[k] is not None for k in _REQUIRED) else None


def parse_json(message: str) -> dict | None:
    try:
        data = json.loads(message)
    except (json.JSONDecodeError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("type") != "platform.report":
        return None
    body = data.get("record") or {}
    metrics = body.get("metrics") or {}
    if not isinstance(body, dict) or not isinstance(metrics, dict):
        return None
    record = _empty()
    record["request_id"] = body.get("requestId")
    for key, name in _JSON_METRICS.items():
        value = metrics.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            record[name] = float(value)
    record["status"] = body.get("status") or "success"
    record["error_type"] = body.get("errorType")
    return record if all(record[k] is not None for k in _REQUIRED) else None


def parse_report(message: str) -> dict | None:
    """A REPORT record from one log event's message, or None if it is not one."""
    stripped = message.lstrip()
    if stripped.startswith("{"):
        return parse_json(stripped)
    return parse_text(stripped)


def parse_logs_dropped(message: str) -> dict | None:
    """A ``platform.logsDropped`` record: ``{"events", "bytes", "reports"}`` lost, or None.

    Lambda writes one when it drops a function's logs; the local Lambda writes one when
    CloudWatch could not take some events, with ``droppedReports`` (its own field) saying
    how many of them were REPORT records.
    """
    stripped = message.lstrip()
    if not stripped.startswith("{"):
        return None
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or data.get("type") != "platform.logsDropped":
        return None
    body = data.get("record")
    if not isinstance(body, dict):
        return None

    def count(key: str) -> int:
        value = body.get(key)
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0

    return {
        "events": count("droppedRecords"),
        "bytes": count("droppedBytes"),
        "reports": count("droppedReports"),
    }


_INIT_TEXT = re.compile(
    r"Init Duration: (?P<ms>[\d.]+) ms|Phase: (?P<phase>\w+)|Status: (?P<status>\w+)|Error Type: (?P<error>\S+)"
)


def parse_init(message: str) -> dict | None:
    """An init record, ``INIT_START``/``INIT_REPORT`` (Text) or ``platform.initStart``/
    ``platform.initReport`` (JSON): ``{"kind", "init_type", "phase", "status",
    "error_type", "init_duration_ms"}``, or None. Text ``INIT_START`` lines do not say the
    initialization type; JSON records do."""
    stripped = message.lstrip()
    record: dict[str, Any] = {
        "kind": "",
        "init_type": None,
        "phase": None,
        "status": None,
        "error_type": None,
        "init_duration_ms": None,
    }
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        kind = {"platform.initStart": "start", "platform.initReport": "report"}.get(
            str(data.get("type"))
        )
        body = data.get("record")
        if kind is None or not isinstance(body, dict):
            return None
        metrics = body.get("metrics")
        duration = metrics.get("durationMs") if isinstance(metrics, dict) else None
        record.update(
            kind=kind,
            init_type=body.get("initializationType"),
            phase=body.get("phase"),
            status=body.get("status"),
            error_type=body.get("errorType"),
            init_duration_ms=float(duration) if isinstance(duration, int | float) else None,
        )
        return record
    if stripped.startswith("INIT_START"):
        return {**record, "kind": "start", "phase": "init"}
    if not stripped.startswith("INIT_REPORT"):
        return None
    record["kind"] = "report"
    for match in _INIT_TEXT.finditer(stripped):
        if match["ms"]:
            record["init_duration_ms"] = float(match["ms"])
        record["phase"] = match["phase"] or record["phase"]
        record["status"] = match["status"] or record["status"]
        record["error_type"] = match["error"] or record["error_type"]
    return record
