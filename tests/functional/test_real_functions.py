"""Realistic functions against the local Lambda, compared with what really happened."""

from __future__ import annotations

import csv
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from coldbench.analysis.cloudwatch import logs_client
from coldbench.analysis.collect import collect
from coldbench.analysis.summary import analyse
from coldbench.record.config import build_config
from coldbench.record.rundir import REQUEST_COLUMNS, RunRecord, create_run_dir
from tests.conftest import FUNCTIONS
from tests.functional.test_local_lambda import get, reports, wait_idle


def events(stack) -> list[str]:
    logs = logs_client(stack.target)
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=stack.log_group)
    return [e["message"] for page in pages for e in page["events"]]


def test_a_logged_traceback_is_one_event_and_the_next_line_its_own(local_stack):
    """Read from a pipe, the traceback's last line was glued to the next invocation's
    first line; Lambda gives the runtime a framed channel where a record is one frame."""
    with local_stack(function={"log_format": "Text"}) as stack:
        ids = [get(stack, "/?mode=logexc&tag=first").headers["x-amzn-RequestId"]]
        wait_idle(stack)
        ids.append(get(stack, "/?mode=printline&tag=next").headers["x-amzn-RequestId"])
        reports(stack, 2)
        time.sleep(1.0)
        messages = events(stack)
        (traceback,) = [m for m in messages if "Traceback" in m]
        assert "handled first" in traceback and traceback.rstrip().endswith(
            "ValueError: logged on purpose"
        ), "the whole record, newlines and all, is one event"
        assert "line next" in messages, "print output stays its own line"
        assert not any("line next" in m and "Traceback" in m for m in messages)


def test_each_environment_starts_with_its_own_empty_tmp(local_stack):
    """A download cached in /tmp at init was found by later environments and runs:
    cold starts looked 13x shorter than they are."""
    for _ in range(2):  # a second local Lambda (a second run) sees nothing either
        with local_stack() as stack:
            with ThreadPoolExecutor(3) as pool:
                seen = list(pool.map(lambda _: get(stack, "/?mode=tmp&s=0.3").json(), range(3)))
            assert all(s["seen"] == [] for s in seen), seen
            wait_idle(stack)
            assert len(get(stack, "/?mode=tmp").json()["seen"]) == 1, "its own file stays"
            isolation = stack.target.function.tmp_isolation
            if stack.pool.spec.private_tmp:  # /tmp by name is the environment's own
                assert isolation == "private tmpfs"
                assert {s["tempdir"] for s in seen} == {"/tmp"}
            else:  # only TMPDIR can be private: each environment has its own
                assert isolation == "TMPDIR only"
                assert len({s["tempdir"] for s in seen}) == 3


SLOWINIT = str(FUNCTIONS / "slowinit")


def measured_run(stack, tmp_path, paths: list[str], pause_s: float = 0.0):
    """Requests sent one after another, recorded as the recorder would, then collected
    and analysed: the run's summary and joined rows, and the responses."""
    run_dir = create_run_dir(root=tmp_path / "runs")
    started = time.time()
    record = RunRecord.open(run_dir, stack.target, {}, (), started)
    rows, responses = [], []
    for path in paths:
        begin = time.time()
        response = get(stack, path)
        responses.append(response)
        row = dict.fromkeys(REQUEST_COLUMNS, "")
        row.update(
            start_time=begin,
            e2e_ms=(time.time() - begin) * 1000,
            status=response.status_code,
            ok=int(response.status_code == 200),
            request_id=response.headers.get("x-amzn-RequestId", ""),
            phase="p",
        )
        rows.append(row)
        time.sleep(pause_s)
    with (run_dir / "requests.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=REQUEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    record.close(len(rows), "shape-finished")
    collect(run_dir, wait_s=30, settle_s=2, progress=False)
    result = analyse(run_dir, build_config({}), reports_root=tmp_path / "reports")
    return result, responses


@pytest.fixture
def seen():
    """Where the function writes its ground truth: outside /tmp, which each environment
    sees as its own empty tmpfs."""
    root = Path("/var/tmp") if Path("/var/tmp").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="coldbench-truth-", dir=root) as directory:
        yield Path(directory)


def truth(directory) -> list[dict]:
    return [json.loads(line) for f in sorted(directory.glob("*.jsonl")) for line in f.open()]


