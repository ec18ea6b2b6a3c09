"""The local Lambda, driven over real sockets with real awslambdaric environments."""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from coldbench.analysis.cloudwatch import logs_client
from coldbench.analysis.platform import parse_report
from tests.conftest import FUNCTIONS, local_aws_client, signed_get


def get(stack, path="/", **kwargs) -> requests.Response:
    return requests.get(stack.target.url.rstrip("/") + path, timeout=30, **kwargs)


def wait_idle(stack, count: int = 1, timeout_s: float = 10) -> None:
    """Wait until ``count`` environments are idle: one is free again only once its
    runtime has asked for the next event, a moment after it answered."""
    deadline = time.monotonic() + timeout_s
    while stack.pool.status()["states"].get("idle", 0) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stack.pool.status()["states"].get("idle", 0) >= count


def reports(stack, expected: int, timeout_s: float = 15) -> dict[str, dict]:
    """REPORT records read back with boto3 from the stack's CloudWatch endpoint."""
    logs = logs_client(stack.target)
    deadline = time.monotonic() + timeout_s
    found: dict[str, dict] = {}
    while time.monotonic() < deadline:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=stack.log_group)
        for page in pages:
            for event in page["events"]:
                record = parse_report(event["message"])
                if record:
                    found[record["request_id"]] = record
        if len(found) >= expected:
            break
        time.sleep(0.3)
    return found


def datapoints(stack, metric: str, stat: str, period_s: int = 1) -> list[dict]:
    """A metric's datapoints around now, read with boto3 from the stack's CloudWatch,
    once the metrics of the seconds just past have been shipped."""
    time.sleep(2.5)  # metrics are shipped once their second has closed
    cloudwatch = local_aws_client("cloudwatch", stack.target.cloudwatch_endpoint)
    now = time.time()
    return cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName=metric,
        Dimensions=[{"Name": "FunctionName", "Value": stack.function_name}],
        StartTime=now - 60,
        EndTime=now + 60,
        Period=period_s,
        Statistics=[stat],
    )["Datapoints"]


def test_cold_then_warm_with_init_duration_only_on_cold(local_stack):
    with local_stack() as stack:
        first = get(stack)
        wait_idle(stack)
        second = get(stack)
        assert first.status_code == second.status_code == 200
        assert first.headers["x-coldbench-cold"] == "1"
        assert second.headers["x-coldbench-cold"] == "0"
        assert first.headers["x-coldbench-env"] == second.headers["x-coldbench-env"]
        ids = [r.headers["x-amzn-RequestId"] for r in (first, second)]
        found = reports(stack, 2)
        assert set(ids) <= set(found)
        assert found[ids[0]]["init_duration_ms"] > 0
        assert found[ids[1]]["init_duration_ms"] is None
        # Billed Duration includes init for on-demand functions (since August 2025).
        assert found[ids[0]]["billed_duration_ms"] >= found[ids[0]]["init_duration_ms"]


def test_environment_variables_are_lambdas_and_name_the_runtime_that_runs(local_stack):
    with local_stack(function={"runtime": "python3.12", "memory_mb": 256}) as stack:
        env = get(stack, params={"mode": "environ"}).json()
        running = "python{}.{}".format(*sys.version_info[:2])
        # awslambdaric keys its behaviour on this: it must name the interpreter that runs.
        assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{running}"
        assert stack.target.function.runtime == running
        if running != "python3.12":
            assert stack.target.function.configured_runtime == "python3.12"
        assert env["AWS_LAMBDA_FUNCTION_NAME"] == stack.function_name
        assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
        assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
        assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
        assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == stack.log_group
        assert re.fullmatch(
            r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", env["AWS_LAMBDA_LOG_STREAM_NAME"]
        )
        assert env["_HANDLER"] == "app.handler" and env["TZ"] == ":UTC"
        assert (Path(env["LAMBDA_TASK_ROOT"]) / "app.py").is_file()
        assert env["AWS_REGION"] == stack.target.region
        assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA") and env["AWS_SESSION_TOKEN"]
        # Nothing of the machine's own leaks in: not its credentials, not coldbench's config.
        assert env["AWS_ACCESS_KEY_ID"] != os.environ.get("AWS_ACCESS_KEY_ID")
        assert not [key for key in env if key.startswith("COLDBENCH_")]


