"""Log delivery: no single event can take its batch down (each refusal kind on its own),
failed requests are retried, and what is lost is counted and said in the stream."""

from __future__ import annotations

import json
import time

import pytest
from botocore.stub import ANY, Stubber
from hypothesis import given
from hypothesis import strategies as st

from coldbench.analysis.cloudwatch import fetch_logs_dropped
from coldbench.analysis.platform import parse_logs_dropped, parse_report
from coldbench.infra.local import logbatch
from coldbench.infra.local import telemetry as telemetry_module
from coldbench.infra.local.logbatch import (
    MAX_EVENT_BYTES,
    plan_batches,
    rejected_indexes,
    split_message,
)
from coldbench.infra.local.telemetry import Report, Telemetry, report_text
from tests.conftest import local_aws_client

NOW_MS = 1_800_000_000_000
DAY_MS = 24 * 3600 * 1000


def event(message: str, timestamp: int = NOW_MS) -> dict:
    return {"timestamp": timestamp, "message": message}


def report(i: int) -> str:
    return report_text(Report(f"rid-{i}", 1.0, 1, 128, 40))


# -- the rules, one refusal kind at a time ---------------------------------------------
def test_empty_message_is_set_aside_and_the_rest_kept():
    plan = plan_batches([event(report(1)), event(""), event(report(2))], NOW_MS)
    assert plan.set_aside == {"empty": 1}
    assert [e["message"] for e in plan.batches[0]] == [report(1), report(2)]


def test_message_over_the_event_limit_is_split_not_dropped():
    long = "é" * 200_000 + "x" * 100_001  # 500,001 bytes of UTF-8
    plan = plan_batches([event(long)], NOW_MS)
    pieces = [e["message"] for batch in plan.batches for e in batch]
    assert "".join(pieces) == long and len(pieces) == 2 and plan.split == 1
    assert all(len(p.encode()) <= MAX_EVENT_BYTES for p in pieces)


@given(st.text(min_size=1, max_size=3000), st.integers(min_value=4, max_value=500))
def test_split_keeps_every_character_within_the_limit(text, limit):
    pieces = split_message(text, limit)
    assert "".join(pieces) == text
    assert all(0 < len(p.encode("utf-8", "surrogateescape")) <= limit for p in pieces)


def test_out_of_order_events_are_sorted():
    plan = plan_batches([event("b", NOW_MS + 5), event("a", NOW_MS)], NOW_MS)
    assert [e["message"] for e in plan.batches[0]] == ["a", "b"]


def test_too_old_and_too_new_events_are_set_aside_with_their_reports_counted():
    events = [
        event(report(1), NOW_MS - 15 * DAY_MS),
        event("ok", NOW_MS),
        event("future", NOW_MS + 3 * 3600 * 1000),
    ]
    plan = plan_batches(events, NOW_MS)
    assert plan.set_aside == {"too_old": 1, "too_new": 1} and plan.reports_set_aside == 1
    assert [e["message"] for e in plan.batches[0]] == ["ok"]


def test_batches_respect_count_bytes_and_span(monkeypatch):
    monkeypatch.setattr(logbatch, "MAX_BATCH_EVENTS", 3)
    plan = plan_batches([event(str(i), NOW_MS + i) for i in range(7)], NOW_MS)
    assert [len(b) for b in plan.batches] == [3, 3, 1]
    monkeypatch.setattr(logbatch, "MAX_BATCH_EVENTS", 10_000)
    big = "x" * 400_000  # split into 2 events each; a batch holds at most 1 MiB
    plan = plan_batches([event(big, NOW_MS + i) for i in range(3)], NOW_MS)
    assert all(
        sum(len(e["message"]) + 26 for e in b) <= logbatch.MAX_BATCH_BYTES for b in plan.batches
    )
    assert sum(len(b) for b in plan.batches) == 6
    plan = plan_batches([event("a", NOW_MS - 13 * DAY_MS), event("b", NOW_MS)], NOW_MS)
    assert len(plan.batches) == 2, "a request spans at most 24 hours"


def test_rejected_indexes_follow_rejected_log_events_info():
    assert rejected_indexes({}, 5) == []
    assert rejected_indexes({"tooOldLogEventEndIndex": 1}, 5) == [0, 1]
    assert rejected_indexes({"tooNewLogEventStartIndex": 3}, 5) == [3, 4]
    assert rejected_indexes({"expiredLogEventEndIndex": 0, "tooNewLogEventStartIndex": 4}, 5) == [
        0,
        4,
    ]