@pytest.mark.slow
def test_an_init_past_lambdas_10_s_is_a_cold_start_never_warm(local_stack, tmp_path, seen):
    """An init of 15 s with a 2 s timeout was reported as warm 4, cold 0 (p50 12 s)."""
    function = {
        "variant": "custom",
        "source": SLOWINIT,
        "handler": "app.handler",
        "timeout_s": 4,
        "log_format": "Text",
        "env": {"SLOW_INIT_S": "11", "TRUTH_DIR": str(seen)},
    }
    with local_stack(function=function) as stack:
        result, (response,) = measured_run(stack, tmp_path, ["/"])
        assert response.status_code == 502  # the init ran out of the timeout a second time
        row = result.joined.iloc[0]
        assert row["class"] == "cold" and bool(row["suppressed_init"])
        assert result.summary.suppressed_inits == 1 and result.summary.of("warm").count == 0
        assert row["e2e_ms"] >= 10_000 + 4_000 - 200
        assert row["platform_status"] == "timeout"
        lines = events(stack)
        assert any(
            "INIT_REPORT" in m and "Phase: init" in m and "Status: timeout" in m for m in lines
        )
        assert any("INIT_REPORT" in m and "Phase: invoke" in m for m in lines)
        assert truth(seen) == [], "no init ever finished: the function recorded nothing"


@pytest.mark.slow
def test_a_suppressed_init_that_finishes_serves_the_request_as_a_cold_start(
    local_stack, tmp_path, seen
):
    function = {
        "variant": "custom",
        "source": SLOWINIT,
        "handler": "app.handler",
        "timeout_s": 20,
        "env": {"SLOW_INIT_S": "10.5", "TRUTH_DIR": str(seen)},
    }
    with local_stack(function=function) as stack:
        result, responses = measured_run(stack, tmp_path, ["/", "/"])
        assert [r.status_code for r in responses] == [200, 200]
        first, second = result.joined.sort_values("start_time").to_dict("records")
        assert first["class"] == "cold" and first["suppressed_init"]
        assert first["e2e_ms"] >= 20_000, "10 s of the timed-out init, then 10.5 s again"
        assert second["class"] == "warm"
        served = [t for t in truth(seen) if t["kind"] == "invoke"]
        assert [t["request_id"] for t in served] == [
            r.headers["x-amzn-RequestId"] for r in responses
        ]
        (init,) = [t for t in truth(seen) if t["kind"] == "init"]  # the second init only
        assert init["ended"] - init["started"] >= 10.5


def test_provisioned_environments_are_classified_without_the_probe(local_stack, tmp_path, seen):
    """266 of 284 invocations ran provisioned; the summary said provisioned 0, warm 282."""
    function = {
        "variant": "custom",
        "source": SLOWINIT,
        "handler": "app.handler",
        "provisioned_concurrency": 1,
        "env": {"TRUTH_DIR": str(seen)},
    }
    with local_stack(function=function) as stack:
        wait_idle(stack)
        result, _ = measured_run(stack, tmp_path, ["/"] * 3, pause_s=0.1)
        assert result.summary.of("provisioned").count == 3
        assert result.summary.of("warm").count == 0
        inits = [t for t in truth(seen) if t["kind"] == "init"]
        assert [t["init_type"] for t in inits] == ["provisioned-concurrency"]


@pytest.mark.parametrize("mb", [7, 13])
def test_an_oversized_response_fails_the_request_but_keeps_the_environment(local_stack, mb):
    """A 6 MB + 1 byte response once killed the environment: 68 requests, 68 cold starts;
    one over the Runtime API's 12 MB read limit was reported as Runtime.ExitError."""
    with local_stack() as stack:
        first = get(stack)
        wait_idle(stack)
        big = get(stack, f"/?mode=big&mb={mb}")
        assert big.status_code == 502
        wait_idle(stack)
        after = get(stack)
        assert after.headers["x-coldbench-cold"] == "0"
        assert after.headers["x-coldbench-env"] == first.headers["x-coldbench-env"]
        record = reports(stack, 3)[big.headers["x-amzn-RequestId"]]
        assert (record["status"], record["error_type"]) == (
            "error",
            "Function.ResponseSizeTooLarge",
        )


def test_a_failed_inits_report_shows_the_memory_it_used(local_stack):
    with local_stack(function={"source": str(FUNCTIONS / "initfail")}) as stack:
        failed = get(stack)
        assert failed.status_code == 502
        record = reports(stack, 1)[failed.headers["x-amzn-RequestId"]]
        assert record["max_memory_used_mb"] > 5, "not the placeholder 1 MB"
        assert any("INIT_REPORT" in m or "platform.initReport" in m for m in events(stack))
