"""The collector: throttling and transient errors (Stubber), and a real moto server."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from coldbench.analysis.cloudwatch import RETRIES, fetch_reports, logs_client
from coldbench.analysis.collect import collect
from coldbench.analysis.errors import CollectError
from coldbench.record.rundir import REQUEST_COLUMNS, RunRecord
from coldbench.record.target import Target
from tests.conftest import local_aws_client

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


class Throttling(http.server.BaseHTTPRequestHandler):
    """CloudWatch Logs over a real socket that throttles before some pages."""

    script: list = []  # per call: "throttle" or (events, next token)
    calls: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append(body)
        answer = type(self).script.pop(0) if type(self).script else "throttle"
        if answer == "throttle":
            status, out = 400, {"__type": "ThrottlingException", "message": "Rate exceeded"}
        else:
            events, token = answer
            out = {
                "events": [
                    {"timestamp": 1, "message": m, "logStreamName": "s", "eventId": str(i)}
                    for i, m in enumerate(events)
                ],
                **({"nextToken": token} if token else {}),
            }
            status = 200
        data = json.dumps(out).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def throttling_logs():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Throttling)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Throttling.script, Throttling.calls = [], []
    target = Target(
        kind="local",
        url="http://x/",
        auth="NONE",
        region="us-east-1",
        function_name="f",
        cloudwatch_endpoint=f"http://127.0.0.1:{server.server_address[1]}",
    )
    try:
        yield target
    finally:
        server.shutdown()


def test_collector_survives_throttling_through_botocores_retries(throttling_logs):
    """One retry policy: botocore's adaptive mode retries each page; the token is kept."""
    Throttling.script = [
        "throttle",
        "throttle",
        (TEXT_EVENTS[:5], "t1"),
        "throttle",
        (TEXT_EVENTS[5:], None),
    ]
    logs = logs_client(throttling_logs)
    found, skipped = fetch_reports(logs, "/aws/lambda/f", '"REPORT RequestId"', 0, 100, slices=1)
    assert sorted(found) == sorted(RID)
    assert found[RID[0]]["init_duration_ms"] == 227.21 and found[RID[2]]["status"] == "timeout"
    assert skipped == 5  # INIT_START, START, output, END, and the broken REPORT
    assert [c.get("nextToken") for c in Throttling.calls] == [None, None, None, "t1", "t1"]


def test_collector_gives_up_when_throttling_outlasts_the_retries(throttling_logs):
    assert RETRIES.retries == {"mode": "adaptive", "total_max_attempts": 11}
    quick = BotoConfig(retries={"mode": "adaptive", "max_attempts": 2})  # a short test
    logs = boto3.client(
        "logs",
        endpoint_url=throttling_logs.cloudwatch_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=quick,
    )
    with pytest.raises(ClientError, match="Throttling"):
        fetch_reports(logs, "/aws/lambda/f", "x", 0, 100, slices=1)
    assert len(Throttling.calls) == 3  # the first call and max_attempts retries


def make_run(tmp_path, endpoint, log_group, log_format, ids, function_name="f"):
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
        "function_name": function_name,
        "log_group": log_group,
        "cloudwatch_endpoint": endpoint,
        "function": {"log_format": log_format},
    }
    RunRecord.open(run_dir, Target.from_dict(target), {}, (), now - 5).close(len(ids), "x", now + 1)
    return run_dir


def put(endpoint, group, messages, ago_ms=0):
    logs = local_aws_client("logs", endpoint)
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=group, logStreamName="2026/11/22/[$LATEST]abc")
    now = int(time.time() * 1000) - ago_ms
    logs.put_log_events(
        logGroupName=group,
        logStreamName="2026/11/22/[$LATEST]abc",
        logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)],
    )


def put_invocations(endpoint, function_name, count, at_s):
    cloudwatch = local_aws_client("cloudwatch", endpoint)
    cloudwatch.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "FunctionName", "Value": function_name}],
                "Timestamp": datetime.fromtimestamp(int(at_s), UTC),
                "Value": count,
                "Unit": "Count",
                "StorageResolution": 1,
            }
        ],
    )


def test_collect_text_format_from_a_real_moto_server(tmp_path, moto_server):
    put(moto_server, "/aws/lambda/text", TEXT_EVENTS)
    run_dir = make_run(tmp_path, moto_server, "/aws/lambda/text", "Text", RID, "text")
    incomplete = collect(run_dir, wait_s=3, settle_s=1, progress=False)
    assert incomplete.records == 3 and not incomplete.complete, "no metrics yet: incomplete"
    assert RunRecord.read(run_dir).collection.metrics_complete is False
    put_invocations(moto_server, "text", 3, RunRecord.read(run_dir).started_ms / 1000 + 2)
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
    run = RunRecord.read(run_dir)
    assert run.collection is not None and run.collection.complete is False


def test_collect_error_is_reported_and_marked_incomplete(tmp_path, moto_server):
    run_dir = make_run(tmp_path, moto_server, "/aws/lambda/missing", "Text", RID[:1])
    with pytest.raises(CollectError, match="incomplete"):
        collect(run_dir, wait_s=2, settle_s=0, progress=False)
    run = json.loads((run_dir / "run.json").read_text())
    assert (
        run["collection"]["complete"] is False and "FilterLogEvents" in run["collection"]["error"]
    )