# -- delivery against a real moto server -------------------------------------------------
@pytest.fixture
def endpoint(moto_server):
    return moto_server


def telemetry(endpoint: str, group: str, log_format: str = "Text") -> Telemetry:
    t = Telemetry(endpoint, "us-east-1", "f", group, log_format)
    t._logs.create_log_group(logGroupName=group)
    return t


def stored(endpoint: str, group: str) -> list[str]:
    logs = local_aws_client("logs", endpoint)
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
    return [e["message"] for page in pages for e in page["events"]]


def test_an_empty_event_among_reports_loses_nothing(endpoint):
    t = telemetry(endpoint, "/aws/lambda/empty")
    for i in range(10):
        t.log("s", report(i))
        if i == 5:
            t.log("s", "")
    t.flush(final=True)
    messages = stored(endpoint, "/aws/lambda/empty")
    assert sum(1 for m in messages if parse_report(m)) == 10
    assert t.counts["empty"] == 1 and t.counts["lost"] == 0 and t.counts["delivered"] == 10


def test_a_line_over_the_limit_arrives_whole_in_pieces(endpoint):
    t = telemetry(endpoint, "/aws/lambda/long")
    long = "0123456789" * 60_000
    t.log("s", long)
    t.log("s", report(1))
    t.flush(final=True)
    messages = stored(endpoint, "/aws/lambda/long")
    assert "".join(m for m in messages if not parse_report(m)) == long
    assert t.counts["split"] == 2 and t.counts["lost"] == 0


def test_too_old_event_is_lost_alone_and_a_logs_dropped_record_says_so(endpoint):
    group = "/aws/lambda/old"
    t = telemetry(endpoint, group, "JSON")
    old = time.time() - 15 * 24 * 3600
    t.report("s", Report("old-one", 1.0, 1, 128, 40), old)
    t.report("s", Report("fresh", 1.0, 1, 128, 40), time.time())
    t.flush(final=True)
    messages = stored(endpoint, group)
    assert [parse_report(m)["request_id"] for m in messages if parse_report(m)] == ["fresh"]
    (dropped,) = [parse_logs_dropped(m) for m in messages if parse_logs_dropped(m)]
    assert dropped["events"] == 1 and dropped["reports"] == 1
    assert t.counts["lost"] == 1 and t.counts["reports_lost"] == 1
    logs = t._logs
    now = int(time.time() * 1000)
    summed = fetch_logs_dropped(logs, group, now - 60_000, now + 60_000)
    assert summed == {"events": 1, "bytes": dropped["bytes"], "reports": 1, "records": 1}


# -- failures moto cannot produce: Stubber ---------------------------------------------
def put(messages: list[str]) -> dict:
    return {
        "logGroupName": "g",
        "logStreamName": "s",
        "logEvents": [{"timestamp": ANY, "message": m} for m in messages],
    }


def stubbed() -> tuple[Telemetry, Stubber]:
    t = Telemetry("http://127.0.0.1:9", "us-east-1", "f", "g", "Text")
    stubber = Stubber(t._logs)
    stubber.add_response("create_log_stream", {}, {"logGroupName": "g", "logStreamName": "s"})
    return t, stubber


def test_one_refused_event_is_isolated_by_halving_the_request():
    t, stubber = stubbed()
    messages = [report(i) for i in range(4)]
    refused = ("put_log_events", "InvalidParameterException", "bad event", 400)
    stubber.add_client_error(*refused, expected_params=put(messages))
    stubber.add_response("put_log_events", {}, put(messages[:2]))
    stubber.add_client_error(*refused, expected_params=put(messages[2:]))
    stubber.add_client_error(*refused, expected_params=put(messages[2:3]))
    stubber.add_response("put_log_events", {}, put(messages[3:]))
    stubber.add_response(
        "put_log_events", {}, {"logGroupName": "g", "logStreamName": "s", "logEvents": ANY}
    )
    with stubber:
        for m in messages:
            t.log("s", m)
        t.flush()
        stubber.assert_no_pending_responses()
    assert t.counts["delivered"] == 3 + 1  # three reports and the logsDropped record
    assert t.counts["lost"] == 1 and t.counts["reports_lost"] == 1


