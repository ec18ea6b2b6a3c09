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
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from geventhttpclient.header import Headers

from coldbench.record.rundir import REQUEST_COLUMNS

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
_dict_get: Callable[..., Any] = dict.get
_ABSENT = ("", "")
_PHASE = REQUEST_COLUMNS.index("phase")


def csv_line(fields: list) -> str:
    """``fields`` as the csv module writes a row (excel dialect), without the line end."""
    out = io.StringIO()
    csv.writer(out).writerow(fields)
    return out.getvalue()[:-2]


def _plain(text: str, separators: int) -> bool:
    """Whether ``text``, fields joined by commas, is already valid CSV: exactly
    ``separators`` commas and no quote or line break, so no field needs quoting."""
    return (
        text.count(",") == separators and '"' not in text and "\n" not in text and "\r" not in text
    )


def _header_values(raw_headers: Any) -> list[str]:
    """The values of :data:`_HEADER_NAMES` ("" when absent), found case-insensitively;
    a repeated field's values comma-joined."""
    if not raw_headers:
        return [""] * len(_HEADER_NAMES)
    if isinstance(raw_headers, Headers):
        # geventhttpclient's Headers: a dict keyed by the lowered name, holding a
        # (name, value) pair or, for a repeated field, a list of them.
        values = []
        for name in _HEADER_NAMES:
            stored = _dict_get(raw_headers, name, _ABSENT)
            values.append(
                stored[1] if stored.__class__ is tuple else ", ".join(v for _, v in stored)
            )
        return values
    lowered = {k.lower(): v for k, v in raw_headers.items()}
    return [lowered.get(name, "") for name in _HEADER_NAMES]


def _header_csv(raw_headers: Any) -> str:
    """:func:`_header_values` as a CSV fragment (the fields joined by commas, quoted if
    need be), fast for the common case: a FastHttpUser response where no field is
    repeated (then each is a pair)."""
    if raw_headers.__class__ is Headers:
        try:
            text = ",".join([_dict_get(raw_headers, name, _ABSENT)[1] for name in _HEADER_NAMES])
        except (TypeError, IndexError):  # a repeated field: a list of pairs
            text = ""
        if text and _plain(text, len(_HEADER_NAMES) - 1):
            return text
    return csv_line(_header_values(raw_headers))


class Cancelled(Exception):
    """A request still waiting when the load stopped: its row's error."""


def _error_text(exception: BaseException) -> str:
    text = f"{type(exception).__name__}: {exception}".replace("\n", " ")
    return text[:300]


class RowWriter:
    """Appends rows (``(start_time, head, tail)`` from :meth:`Buffer.drain`) to a CSV
    file, filling the phase column from a phase function of the start time."""

    def __init__(self, path: Path, phase_of: Callable[[float], str]):
        self.path = path
        self.phase_of = phase_of
        is_new = not path.exists()
        self._file = path.open("a", newline="", buffering=1 << 16)
        if is_new:
            self._file.write(",".join(REQUEST_COLUMNS) + "\r\n")
            self._file.flush()
        self.rows = 0

    def write(self, rows: list) -> None:
        if not rows:
            return
        phase_of = self.phase_of
        lines = [head + phase_of(start) + tail for start, head, tail in rows]
        lines.append("")
        self._file.write("\r\n".join(lines))
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

    The ``request`` listener, on Locust's hot path, keeps the event's values and the
    whitelisted headers' text (not the response); lines are built in :meth:`drain`,
    once a second, in one tight loop, which costs less per request than building each
    as its request ends.
    """

    def __init__(self, worker: str = "local") -> None:
        self.worker = worker
        worker_field = worker if _plain(worker, 0) else csv_line([worker])
        self._tail = f",{worker_field},"  # a row's tail: worker, then user
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
        url=None,
        **_kw,
    ) -> None:
        """Listener for Locust's ``request`` event. The body is not kept: holding
        responses until the next flush would hold their payloads too."""
        status = getattr(response, "status_code", 0) or 0
        # Read now, so the response's headers are freed with it: holding every
        # response's header dict for a second costs more than reading them here.
        headers = _header_csv(getattr(response, "headers", None))
        user = context.get("user", "") if context else ""
        self._pending.append(
            (request_type, name, response_time, response_length or 0, status, headers, user,
             exception, start_time or 0.0)
        )  # fmt: skip

    def drain(self) -> list[tuple[float, str, str]]:
        """Every pending request as ``(start_time, head, tail)`` for :class:`RowWriter`
        (sent as is from a worker to the master): its CSV line is ``head + phase +
        tail``, the phase being filled where the run's clock is (the master).

        Fields are joined as text at once (``str`` of a float is its exact shortest
        repr, as the csv module writes it); a row that needs quoting goes through
        ``csv``. One loop, no call per row: this runs for every request.
        """
        pending, self._pending = self._pending, []
        tail = self._tail
        rows: list[tuple[float, str, str]] = []
        append = rows.append
        for method, name, e2e_ms, size, status, headers, user, exception, start in pending:
            ok, error = (1, "") if exception is None else (0, _error_text(exception))
            head = f"{start},{e2e_ms},{method},{name},{status},{ok},{size},{error},{headers},"
            if not _plain(head, _PHASE):
                head = csv_line([start, e2e_ms, method, name, status, ok, size, error])
                head += f",{headers},"
            if user.__class__ is not int and not _plain(str(user), 0):
                user = csv_line([user])
            append((start, head, f"{tail}{user}"))
        return rows
