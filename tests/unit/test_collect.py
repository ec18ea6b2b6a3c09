"""The collector: throttling and transient errors (Stubber), and a real moto server."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from coldbench.analysis.collect import collect, fetch_reports
from coldbench.analysis.errors import CollectError
from coldbench.infra.local.stack import MotoServer
from coldbench.record.rundir import REQUEST_COLUMNS, write_run_json

RID = [
    "11111111-1111-4111-8111-111111111111",
    "22222222-2222-4222-8222-222222222222",
    "33333333-3333-4333-8333-333333333333",
]
TEXT_EVENTS = [
    "INIT_START Runtime Version: python:3.12.v64\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:abc",
    f"START RequestId: {RID[0]} Version: $LATEST",
    "some output the function printed",
    f"END RequestId: {RID[0]}",
    f"REPORT RequestId: {RID[0]}\tDuration: 102.25 ms\tBilled Duration: 330 ms\tMemory Size: 128 MB\t"
    "Max Memory Used: 40 MB\tInit Duration: 227.21 ms\t\nXRAY TraceId: 1-abc\tSegmentId: 01\tSampled: true\t",
    f"REPORT RequestId: {RID[1]}\tDuration: 1.10 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 41 MB\t",
    f"REPORT RequestId: {RID[2]}\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\t"
    "Max Memory Used: 41 MB\tStatus: timeout",
    "REPORT RequestId: broken\tDuration: soon",
]


def page(events, token=None):
    out = {
        "events": [
            {"timestamp": 1, "message": m, "logStreamName": "s", "eventId": str(i)}
            for i, m in enumerate(events)
        ]
    }
    if token:
        out["nextToken"] = token
    return out


def throttled(stubber, times):
    for _ in range(times):
        stubber.add_client_error("filter_log_events", "ThrottlingException", "Rate exceeded", 400)


def test_collector_survives_throttling_and_resumes_at_the_token():
    logs = boto3.client("logs", region_name="us-east-1")
    with Stubber(logs) as stubber:
        throttled(stubber, 2)
        stubber.add_response("filter_log_events", page(TEXT_EVENTS[:5], token="t1"))
        throttled(stubber, 1)
        stubber.add_response("filter_log_events", page(TEXT_EVENTS[5:]))
        found, skipped = fetch_reports(
            logs, "/aws/lambda/f", '"REPORT RequestId"', 0, 100, sleep=lambda _: None, slices=1
        )
        stubber.assert_no_pending_responses()
    assert sorted(found) == sorted(RID)
    assert found[RID[0]]["init_duration_ms"] == 227.21 and found[RID[2]]["status"] == "timeout"
    assert skipped == 5  # INIT_START, START, output, END, and the broken REPORT


def test_collector_gives_up_after_bounded_retries():
    logs = boto3.client("logs", region_name="us-east-1")
    with Stubber(logs) as stubber:
        throttled(stubber, 9)
        with pytest.raises(ClientError):
            fetch_reports(logs, "/aws/lambda/f", "x", 0, 100, sleep=lambda _: None, slices=1)


@pytest.fixture(scope="module")
def moto_server():
    server = MotoServer()
    server.start()
    try:
        yield server.endpoint
    finally:
        server.stop()


def make_run(tmp_path, endpoint, log_group, log_format, ids):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    now = time.time()
    with (run_dir / "requests.csv").open("w") as f:
        f.write(",".join(REQUEST_COLUMNS) + "\n")
        for rid in ids:
            row = dict.fromkeys(REQUEST_COLUMNS, "")
            row.update(start_time=now, e2e_ms=5, status=200, ok=1, request_id=rid)
            f.write(",".join(str(row[c]) for c in REQUEST_COLUMNS) + "\n")
    target = {
        "kind": "local",
        "url": "http://x/",
        "auth": "NONE",
        "region": "us-east-1",
        "function_name": "f",
        "log_group": log_group,
        "cloudwatch_endpoint": endpoint,
        "function": {"log_format": log_format},
    }
    write_run_json(
        run_dir, started_ms=int(now * 1000) - 5000, ended_ms=int(now * 1000) + 1000, target=target
    )
    return run_dir


def put(endpoint, group, messages):
    logs = boto3.client(
        "logs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="2026/11/22/[$LATEST]abc")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName="2026/11/22/[$LATEST]abc",
        logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)],
    )


def test_collect_text_format_from_a_real_moto_server(tmp_path, moto_server):
    put(moto_server, "/aws/lambda/text", TEXT_EVENTS)
    run_dir = make_run(tmp_path, moto_server, "/aws/lambda/text", "Text", RID)
    result = collect(run_dir, wait_s=10, settle_s=0, progress=False)
    assert result.complete and result.records == 3
    records = [json.loads(line) for line in (run_dir / "platform.jsonl").open()]
    assert {r["request_id"] for r in records} == set(RID)
    assert all(r["log_stream"] == "2026/11/22/[$LATEST]abc" for r in records)
    assert (run_dir / "metrics.csv").read_text().startswith("timestamp,metric")


def test_collect_json_format_and_incomplete_when_records_are_missing(tmp_path, moto_server):
    report = {
        "time": "2026-11-22T00:00:00.000Z",
        "type": "platform.report",
        "record": {
            "requestId": RID[0],
            "metrics": {
                "durationMs": 2.5,
                "billedDurationMs": 3,
                "memorySizeMB": 128,
                "maxMemoryUsedMB": 50,
            },
            "status": "success",
        },
    }
    start = {
        "time": "2026-11-22T00:00:00.000Z",
        "type": "platform.start",
        "record": {"requestId": RID[0]},
    }
    put(
        moto_server,
        "/aws/lambda/json",
        [json.dumps(start), json.dumps(report), '{"level":"INFO","message":"hi"}'],
    )
    run_dir = make_run(tmp_path, moto_server, "/aws/lambda/json", "JSON", RID[:2])
    result = collect(run_dir, wait_s=3, settle_s=1, progress=False)
    assert result.records == 1 and result.expected == 2 and not result.complete
    run = json.loads((run_dir / "run.json").read_text())
    assert run["collection"]["complete"] is False


def test_collect_error_is_reported_and_marked_incomplete(tmp_path, moto_server):
    run_dir = make_run(tmp_path, moto_server, "/aws/lambda/missing", "Text", RID[:1])
    with pytest.raises(CollectError, match="incomplete"):
        collect(run_dir, wait_s=2, settle_s=0, progress=False)
    run = json.loads((run_dir / "run.json").read_text())
    assert (
        run["collection"]["complete"] is False and "FilterLogEvents" in run["collection"]["error"]
    )


def test_lost_log_events_reach_run_json_summary_and_console(tmp_path, moto_server):
    from coldbench.analysis.join import join, load_platform, load_requests
    from coldbench.analysis.summary import build_summary, one_screen
    from coldbench.record.config import Config
    from coldbench.record.rundir import read_run_json

    dropped = {
        "time": "2026-11-22T00:00:00.000Z",
        "type": "platform.logsDropped",
        "record": {"reason": "x", "droppedRecords": 7, "droppedBytes": 700, "droppedReports": 2},
    }
    put(moto_server, "/aws/lambda/lossy", [*TEXT_EVENTS[4:6], json.dumps(dropped)])
    run_dir = make_run(tmp_path, moto_server, "/aws/lambda/lossy", "Text", RID)
    result = collect(run_dir, wait_s=3, settle_s=1, progress=False)
    assert result.logs_dropped == {"events": 7, "bytes": 700, "reports": 2, "records": 1}
    run = read_run_json(run_dir)
    assert run["collection"]["logs_dropped"]["reports"] == 2
    df = join(load_requests(run_dir), load_platform(run_dir))
    summary = build_summary(run, df, Config())
    assert summary["lost_telemetry"] == {"log_events": 7, "report_records": 2}
    assert "7 log events were lost" in one_screen(summary)