def test_lost_log_events_reach_run_json_summary_and_console(tmp_path, moto_server):
    from coldbench.analysis.console import one_screen
    from coldbench.analysis.join import join, load_platform, load_requests
    from coldbench.analysis.summary import build_summary
    from coldbench.record.config import Config

    dropped = {
        "time": "2026-11-22T00:00:00.000Z",
        "type": "platform.logsDropped",
        "record": {"reason": "x", "droppedRecords": 7, "droppedBytes": 700, "droppedReports": 2},
    }
    put(moto_server, "/aws/lambda/lossy", [*TEXT_EVENTS[4:6], json.dumps(dropped)])
    run_dir = make_run(tmp_path, moto_server, "/aws/lambda/lossy", "Text", RID)
    result = collect(run_dir, wait_s=3, settle_s=1, progress=False)
    assert result.logs_dropped == {"events": 7, "bytes": 700, "reports": 2, "records": 1}
    run = RunRecord.read(run_dir)
    assert run.collection is not None and run.collection.logs_dropped["reports"] == 2
    df = join(load_requests(run_dir), load_platform(run_dir))
    summary = build_summary(run, df, Config())
    assert (summary.lost_telemetry.log_events, summary.lost_telemetry.report_records) == (7, 2)
    assert "7 log events were lost" in one_screen(summary)


def test_reports_of_invocations_before_the_run_are_counted_apart(tmp_path, moto_server):
    """collect once said 1904/1901: three REPORTs were of invocations before the run."""
    early = "99999999-9999-4999-8999-999999999999"
    put(moto_server, "/aws/lambda/before", [TEXT_EVENTS[5].replace(RID[1], early)], ago_ms=15_000)
    put(moto_server, "/aws/lambda/before", TEXT_EVENTS[4:7])
    run_dir = make_run(tmp_path, moto_server, "/aws/lambda/before", "Text", RID, "before")
    put_invocations(moto_server, "before", 3, RunRecord.read(run_dir).started_ms / 1000 + 2)
    result = collect(run_dir, wait_s=5, settle_s=0, progress=False)
    assert result.records == 3 == result.expected and result.complete
    run = RunRecord.read(run_dir)
    assert run.collection is not None and run.collection.other_records == 1
    joined = [json.loads(line)["request_id"] for line in (run_dir / "platform.jsonl").open()]
    assert early not in joined


def _old_run(tmp_path, endpoint, group, count):
    """A run that ended five minutes ago: its REPORT records spread over eight one-minute
    windows of the log group, all past the ingestion lag."""
    now = time.time()
    started, ended = now - 600, now - 300
    ids = [f"{i:08x}-aaaa-4aaa-8aaa-{i:012x}" for i in range(count)]
    run_dir = make_run(tmp_path, endpoint, group, "Text", ids, "old")
    record = RunRecord.read(run_dir)
    import dataclasses

    dataclasses.replace(record, started_ms=int(started * 1000), ended_ms=int(ended * 1000)).write()
    logs = local_aws_client("logs", endpoint)
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    at = [int((started + (ended - started) * i / count) * 1000) for i in range(count)]
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[
            {"timestamp": t, "message": f"REPORT RequestId: {rid}\tDuration: 1.00 ms\t"
             "Billed Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t"}
            for t, rid in zip(at, ids, strict=True)
        ],
    )  # fmt: skip
    put_invocations(endpoint, "old", count, started + 10)
    return run_dir, ids


@pytest.mark.parametrize("stopped_by", ["throttling", "ctrl-c"])
def test_a_collect_stopped_midway_resumes_where_it_stopped(
    tmp_path, moto_server, monkeypatch, stopped_by
):
    """Throttling that outlasts the retries (injected in front of moto), or Ctrl-C,
    stops a collect after three windows; the windows read are kept, and the next collect
    reads only the others and ends complete."""
    from coldbench.analysis import collect as collect_module

    group = f"/aws/lambda/resume-{stopped_by}"
    run_dir, ids = _old_run(tmp_path, moto_server, group, 40)
    reads: list[int] = []
    allowed = [3]
    real_client = collect_module.client

    def counted_client(target, service):
        made = real_client(target, service)

        def before(params, **kwargs):
            call = json.loads(params["body"])  # the request as it would be sent
            if call.get("filterPattern") != '"REPORT RequestId"':
                return None
            with lock:
                if allowed[0] <= 0:
                    if stopped_by == "ctrl-c":
                        raise KeyboardInterrupt
                    error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
                    return (type("R", (), {"status_code": 400, "headers": {}})(), error)
                allowed[0] -= 1
                reads.append(call["startTime"])
            return None

        made.meta.events.register("before-call.cloudwatch-logs.FilterLogEvents", before)
        return made

    lock = threading.Lock()
    monkeypatch.setattr(collect_module, "client", counted_client)
    raised = CollectError if stopped_by == "throttling" else KeyboardInterrupt
    with pytest.raises(raised):
        collect(run_dir, wait_s=20, settle_s=1, progress=False)
    kept = sorted((run_dir / ".collect").glob("reports-*.json"))
    assert len(kept) == 3 and len(reads) == 3

    first_reads = list(reads)
    reads.clear()
    allowed[0] = 100
    result = collect(run_dir, wait_s=20, settle_s=1, progress=False)
    assert result.complete and result.records == 40
    assert not set(reads) & set(first_reads), "a window kept is never read again"
    assert len(reads) == 8 - 3
    records = [json.loads(line) for line in (run_dir / "platform.jsonl").open()]
    assert sorted(r["request_id"] for r in records) == sorted(ids)
