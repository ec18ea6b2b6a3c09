"""Log events shaped into what CloudWatch Logs' ``PutLogEvents`` accepts.

CloudWatch refuses a whole request for one bad event, so every rule it applies is
applied here first, event by event, and a bad event is fixed or set aside on its own:

- an empty message is refused (botocore: "valid min length: 1"): set aside, counted;
- an event is at most 256 KiB including 26 bytes of overhead: a longer message is split
  into several events, as Lambda splits a long line (``LAMBDA-FACTS.md``, Logs);
- events more than 14 days old or 2 hours ahead are rejected: set aside, counted;
- a request's events must be in chronological order: they are sorted;
- a request holds at most 10,000 events, 1,048,576 bytes (messages plus 26 bytes each),
  and spans at most 24 hours: batches are cut to fit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

EVENT_OVERHEAD_BYTES = 26
MAX_EVENT_BYTES = 262_144 - EVENT_OVERHEAD_BYTES  # 262,118: a message's UTF-8 bytes
MAX_BATCH_BYTES = 1_048_576
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_SPAN_MS = 24 * 3600 * 1000
MAX_AGE_MS = 14 * 24 * 3600 * 1000
MAX_AHEAD_MS = 2 * 3600 * 1000


def split_message(message: str, limit: int = MAX_EVENT_BYTES) -> list[str]:
    """``message`` cut into pieces of at most ``limit`` UTF-8 bytes, never inside a
    character; one piece when it fits (the common case costs one length check)."""
    if len(message) * 4 <= limit:  # fits whatever its characters
        return [message]
    data = message.encode("utf-8", errors="surrogateescape")
    if len(data) <= limit:
        return [message]
    pieces, start = [], 0
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # continuation byte
            end -= 1
        pieces.append(data[start:end].decode("utf-8", errors="surrogateescape"))
        start = end
    return pieces


def is_report(message: str) -> bool:
    """A REPORT record, in text or JSON log format."""
    return message.startswith("REPORT RequestId:") or '"type": "platform.report"' in message[:80]


@dataclass
class Plan:
    """Batches ready to send, and what was set aside (reason -> events)."""

    batches: list[list[dict]] = field(default_factory=list)
    set_aside: Counter = field(default_factory=Counter)
    reports_set_aside: int = 0
    split: int = 0  # extra events made by splitting long messages


def plan_batches(events: list[dict], now_ms: int) -> Plan:
    """Fix or set aside each event on its own, then cut what is left into batches."""
    plan = Plan()
    kept: list[dict] = []
    oldest, newest = now_ms - MAX_AGE_MS, now_ms + MAX_AHEAD_MS
    for event in events:
        message, timestamp = event["message"], event["timestamp"]
        reason = (
            "empty"
            if not message
            else "too_old"
            if timestamp < oldest
            else "too_new"
            if timestamp > newest
            else ""
        )
        if reason:
            plan.set_aside[reason] += 1
            plan.reports_set_aside += bool(message) and is_report(message)
            continue
        pieces = split_message(message)
        plan.split += len(pieces) - 1
        kept.extend({"timestamp": timestamp, "message": piece} for piece in pieces)
    kept.sort(key=lambda e: e["timestamp"])  # stable: split pieces keep their order
    batch: list[dict] = []
    size = 0
    for event in kept:
        event_bytes = len(event["message"].encode("utf-8", errors="surrogateescape"))
        event_bytes += EVENT_OVERHEAD_BYTES
        if batch and (
            len(batch) >= MAX_BATCH_EVENTS
            or size + event_bytes > MAX_BATCH_BYTES
            or event["timestamp"] - batch[0]["timestamp"] > MAX_BATCH_SPAN_MS
        ):
            plan.batches.append(batch)
            batch, size = [], 0
        batch.append(event)
        size += event_bytes
    if batch:
        plan.batches.append(batch)
    return plan


def rejected_indexes(info: dict, count: int) -> list[int]:
    """Indexes of a batch's events that ``rejectedLogEventsInfo`` says were not stored."""
    rejected: set[int] = set()
    if "tooOldLogEventEndIndex" in info:
        rejected.update(range(0, int(info["tooOldLogEventEndIndex"]) + 1))
    if "expiredLogEventEndIndex" in info:
        rejected.update(range(0, int(info["expiredLogEventEndIndex"]) + 1))
    if "tooNewLogEventStartIndex" in info:
        rejected.update(range(int(info["tooNewLogEventStartIndex"]), count))
    return sorted(i for i in rejected if 0 <= i < count)