@pytest.mark.parametrize("freeze", [True, False])
def test_idle_environment_is_frozen(local_stack, freeze):
    """Between invocations a frozen environment's background threads do not run."""
    with local_stack(local={"freeze": freeze}) as stack:
        before = int(get(stack, "/?mode=ticks").text)
        wait_idle(stack)
        time.sleep(0.6)
        (env,) = stack.pool.envs.values()
        with open(f"/proc/{env.proc.pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        progressed = int(get(stack, "/?mode=ticks").text) - before
        if freeze:
            assert state == "T"  # stopped
            assert progressed < 20  # ran for the grace before the freeze, not 0.6 s
        else:
            assert state != "T"
            assert progressed > 30


def test_text_log_format_writes_report_lines(local_stack):
    with local_stack(function={"log_format": "Text"}) as stack:
        response = get(stack)
        found = reports(stack, 1)
        assert response.headers["x-amzn-RequestId"] in found


def test_concurrent_requests_make_that_many_environments(local_stack):
    with local_stack() as stack, ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: get(stack, "/?mode=sleep&s=0.5"), range(4)))
        assert [r.status_code for r in responses] == [200] * 4
        assert stack.pool.status()["cold_starts"] == 4


def test_throttled_beyond_concurrency_limit(local_stack):
    with local_stack(function={"reserved_concurrency": 2}) as stack, ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: get(stack, "/?mode=sleep&s=1"), range(4)))
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 200, 429, 429]
        throttled = next(r for r in responses if r.status_code == 429)
        assert throttled.json() == {"Message": "Rate Exceeded."}


