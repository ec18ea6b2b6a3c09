from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from coldbench.analysis.platform import parse_report
from coldbench.infra.local.telemetry import Report, iso_ms, report_json, report_text

RID = "3604209a-e9a3-11e6-939a-754dd98c7be3"


def test_text_variants_real_lambda_writes():
    warm = f"REPORT RequestId: {RID}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\t"
    record = parse_report(warm)
    assert record["request_id"] == RID and record["duration_ms"] == 12.34
    assert record["billed_duration_ms"] == 13 and record["init_duration_ms"] is None
    cold = (
        warm
        + "Init Duration: 142.52 ms\t\nXRAY TraceId: 1-5e8a-abc\tSegmentId: 0f\tSampled: true\t"
    )
    assert parse_report(cold)["init_duration_ms"] == 142.52
    snap = warm + "Restore Duration: 310.2 ms\tBilled Restore Duration: 120 ms\t"
    snap_record = parse_report(snap)
    assert (
        snap_record["restore_duration_ms"] == 310.2
        and snap_record["billed_restore_duration_ms"] == 120
    )
    timeout = warm + "Status: timeout\t"
    assert parse_report(timeout)["status"] == "timeout"
    error = warm + "Status: error\tError Type: Runtime.OutOfMemory\t"
    assert parse_report(error)["error_type"] == "Runtime.OutOfMemory"


def test_json_platform_report():
    message = json.dumps(
        {
            "time": "2026-11-22T10:00:00.000Z",
            "type": "platform.report",
            "record": {
                "requestId": RID,
                "metrics": {
                    "durationMs": 1.5,
                    "billedDurationMs": 2,
                    "memorySizeMB": 128,
                    "maxMemoryUsedMB": 40,
                    "initDurationMs": 99.1,
                },
                "status": "timeout",
            },
        }
    )
    record = parse_report(message)
    assert record["init_duration_ms"] == 99.1 and record["status"] == "timeout"


def test_non_records_are_skipped():
    for message in [
        "START RequestId: x Version: $LATEST",
        "",
        "{not json",
        '{"type":"platform.start"}',
        "REPORT RequestId: x\tDuration: n/a ms",
        "hello",
    ]:
        assert parse_report(message) is None


reports = st.builds(
    Report,
    request_id=st.uuids().map(str),
    duration_ms=st.floats(0, 900_000, allow_nan=False).map(lambda x: round(x, 2)),
    billed_duration_ms=st.integers(1, 900_000),
    memory_size_mb=st.integers(128, 10240),
    max_memory_used_mb=st.integers(1, 10240),
    init_duration_ms=st.none() | st.floats(0, 10_000, allow_nan=False).map(lambda x: round(x, 2)),
    status=st.sampled_from(["success", "error", "timeout"]),
    error_type=st.sampled_from(["", "Runtime.ExitError"]),
)


@given(reports)
def test_what_the_local_lambda_writes_parses_back(report):
    for message in (report_text(report), report_json(report, 0.0)):
        record = parse_report(message)
        assert record["request_id"] == report.request_id
        assert record["duration_ms"] == report.duration_ms
        assert record["billed_duration_ms"] == report.billed_duration_ms
        assert record["init_duration_ms"] == report.init_duration_ms
        assert record["status"] == report.status


@given(st.text())
def test_arbitrary_text_never_crashes(message):
    result = parse_report(message)
    assert result is None or result["request_id"]


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_iso_ms_matches_datetime(epoch_s):
    """The cached formatter writes what datetime would, rounding included."""
    expected = datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    assert iso_ms(epoch_s) == expected