def test_a_failed_request_is_retried_with_backoff_then_counted_lost():
    t, stubber = stubbed()
    unavailable = ("put_log_events", "ServiceUnavailableException", "down", 503)
    stubber.add_client_error(*unavailable)
    stubber.add_response("put_log_events", {}, put(["one"]))
    with stubber:
        t.log("s", "one")
        t.flush()  # fails; kept for a retry after its backoff
        assert t.counts["delivered"] == 0 and len(t._pending) == 1
        t.flush()  # too early: not tried again yet
        assert len(t._pending) == 1
        time.sleep(0.55)
        t.flush()
        stubber.assert_no_pending_responses()
    assert t.counts == {**t.counts, "delivered": 1, "retried": 1, "lost": 0}

    t, stubber = stubbed()
    for _ in range(2):
        stubber.add_client_error(*unavailable)
    stubber.add_response(
        "put_log_events", {}, {"logGroupName": "g", "logStreamName": "s", "logEvents": ANY}
    )
    with stubber:
        t.log("s", report(1))
        t.flush()
        t.flush(final=True)  # the end: one last try, then it is lost and said so
        stubber.assert_no_pending_responses()
    assert t.counts["lost"] == 1 and t.counts["reports_lost"] == 1


def test_logs_dropped_record_parses_and_others_do_not():
    record = {"type": "platform.logsDropped", "record": {"droppedRecords": 3, "droppedBytes": 9}}
    assert parse_logs_dropped(json.dumps(record)) == {"events": 3, "bytes": 9, "reports": 0}
    assert parse_logs_dropped(report(1)) is None
    assert parse_logs_dropped('{"type": "platform.report"}') is None
    assert parse_logs_dropped("{not json") is None


def test_a_delivery_delay_holds_young_events_back_until_the_end(endpoint):
    """``local-aws --log-delay``: logs reach CloudWatch late, as on AWS."""
    group = "/aws/lambda/delayed"
    t = telemetry(endpoint, group)
    t.delay_s = 30.0
    now = time.time()
    t.log("s", "old enough", now - 60)
    t.log("s", "too young", now)
    t.flush()
    assert stored(endpoint, group) == ["old enough"]
    t.flush(final=True)  # stopping delivers everything
    assert stored(endpoint, group) == ["old enough", "too young"]


# -- pacing: few, large requests, and a backlog that stays bounded ---------------------
def test_paced_shipping_takes_the_oldest_waiting_stream_and_any_full_or_overdue_one():
    t = Telemetry("http://127.0.0.1:9", "us-east-1", "f", "g")  # never contacted here
    now = time.time()
    t.log("young", "just now", now)
    t.log("older", "a second ago", now - 1.0)
    t.log("oldest", "two seconds ago", now - 2.0)
    t.log("overdue-1", "five seconds ago", now - 5.0)
    t.log("overdue-2", "six seconds ago", now - 6.0)
    for i in range(telemetry_module._FULL_BATCH_EVENTS):
        t.log("busy", f"line {i}", now)  # young, but a full batch
    assert t.backlog() == 5 + telemetry_module._FULL_BATCH_EVENTS
    # Each overdue or full stream, and one waiting stream a tick, the oldest.
    assert sorted(t._due()) == ["busy", "oldest", "overdue-1", "overdue-2"]
    assert list(t._due()) == ["older"]
    assert t._due() == {}  # "young" has not waited half a second yet
    assert t.backlog() == 1


def test_paced_flushes_deliver_every_event_and_the_final_one_the_rest(endpoint):
    group = "/aws/lambda/paced"
    t = telemetry(endpoint, group)
    now = time.time()
    for i in range(6):
        t.log(f"stream-{i}", report(i), now - 1.0)
    t.log("stream-young", report(99), now)
    t.flush(paced=True)
    assert len(stored(endpoint, group)) == 1 and t.backlog() == 6
    for _ in range(5):
        t.flush(paced=True)
    assert t.backlog() == 1  # the young one waits its half second
    t.flush(final=True)
    assert t.backlog() == 0
    assert sorted(stored(endpoint, group)) == sorted([report(i) for i in (*range(6), 99)])
