"""The per-request recorder: one exact row per request into ``requests.csv``.

Locust's own statistics round response times into buckets; this keeps the raw float
from the ``request`` event. Rows are flushed to the OS at least every second, so a
killed process loses at most the last second; a clean stop (Ctrl-C, SIGTERM) flushes
everything.

Distributed runs (``--processes N`` or master/worker across machines): each worker
sends its rows to the master once a second, and the master writes the one run
directory. Only whitelisted response headers are read, so Authorization, security
tokens and signatures can never reach a file.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

from geventhttpclient.header import Headers

from coldbench.rundir import REQUEST_COLUMNS

MESSAGE_TYPE = "coldbench_rows"
FLUSH_INTERVAL_S = 1.0
# Columns filled from response headers, in REQUEST_COLUMNS order (checked below).
_HEADER_COLUMNS = (
    ("request_id", "x-amzn-requestid"),
    ("env_id", "x-coldbench-env"),
    ("cold", "x-coldbench-cold"),
    ("init_type", "x-coldbench-init-type"),
    ("init_start", "x-coldbench-init-start"),
    ("init_ms", "x-coldbench-init-ms"),
    ("seq", "x-coldbench-seq"),
)
_HEADER_NAMES = tuple(header for _, header in _HEADER_COLUMNS)
_FIRST = REQUEST_COLUMNS.index("request_id")
assert REQUEST_COLUMNS[_FIRST : _FIRST + len(_HEADER_COLUMNS)] == tuple(
    column for column, _ in _HEADER_COLUMNS
)
assert REQUEST_COLUMNS[:_FIRST] == (
    "start_time", "e2e_ms", "method", "name", "status", "ok", "bytes", "error"
)  # fmt: skip
assert REQUEST_COLUMNS[_FIRST + len(_HEADER_COLUMNS) :] == ("phase", "worker", "user")
_dict_get = dict.get


def _header_values(raw_headers: Any) -> list[str]:
    """The values of :data:`_HEADER_NAMES` ("" when absent), found case-insensitively."""
    if not raw_headers:
        return [""] * len(_HEADER_NAMES)
    if isinstance(raw_headers, Headers):
        # FastHttpUser's headers are a dict keyed by the lowered name, holding a
        # (name, value) pair or a list of them: read it directly, the fast path.
        values = []
        for name in _HEADER_NAMES:
            stored = _dict_get(raw_headers, name)
            if stored is None:
                values.append("")
            elif isinstance(stored, tuple):
                values.append(stored[1])
            else:
                values.append(", ".join(value for _, value in stored))
        return values
    lowered = {k.lower(): v for k, v in raw_headers.items()}
    return [lowered.get(name, "") for name in _HEADER_NAMES]


def row_from_event(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    response: Any,
    context: dict | None,
    exception: BaseException | None,
    start_time: float,
    worker: str,
) -> list:
    """A ``requests.csv`` row (phase left empty: the writer knows the shape)."""
    return [
        f"{start_time:.6f}",
        f"{response_time:.3f}",
        request_type,
        name,
        getattr(response, "status_code", 0) or 0,
        0 if exception else 1,
        response_length or 0,
        _error_text(exception),
        *_header_values(getattr(response, "headers", None)),
        "",
        worker,
        (context or {}).get("user", ""),
    ]


def _error_text(exception: BaseException | None) -> str:
    if exception is None:
        return ""
    text = f"{type(exception).__name__}: {exception}".replace("\n", " ")
    return text[:300]


class RowWriter:
    """Appends rows to a CSV file; fills the phase column from a phase function."""

    def __init__(self, path: Path, phase_of: Callable[[float], str]):
        self.path = path
        self.phase_of = phase_of
        is_new = not path.exists()
        self._file = path.open("a", newline="", buffering=1 << 16)
        self._csv = csv.writer(self._file)
        if is_new:
            self._csv.writerow(REQUEST_COLUMNS)
            self._file.flush()
        self.rows = 0
        self._phase_index = REQUEST_COLUMNS.index("phase")

    def write(self, rows: list[list]) -> None:
        for row in rows:
            if not row[self._phase_index]:
                row[self._phase_index] = self.phase_of(float(row[0]))
            self._csv.writerow(row)
        self.rows += len(rows)

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            self._file.close()


class Buffer:
    """Rows waiting to be written or sent; ``drain`` empties it atomically (gevent)."""

    def __init__(self) -> None:
        self.rows: list[list] = []

    def add(self, row: list) -> None:
        self.rows.append(row)

    def drain(self) -> list[list]:
        rows, self.rows = self.rows, []
        return rows
