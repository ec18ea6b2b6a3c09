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
            elif stored.__class__ is tuple:
                values.append(stored[1])
            else:
                values.append(", ".join(value for _, value in stored))
        return values
    lowered = {k.lower(): v for k, v in raw_headers.items()}
    return [lowered.get(name, "") for name in _HEADER_NAMES]


def _row(
    request_type, name, response_time, response_length, status, headers, context, exception,
    start_time, worker,
) -> list:  # fmt: skip
    return [
        start_time,
        response_time,
        request_type,
        name,
        status,
        1 if exception is None else 0,
        response_length or 0,
        "" if exception is None else _error_text(exception),
        *_header_values(headers),
        "",
        worker,
        (context or {}).get("user", ""),
    ]


def _error_text(exception: BaseException) -> str:
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
        phase, phase_of = self._phase_index, self.phase_of
        for row in rows:
            if not row[phase]:
                row[phase] = phase_of(float(row[0]))
        self._csv.writerows(rows)
        self.rows += len(rows)

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            self._file.close()


class Buffer:
    """Requests waiting to be written or sent; ``drain`` empties it atomically (gevent).

    The ``request`` listener, on Locust's hot path, only keeps what the event carries;
    rows are built in :meth:`drain`, once a second, in one tight loop, which costs far
    less per request than building each row as its request ends.
    """

    def __init__(self, worker: str = "local") -> None:
        self.worker = worker
        self._pending: list[tuple] = []

    def on_request(
        self,
        request_type,
        name,
        response_time,
        response_length,
        response=None,
        context=None,
        exception=None,
        start_time=None,
        **_kw,
    ) -> None:
        """Listener for Locust's ``request`` event. The body is not kept: holding
        responses until the next flush would hold their payloads too."""
        status = getattr(response, "status_code", 0) or 0
        headers = getattr(response, "headers", None)
        self._pending.append(
            (request_type, name, response_time, response_length, status, headers, context,
             exception, start_time or 0.0)
        )  # fmt: skip

    def drain(self) -> list[list]:
        pending, self._pending = self._pending, []
        worker = self.worker
        return [_row(*event, worker) for event in pending]
