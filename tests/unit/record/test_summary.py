"""The summary contract: written as JSON and read back whole."""

from __future__ import annotations

import json
import math

from coldbench.record.summary import (
    ClassStats,
    Cost,
    Distribution,
    LostTelemetry,
    SloVerdict,
    Summary,
    Unmatched,
)


def summary(**changes) -> Summary:
    cold = ClassStats(3, 1, e2e_ms=Distribution(3, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0))
    values = dict(
        run_id="r",
        completed=True,
        requests=10,
        failures=1,
        failure_rate=0.1,
        throughput_rps=5.0,
        duration_s=2.0,
        matched=9,
        match_rate=0.9,
        unmatched=Unmatched(1, 1, ("abc",)),
        lost_telemetry=LostTelemetry(2, 1),
        inconsistent_rows=0,
        probe_report_disagreements=0,
        cold_starts=3,
        cold_share=0.3,
        classes={"cold": cold, "warm": ClassStats(7)},
        phases={"c1-ramp": cold},
        errors={"HTTP 502": 1},
        cost_usd=Cost(1.0, 0.5, 0.0, 0.5, 100.0, 2.0),
        slo=(
            SloVerdict("warm_p99_ms", 100.0, None, True),
            SloVerdict("error_rate", 0.01, 0.1, False),
        ),
        max_memory_used_mb=40.0,
        memory_size_mb=128,
        environments={"count": 3},
        target={"kind": "local", "function": {"memory_mb": 128}},
    )
    values.update(changes)
    return Summary(**values)


def test_json_round_trip_is_lossless():
    original = summary()
    data = json.loads(json.dumps(original.to_dict()))
    assert data["slo_ok"] is False and data["classes"]["cold"]["e2e_ms"]["p99"] == 4.0
    assert Summary.from_dict(data) == original


def test_nan_is_written_as_null_and_an_absent_class_reads_as_empty():
    s = summary(max_memory_used_mb=math.nan)
    assert s.to_dict()["max_memory_used_mb"] is None
    assert s.of("provisioned") == ClassStats() and s.of("provisioned").e2e_ms.p99 is None
    assert s.function.memory_mb == 128 and s.function.architecture == "x86_64"
