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

from coldbench.rundir import REQUEST_COLUMNS

MESSAGE_TYPE = "coldbench_rows"
FLUSH_INTERVAL_S = 1.0
_PROBE_HEADERS = {
    "env_id": "x-coldbench-env",
    "cold": "x-coldbench-cold",
    "init_type": "x-coldbench-init-type",
    "init_start": "x-coldbench-init-start",
    "init_ms": "x-coldbench-init-ms",
    "seq": "x-coldbench-seq",
}


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
    raw_headers = getattr(response, "headers", None)
    # One pass into a plain dict: the client's case-insensitive lookups are slow.
    headers = {k.lower(): v for k, v in raw_headers.items()} if raw_headers else {}
    status = getattr(response, "status_code", 0) or 0
    row = {
        "start_time": f"{start_time:.6f}",
        "e2e_ms": f"{response_time:.3f}",
        "method": request_type,
        "name": name,
        "status": status,
        "ok": 0 if exception else 1,
        "bytes": response_length or 0,
        "error": _error_text(exception),
        "request_id": headers.get("x-amzn-requestid", ""),
        "phase": "",
        "worker": worker,
        "user": (context or {}).get("user", ""),
    }
    for column, header in _PROBE_HEADERS.items():
        row[column] = headers.get(header, "")
    return [row[c] for c in REQUEST_COLUMNS]


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
