"""The recorder's rows: exact times, whitelisted headers only, any header container,
and valid CSV whatever the fields hold."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import pytest
from geventhttpclient.header import Headers
from hypothesis import given
from hypothesis import strategies as st

from coldbench.locustfiles.recorder import Buffer, RowWriter
from coldbench.record.rundir import REQUEST_COLUMNS


def record_from_event(tmp_path, *event, worker="local", phase="hold") -> dict:
    """One ``requests.csv`` row, built by the listener, drain and writer, read back
    with the csv module."""
    buffer = Buffer(worker)
    buffer.on_request(*event)
    path = tmp_path / "requests.csv"
    path.unlink(missing_ok=True)
    writer = RowWriter(path, lambda _t: phase)
    writer.write(buffer.drain())
    writer.close()
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(REQUEST_COLUMNS) and len(rows) == 2
    return dict(zip(REQUEST_COLUMNS, rows[1], strict=True))


RID = "3604209a-e9a3-11e6-939a-754dd98c7be3"


def _headers_as_sent():
    return [
        ("X-Amzn-RequestId", RID),
        ("x-coldbench-env", "abc123"),
        ("X-Coldbench-Cold", "1"),
        ("x-coldbench-seq", "1"),
        ("Authorization", "AWS4-HMAC-SHA256 Signature=secret"),
    ]


def _gevent_headers():
    headers = Headers()
    for key, value in _headers_as_sent():
        headers.add(key, value)
    headers.add("x-coldbench-init-type", "on-demand")
    headers.add("X-Coldbench-Init-Type", "again")  # a repeated field is comma-joined
    return headers


@pytest.mark.parametrize(
    "make_headers", [_gevent_headers, lambda: dict(_headers_as_sent())], ids=["gevent", "dict"]
)
def test_row_takes_exact_times_and_whitelisted_headers(tmp_path, make_headers):
    response = SimpleNamespace(status_code=200, headers=make_headers())
    record = record_from_event(
        tmp_path, "GET", "/", 12.3456789, 42, response, {"user": 7}, None, 1732270000.1234567
    )
    assert float(record["start_time"]) == 1732270000.1234567  # the float as measured
    assert float(record["e2e_ms"]) == 12.3456789
    assert (record["status"], record["ok"], record["bytes"]) == ("200", "1", "42")
    assert (record["request_id"], record["env_id"], record["cold"]) == (RID, "abc123", "1")
    assert record["seq"] == "1" and record["init_ms"] == ""
    assert (record["user"], record["worker"], record["phase"]) == ("7", "local", "hold")
    if isinstance(response.headers, Headers):
        assert record["init_type"] == "on-demand, again"
    assert not any("Signature" in value for value in record.values())


def test_row_for_a_failed_request_without_response(tmp_path):
    error = ConnectionRefusedError(111, "Connection refused, twice\nand a line")
    record = record_from_event(tmp_path, "GET", "/", 1.0, 0, None, None, error, 1.0, worker="w1")
    assert record["ok"] == "0" and record["status"] == "0" and record["request_id"] == ""
    assert record["error"].startswith("ConnectionRefusedError")
    assert "twice and a line" in record["error"] and record["worker"] == "w1"


# Any text a server, a path or an exception can put in a field, CSV's specials included.
_text = st.text(st.sampled_from('ab,"\r\n é\x00;'), max_size=8)


@given(
    name=_text, method=_text, worker=_text, user=st.one_of(st.integers(), _text),
    values=st.lists(_text, min_size=7, max_size=7), repeated=st.booleans(),
    e2e_ms=st.floats(0, 1e6), start=st.floats(0, 4e9),
)  # fmt: skip
def test_any_field_reads_back_as_written(
    tmp_path_factory, name, method, worker, user, values, repeated, e2e_ms, start
):
    headers = Headers()
    for header, value in zip(
        ("x-amzn-requestid", "x-coldbench-env", "x-coldbench-cold", "x-coldbench-init-type",
         "x-coldbench-init-start", "x-coldbench-init-ms", "x-coldbench-seq"), values, strict=True
    ):  # fmt: skip
        headers.add(header, value)
    if repeated:
        headers.add("x-coldbench-seq", "again")
    response = SimpleNamespace(status_code=200, headers=headers)
    record = record_from_event(
        tmp_path_factory.mktemp("rows"), method, name, e2e_ms, 3, response, {"user": user},
        None, start, worker=worker,
    )  # fmt: skip
    assert (record["method"], record["name"], record["worker"]) == (method, name, worker)
    assert record["user"] == str(user)
    assert float(record["start_time"]) == start and float(record["e2e_ms"]) == e2e_ms
    got = [record[c] for c in ("request_id", "env_id", "cold", "init_type", "init_start")]
    assert got == values[:5] and record["init_ms"] == values[5]
    assert record["seq"] == (f"{values[6]}, again" if repeated else values[6])


def test_written_rows_read_back_as_the_exact_floats(tmp_path):
    from coldbench.analysis.join import load_requests

    starts = [1732270000.1234567, 1732270000.9998999, 1732270001.0000005]
    writer = RowWriter(tmp_path / "requests.csv", lambda t: "hold" if t < 1732270001 else "idle")
    buffer = Buffer()
    for i, t in enumerate(starts):
        buffer.on_request("GET", "/a,b", 0.1 + i / 3, 1, None, None, None, t)
    writer.write(buffer.drain())
    writer.close()
    frame = load_requests(tmp_path)  # as the analysis reads it
    assert frame["start_time"].tolist() == starts
    assert frame["e2e_ms"].tolist() == [0.1 + i / 3 for i in range(3)]
    assert frame["phase"].tolist() == ["hold", "hold", "idle"]
    assert frame["name"].tolist() == ["/a,b"] * 3
