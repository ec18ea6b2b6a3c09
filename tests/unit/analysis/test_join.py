"""The join and classification on synthetic runs whose answers are known."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from coldbench.analysis import classes
from coldbench.analysis.join import join, join_files, load_platform, load_requests, read_joined
from coldbench.analysis.stats import describe, environments
from coldbench.analysis.summary import build_summary
from coldbench.record.config import Config
from coldbench.record.rundir import REQUEST_COLUMNS, RunRecord
from coldbench.record.target import Target


def request_row(**kw) -> dict:
    row = dict.fromkeys(REQUEST_COLUMNS, "")
    row.update(
        start_time=100.0,
        e2e_ms=10.0,
        method="GET",
        name="/",
        status=200,
        ok=1,
        worker="local",
        phase="c1-hold",
    )
    row.update(kw)
    return row


def write_run(tmp_path, rows, records):
    pd.DataFrame(rows, columns=REQUEST_COLUMNS).to_csv(tmp_path / "requests.csv", index=False)
    with (tmp_path / "platform.jsonl").open("w") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")
    return join(load_requests(tmp_path), load_platform(tmp_path))


def report(rid, duration, init=None, stream="s1"):
    return {
        "request_id": rid,
        "timestamp": 0,
        "duration_ms": duration,
        "billed_duration_ms": duration,
        "memory_size_mb": 128,
        "max_memory_used_mb": 40,
        "init_duration_ms": init,
        "status": "success",
        "log_stream": stream,
    }


def test_classes_and_decomposition(tmp_path):
    rows = [
        request_row(
            request_id="A",
            e2e_ms=300,
            cold=1,
            env_id="e1",
            init_type="on-demand",
            init_start=99.9,
            init_ms=250,
            seq=1,
        ),
        request_row(
            request_id="B",
            e2e_ms=12,
            cold=0,
            env_id="e1",
            init_type="on-demand",
            init_start=99.9,
            init_ms=250,
            seq=2,
            start_time=101,
        ),
        request_row(
            request_id="C",
            e2e_ms=15,
            cold=1,
            env_id="e2",
            init_type="on-demand",
            init_start=80,
            init_ms=200,
            seq=1,
            start_time=102,
        ),
        request_row(
            request_id="D",
            e2e_ms=8,
            cold=0,
            env_id="e3",
            init_type="provisioned-concurrency",
            init_start=50,
            init_ms=200,
            seq=1,
        ),
        request_row(
            request_id="E", e2e_ms=5, cold=0, env_id="e1", seq=3, start_time=103
        ),  # no REPORT
        request_row(request_id="F", e2e_ms=1, status=429, ok=0, error="HTTP 429"),  # throttled
    ]
    records = [
        report("a", 2.0, init=260.0),
        report("B", 3.0),
        report("C", 4.0, stream="s2"),
        report("D", 2.5, stream="s3"),
    ]
    df = write_run(tmp_path, rows, records).set_index("request_id")
    assert df.loc["A", "class"] == "cold"  # join key is case-insensitive
    assert df.loc["A", "outside_ms"] == 300 - 260 - 2
    assert df.loc["B", "class"] == "warm" and df.loc["B", "outside_ms"] == 9
    assert df.loc["C", "class"] == "proactive" and df.loc["C", "init_visible_ms"] == 0
    assert df.loc["D", "class"] == "provisioned"
    assert not df.loc["E", "matched"] and df.loc["E", "class"] == "warm"
    assert df.loc["F", "class"] == "unknown"
    assert not df["disagree"].any() and not df["inconsistent"].any()
    target = Target("local", "http://x/", "NONE", "us-east-1", "f")
    run = RunRecord(tmp_path, "r", 100_000, target)
    summary = build_summary(run, df.reset_index(), Config())
    assert summary.requests == 6 and summary.failures == 1 and summary.matched == 4
    assert summary.reached == 5 and summary.throttled == 1
    assert summary.match_rate == 4 / 5, "a throttled request is not lost telemetry"
    assert summary.unmatched.count == 1 and summary.unmatched.sample == ("E",)
    assert summary.of("cold").count == 1
    assert summary.errors == {"HTTP 429": 1}


def test_outside_never_negative_and_flagged(tmp_path):
    rows = [request_row(request_id="A", e2e_ms=5)]
    df = write_run(tmp_path, rows, [report("A", 9.0)])
    assert df.loc[0, "outside_ms"] == 0 and bool(df.loc[0, "inconsistent"])


def test_disagreement_counted(tmp_path):
    rows = [request_row(request_id="A", e2e_ms=50, cold=0, env_id="e1", seq=5)]
    df = write_run(tmp_path, rows, [report("A", 2.0, init=30.0)])
    assert bool(df.loc[0, "disagree"])


def test_a_nan_in_a_number_field_is_missing_not_an_init(tmp_path):
    """ "NaN" read as a number must not make a warm request cold: the class is chosen
    in SQL, where NaN is a value and only NULL is missing."""
    rows = [request_row(request_id="A", e2e_ms=20, cold=0, env_id="e1", seq=2)]
    write_run(tmp_path, rows, [report("A", 2.0, init="NaN")])
    join_files(tmp_path, tmp_path / "joined.parquet", tmp_path / ".spill")  # as run files
    df = read_joined(tmp_path / "joined.parquet")
    assert df.loc[0, "class"] == "warm" and df.loc[0, "init_visible_ms"] == 0
    assert pd.isna(df.loc[0, "init_duration_ms"]) and df.loc[0, "outside_ms"] == 18


def test_text_in_a_number_field_of_a_report_empties_that_field_not_the_record(tmp_path):
    rows = [request_row(request_id="A", e2e_ms=20), request_row(request_id="B", e2e_ms=20)]
    records = [report("A", "soon", init=5.0), report("B", 2.0), "{not json"]
    write_run(tmp_path, rows, records[:2])
    with (tmp_path / "platform.jsonl").open("a") as f:
        f.write(records[2] + "\n")
    join_files(tmp_path, tmp_path / "joined.parquet", tmp_path / ".spill")
    df = read_joined(tmp_path / "joined.parquet")
    assert df["matched"].all() and len(df) == 2
    a = df[df["duration_ms"].isna()]
    assert len(a) == 1 and a["class"].iloc[0] == "cold" and a["init_visible_ms"].iloc[0] == 5


def test_each_request_is_served_by_its_log_stream_else_its_probed_environment(tmp_path):
    rows = [
        request_row(request_id="A", env_id="e1"),
        request_row(request_id="B", env_id="e2"),  # no REPORT: the probe's id
        request_row(request_id="C", status=429, ok=0),  # neither
    ]
    df = write_run(tmp_path, rows, [report("A", 2.0, stream="s9")]).set_index("request_id")
    assert df["environment"].to_dict() == {"A": "s9", "B": "e2", "C": ""}
    assert set(classes.DERIVED) <= set(df.columns)


def test_torn_last_line_is_dropped(tmp_path):
    rows = [request_row(request_id="A")]
    pd.DataFrame(rows, columns=REQUEST_COLUMNS).to_csv(tmp_path / "requests.csv", index=False)
    with (tmp_path / "requests.csv").open("a") as f:
        f.write("101.5,12")  # a killed writer's half row
    assert len(load_requests(tmp_path)) == 1


def test_percentiles_are_exact_linear():
    stats = describe(pd.Series([1.0, 2.0, 3.0, 4.0]))
    assert stats.p50 == 2.5 and stats.max == 4 and stats.mean == 2.5
    assert stats.p99 is not None and abs(stats.p99 - 3.97) < 1e-9


def test_observed_keep_alive(tmp_path):
    rows = [
        request_row(request_id="1", start_time=0, e2e_ms=100, env_id="e1"),
        request_row(request_id="2", start_time=5, e2e_ms=100, env_id="e1"),  # reused after 4.9 s
        request_row(
            request_id="3", start_time=30, e2e_ms=100, env_id="e2"
        ),  # new after 24.9 s idle
    ]
    df = write_run(tmp_path, rows, [])
    observed = environments(df)["keep_alive_observed_s"]
    assert abs(observed["longest_idle_then_reused"] - 4.9) < 1e-6
    assert abs(observed["shortest_idle_then_new"] - 24.9) < 1e-6


ids = st.text(alphabet="0123456789abcdef-", min_size=1, max_size=12)


@settings(max_examples=50, deadline=None)
@given(st.lists(ids, max_size=30), st.lists(ids, max_size=30))
def test_join_keeps_every_request_row(request_ids, report_ids):
    requests = pd.DataFrame(
        [request_row(request_id=r) for r in request_ids], columns=REQUEST_COLUMNS
    )
    for column in ("start_time", "e2e_ms", "ok", "cold", "init_start", "init_ms", "seq", "status"):
        requests[column] = pd.to_numeric(requests[column], errors="coerce")
    platform = pd.DataFrame([report(r.upper(), 1.0) for r in report_ids])
    if platform.empty:
        platform = pd.DataFrame(columns=list(report("x", 1.0)))
    joined = join(requests, platform)
    assert len(joined) == len(requests)
    keys = {r.strip().lower() for r in report_ids}
    assert joined["matched"].sum() == sum(1 for r in request_ids if r.strip().lower() in keys)
    assert (joined["outside_ms"].dropna() >= 0).all()


def _summary_of(tmp_path, rows):
    df = write_run(tmp_path, rows, [report(r["request_id"], 1.0) for r in rows if r["ok"] == 1])
    target = Target("local", "http://x/", "NONE", "us-east-1", "f")
    return build_summary(RunRecord(tmp_path, "r", 100_000, target), df, Config())


def test_the_errors_table_adds_up_to_the_failures(tmp_path):
    """With no failure, every successful request was once listed as "HTTP 200"."""
    ok = [request_row(request_id=f"ok{i}") for i in range(5)]
    assert _summary_of(tmp_path, ok).errors == {}
    one = [*ok, request_row(request_id="t1", status=429, ok=0, error="HTTP 429")]
    assert _summary_of(tmp_path, one).errors == {"HTTP 429": 1}
    several = [
        *one,
        request_row(request_id="f1", status=502, ok=0, error=""),
        request_row(request_id="f2", status=502, ok=0, error=""),
        request_row(request_id="", status=0, ok=0, error="ConnectionRefusedError"),
    ]
    summary = _summary_of(tmp_path, several)
    assert summary.errors == {"HTTP 502": 2, "HTTP 429": 1, "ConnectionRefusedError": 1}
    assert sum(summary.errors.values()) == summary.failures == 4


def test_throttled_requests_are_counted_apart_not_as_missing_reports(tmp_path):
    """45 throttles once read as "97.7% matched, 45 requests without a REPORT record"."""
    rows = [request_row(request_id=f"ok{i}") for i in range(10)]
    rows += [request_row(request_id=f"t{i}", status=429, ok=0, error="") for i in range(3)]
    rows += [request_row(request_id="r1", status=403, ok=0, error="")]
    summary = _summary_of(tmp_path, rows)
    assert summary.match_rate == 1.0 and summary.unmatched.count == 0
    assert (summary.reached, summary.throttled, summary.refused) == (10, 3, 1)
    assert summary.platform_missing == ""


def test_a_run_without_platform_data_says_so_and_passes_no_slo_that_needs_it(tmp_path):
    from coldbench.analysis.console import one_screen
    from coldbench.record.rundir import Collection

    rows = [request_row(request_id=f"ok{i}", cold=1 if i == 0 else 0) for i in range(10)]
    pd.DataFrame(rows, columns=REQUEST_COLUMNS).to_csv(tmp_path / "requests.csv", index=False)
    df = join(load_requests(tmp_path), load_platform(tmp_path))
    target = Target("local", "http://x/", "NONE", "us-east-1", "f")
    failed = Collection(expected=10, error="FilterLogEvents on /aws/lambda/f: Could not connect")
    run = RunRecord(tmp_path, "r", 100_000, target, collection=failed)
    summary = build_summary(run, df, Config())
    assert "Could not connect" in summary.platform_missing
    verdicts = {v.name: v.verdict for v in summary.slo}
    assert verdicts == {"cold_p99_ms": "UNKNOWN", "warm_p99_ms": "UNKNOWN", "error_rate": "PASS"}
    assert summary.slo_ok is False, "an SLO that cannot be told is not a pass"
    assert one_screen(summary).startswith("WARNING: no platform data: collection failed")
    never = build_summary(RunRecord(tmp_path, "r", 100_000, target), df, Config())
    assert "never collected" in never.platform_missing


def test_slo_figures_are_shown_as_read_not_rounded_into_another_verdict():
    from coldbench.analysis.console import slo_number

    assert slo_number("error_rate", 0.0231) == "2.31%"
    assert slo_number("error_rate", 0.0) == "0.00%"
    assert slo_number("warm_p99_ms", 4.756) == "4.8 ms"
    assert slo_number("cold_p99_ms", None) == "n/a"


def test_requests_the_load_cut_short_are_neither_failures_nor_unanswered(tmp_path):
    """Rows of requests still waiting at the end once failed the error-rate SLO."""
    rows = [request_row(request_id=f"ok{i}") for i in range(9)]
    rows.append(
        request_row(request_id="", status=0, ok=0, error="Cancelled: the load stopped after 2 ms")
    )
    summary = _summary_of(tmp_path, rows)
    assert summary.cancelled == 1 and summary.failures == 0 and summary.failure_rate == 0.0
    assert summary.errors == {} and summary.unanswered == 0
    assert all(v.ok for v in summary.slo if v.name == "error_rate")


def test_request_files_read_columnar_keep_quoted_newlines_and_drop_a_torn_last_row(tmp_path):
    """The fast reader types numbers as it reads; an error text holding a comma and a
    newline stays one field, a torn last row is dropped, and a number column holding
    text falls back to the text reader (that value becomes missing, the row stays)."""
    import csv

    from coldbench.analysis.join import load_requests
    from coldbench.record.rundir import REQUEST_COLUMNS

    def write(path, rows, tail=""):
        with path.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(REQUEST_COLUMNS)
            for values in rows:
                row = dict.fromkeys(REQUEST_COLUMNS, "") | values
                writer.writerow([row[c] for c in REQUEST_COLUMNS])
            f.write(tail)

    base = {"start_time": 1.5, "e2e_ms": 3, "status": 200, "ok": 1}
    run = tmp_path / "a"
    run.mkdir()
    write(
        run / "requests.csv",
        [
            base | {"request_id": "x", "error": "boom,\nline two", "ok": 0},
            base | {"request_id": "y"},
        ],
        tail="1.7,4,GET",
    )
    df = load_requests(run)
    assert df["request_id"].tolist() == ["x", "y"]
    assert df.loc[0, "error"] == "boom,\nline two" and df["e2e_ms"].dtype == "float64"
    other = tmp_path / "b"
    other.mkdir()
    write(other / "requests.csv", [base | {"request_id": "z", "seq": "n/a"}])
    df = load_requests(other)
    assert df["request_id"].tolist() == ["z"] and np.isnan(df.loc[0, "seq"])