def test_idle_environments_are_reaped_after_keep_alive(local_stack):
    with local_stack(local={"keep_alive_min_s": 1, "keep_alive_max_s": 1}) as stack:
        first = get(stack)
        deadline = time.monotonic() + 10  # idle once its runtime asks for more, reaped 1 s later
        while stack.pool.status()["environments"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stack.pool.status()["environments"] == 0
        assert stack.pool.status()["reaped"] == 1
        second = get(stack)
        assert second.headers["x-coldbench-cold"] == "1"
        assert second.headers["x-coldbench-env"] != first.headers["x-coldbench-env"]


def test_provisioned_environments_are_ready_and_never_cold(local_stack):
    with local_stack(function={"provisioned_concurrency": 2}) as stack:
        assert stack.pool.status()["states"] == {"idle": 2}
        response = get(stack)
        assert response.headers["x-coldbench-init-type"] == "provisioned-concurrency"
        assert response.headers["x-coldbench-cold"] == "0"
        found = reports(stack, 1)
        assert found[response.headers["x-amzn-RequestId"]]["init_duration_ms"] is None


def test_timeout_kills_the_environment_and_returns_502(local_stack):
    with local_stack(function={"timeout_s": 1}) as stack:
        response = get(stack, "/?mode=sleep&s=5")
        assert response.status_code == 502
        found = reports(stack, 1)
        assert found[response.headers["x-amzn-RequestId"]]["status"] == "timeout"
        assert get(stack).headers["x-coldbench-cold"] == "1"


def test_unhandled_error_is_502_and_environment_survives(local_stack):
    with local_stack() as stack:
        warm = get(stack)
        wait_idle(stack)
        failed = get(stack, "/?mode=raise")
        assert failed.status_code == 502
        assert failed.text == "Internal Server Error"
        wait_idle(stack)
        after = get(stack)
        assert after.headers["x-coldbench-env"] == warm.headers["x-coldbench-env"]
        assert reports(stack, 3)[failed.headers["x-amzn-RequestId"]]["status"] == "error"


def test_crash_is_502_and_environment_replaced(local_stack):
    with local_stack() as stack:
        before = get(stack)
        wait_idle(stack)
        assert get(stack, "/?mode=crash").status_code == 502
        after = get(stack)
        assert after.status_code == 200
        assert after.headers["x-coldbench-cold"] == "1"
        assert after.headers["x-coldbench-env"] != before.headers["x-coldbench-env"]


def test_two_local_lambdas_at_once_each_see_their_environments_end(local_stack):
    """Each stack runs its own event loop; every environment's exit must still reach the
    loop that started it (the child watcher is shared by the process)."""
    with local_stack() as one, local_stack() as two:
        for stack in (one, two):
            assert get(stack).status_code == 200
            wait_idle(stack)
            crashed = get(stack, "/?mode=crash")
            assert crashed.status_code == 502
            # Seen as an exit, not left to run into the function timeout.
            record = reports(stack, 2)[crashed.headers["x-amzn-RequestId"]]
            assert (record["status"], record["error_type"]) == ("error", "Runtime.ExitError")
            assert get(stack).headers["x-coldbench-cold"] == "1"


def test_init_error_is_502(local_stack):
    source = {"source": str(FUNCTIONS / "initfail")}
    with local_stack(function=source) as stack:
        response = get(stack)
        assert response.status_code == 502
        assert reports(stack, 1)[response.headers["x-amzn-RequestId"]]["status"] == "error"


def test_memory_over_size_ends_environment(local_stack):
    with local_stack(function={"memory_mb": 128}) as stack:
        response = get(stack, "/?mode=hog&mb=300")
        assert response.status_code == 502
        record = reports(stack, 1)[response.headers["x-amzn-RequestId"]]
        assert record["status"] == "error"
        assert record["error_type"] == "Runtime.OutOfMemory"


def test_request_and_response_payload_limits(local_stack):
    with local_stack() as stack:
        too_big = requests.post(stack.target.url, data=b"x" * (6 * 1024 * 1024 + 10), timeout=30)
        assert too_big.status_code == 413
        assert "x-amzn-RequestId" in too_big.headers
        assert get(stack, "/?mode=big").status_code == 502


def test_result_inference_rules(local_stack):
    with local_stack() as stack:
        text = get(stack, "/?mode=string")
        assert (text.status_code, text.text) == (200, "plain text")
        assert text.headers["content-type"] == "application/json"
        assert get(stack, "/?mode=list").text == "[1,2,3]"


def test_event_is_payload_v2_read_by_powertools(local_stack):
    from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver
    from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent

    with local_stack() as stack:
        response = requests.post(
            stack.target.url.rstrip("/") + "/items/42?mode=echo&tag=a&tag=b",
            data=b"\x00\x01binary",
            headers={
                "Content-Type": "application/octet-stream",
                "X-Dup": "1",
                "Cookie": "a=1; b=2",
            },
            timeout=30,
        )
        event = response.json()
    parsed = LambdaFunctionUrlEvent(event)
    assert parsed.request_context.http.method == "POST"
    assert parsed.raw_path == "/items/42"
    assert parsed.query_string_parameters["tag"] == "a,b"
    assert parsed.cookies == ["a=1", "b=2"]
    assert parsed.is_base64_encoded and parsed.decoded_body == "\x00\x01binary"
    assert event["requestContext"]["requestId"] == response.headers["x-amzn-RequestId"]
    assert "authorizer" not in event["requestContext"]

    app = LambdaFunctionUrlResolver()

    @app.post("/items/<item_id>")
    def item(item_id):
        return {"item": item_id, "tag": app.current_event.get_query_string_value("tag")}

    routed = app.resolve(event, None)
    assert routed["statusCode"] == 200
    assert json.loads(routed["body"]) == {"item": "42", "tag": "a,b"}
    assert base64.b64decode(event["body"]) == b"\x00\x01binary"


def test_aws_iam_accepts_signed_and_refuses_unsigned(local_stack):
    with local_stack(url={"auth": "AWS_IAM"}) as stack:
        assert signed_get(stack.target, "/?mode=echo").status_code == 200
        echoed = signed_get(stack.target, "/?mode=echo").json()
        assert echoed["requestContext"]["authorizer"]["iam"]["accountId"]
        edge = {k: echoed["headers"][k] for k in ("x-forwarded-proto", "x-forwarded-port")}
        assert edge == {"x-forwarded-proto": "https", "x-forwarded-port": "443"}
        assert echoed["headers"]["x-amzn-tls-version"].startswith("TLS")
        unsigned = get(stack)
        assert unsigned.status_code == 403
        assert unsigned.content == (  # byte for byte what AWS answers
            b'{"Message":"Forbidden. For troubleshooting Function URL authorization issues, '
            b'see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}'
        )
        assert unsigned.headers["x-amzn-ErrorType"] == "AccessDeniedException"
        headers = dict(signed_get(stack.target).request.headers)
        headers["Authorization"] = headers["Authorization"][:-4] + "0000"
        assert (
            get(
                stack, headers={k: v for k, v in headers.items() if k != "Content-Length"}
            ).status_code
            == 403
        )


def test_metrics_readable_with_boto3(local_stack):
    with local_stack() as stack:
        for _ in range(3):
            get(stack)
        points = datapoints(stack, "Invocations", "Sum", period_s=60)
        assert sum(p["Sum"] for p in points) == pytest.approx(3)


def test_provisioned_environment_that_dies_is_replaced(local_stack):
    with local_stack(function={"provisioned_concurrency": 1}) as stack:
        first = get(stack)
        assert first.headers["x-coldbench-init-type"] == "provisioned-concurrency"
        wait_idle(stack)
        assert get(stack, "/?mode=crash").status_code == 502
        deadline = time.monotonic() + 15
        while stack.pool.status()["states"] != {"idle": 1} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stack.pool.status()["replaced"] == 1
        again = get(stack)
        assert again.headers["x-coldbench-init-type"] == "provisioned-concurrency"
        assert again.headers["x-coldbench-env"] != first.headers["x-coldbench-env"]


def test_provisioned_environment_whose_init_fails_is_not_respawned_forever(local_stack):
    with local_stack(
        function={"provisioned_concurrency": 1, "source": str(FUNCTIONS / "initfail")}
    ) as stack:
        time.sleep(1.0)
        assert stack.pool.status()["replaced"] == 0
        assert get(stack).status_code == 502  # spills over to on-demand, whose init fails too


def test_empty_and_long_lines_printed_by_the_function_lose_no_report(local_stack):
    """An empty line once made CloudWatch refuse its whole batch: every REPORT of it lost."""
    with local_stack() as stack:
        ids = []
        for i in range(12):
            mode = "blank" if i % 4 == 1 else "ok"
            long = 2_000_000 if i == 5 else 300_000 if i == 9 else 0
            response = get(stack, f"/?mode={mode}&long={long}")
            assert response.status_code == 200
            ids.append(response.headers["x-amzn-RequestId"])
        found = reports(stack, len(ids))
        assert set(ids) <= set(found), "every REPORT record reached CloudWatch"
        logs = logs_client(stack.target)
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=stack.log_group)
        messages = [e["message"] for page in pages for e in page["events"]]
        assert "" not in messages and "blank-edged" in messages
        assert sum(m.count("y") for m in messages if set(m) == {"y"}) == 2_300_000, (
            "every byte of a long line is kept, split into events of at most 256 KB"
        )
        assert max(len(m.encode()) for m in messages) <= 262_118
        counts = stack.pool.status()["telemetry"]
        assert counts["lost"] == 0 and counts["empty"] == 0


def test_concurrency_metric_log_retention_and_json_records_as_lambda_writes_them(local_stack):
    """ConcurrentExecutions was sampled when invocations ended (4 when 10 were in flight);
    the log group had no retention; JSON format wrote platform.end, which Lambda does not."""
    with local_stack(function={"log_retention_days": 5}) as stack:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: get(stack, "/?mode=sleep&s=1.5"), range(8)))
        assert all(a.status_code == 200 for a in answers)
        peaks = sorted(p["Maximum"] for p in datapoints(stack, "ConcurrentExecutions", "Maximum"))
        assert peaks and peaks[-1] == 8, peaks
        assert sum(1 for p in peaks if p == 8) >= 1, "every second of the 1.5 s had all 8 busy"
        logs = logs_client(stack.target)
        (group,) = logs.describe_log_groups(logGroupNamePrefix=stack.log_group)["logGroups"]
        assert group["retentionInDays"] == 5
        found = reports(stack, 8)
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=stack.log_group)
        types = {json.loads(e["message"]).get("type") for p in pages for e in p["events"]}
        assert "platform.end" not in types and {"platform.start", "platform.report"} <= types
        assert len(found) == 8
