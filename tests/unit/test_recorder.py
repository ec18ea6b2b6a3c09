"""The recorder's rows: exact times, whitelisted headers only, any header container."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from geventhttpclient.header import Headers

from coldbench.rundir import REQUEST_COLUMNS
from locustfiles.recorder import Buffer


def row_from_event(*event, worker="local") -> list:
    """One ``requests.csv`` row, built the way the listener and drain build it."""
    buffer = Buffer(worker)
    buffer.on_request(*event)
    return buffer.drain()[0]


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


@pytest.mark.parametrize("make_headers", [_gevent_headers, lambda: dict(_headers_as_sent())])
def test_row_takes_exact_times_and_whitelisted_headers(make_headers):
    response = SimpleNamespace(status_code=200, headers=make_headers())
    row = row_from_event(
        "GET", "/", 12.3456789, 42, response, {"user": 7}, None, 1732270000.1234567
    )
    record = dict(zip(REQUEST_COLUMNS, row, strict=True))
    assert record["start_time"] == 1732270000.1234567  # the float as measured
    assert record["e2e_ms"] == 12.3456789
    assert (record["status"], record["ok"], record["bytes"]) == (200, 1, 42)
    assert (record["request_id"], record["env_id"], record["cold"]) == (RID, "abc123", "1")
    assert record["seq"] == "1" and record["init_ms"] == ""
    assert record["user"] == 7 and record["worker"] == "local" and record["phase"] == ""
    if isinstance(response.headers, Headers):
        assert record["init_type"] == "on-demand, again"
    assert not any("Signature" in str(value) for value in row)


def test_row_for_a_failed_request_without_response():
    error = ConnectionRefusedError(111, "Connection refused")
    row = row_from_event("GET", "/", 1.0, 0, None, None, error, 1.0, worker="w1")
    record = dict(zip(REQUEST_COLUMNS, row, strict=True))
    assert record["ok"] == 0 and record["status"] == 0 and record["request_id"] == ""
    assert record["error"].startswith("ConnectionRefusedError")


def test_written_rows_read_back_as_the_exact_floats(tmp_path):
    from analysis.join import load_requests
    from locustfiles.recorder import RowWriter

    starts = [1732270000.1234567, 1732270000.9998999, 1732270001.0000005]
    writer = RowWriter(tmp_path / "requests.csv", lambda t: "hold" if t < 1732270001 else "idle")
    writer.write(
        [row_from_event("GET", "/a,b", 0.1 + i / 3, 1, None, None, None, t)
         for i, t in enumerate(starts)]
    )  # fmt: skip
    writer.close()
    frame = load_requests(tmp_path)  # as the analysis reads it
    assert frame["start_time"].tolist() == starts
    assert frame["e2e_ms"].tolist() == [0.1 + i / 3 for i in range(3)]
    assert frame["phase"].tolist() == ["hold", "hold", "idle"]
    assert frame["name"].tolist() == ["/a,b"] * 3
