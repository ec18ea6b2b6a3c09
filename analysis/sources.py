"""A run's raw files as DuckDB relations, read out of core and typed as read.

``requests*.csv`` (one per Locust process) and ``platform.jsonl`` are read by DuckDB,
so a run of ten million requests is scanned in parallel and never held whole in
Python. Damaged files lose nothing they can keep:

- a request field is read as text and a number cast with ``TRY_CAST``; a REPORT
  record's numbers are parsed by the JSON reader, which empties a field that is no
  number. Either way text in a number column (or NaN) empties that one field, not the
  row (rows without ``start_time`` or ``e2e_ms`` are dropped afterwards: they say
  nothing);
- a row with the wrong number of fields is skipped, quoted newlines are kept;
- a last line cut short by a killed writer (no newline after it) is dropped: the
  file's complete lines are read from a copy;
- a JSON line that does not parse is skipped.

Files from older runs that lack a column get it empty.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from coldbench.analysis.errors import NoDataError
from coldbench.record.rundir import PLATFORM_FIELDS, REQUEST_COLUMNS

REQUEST_NUMBERS = (
    "start_time",
    "e2e_ms",
    "status",
    "ok",
    "bytes",
    "cold",
    "init_start",
    "init_ms",
    "seq",
)


def platform_number(column: str) -> bool:
    return column == "timestamp" or column.endswith(("_ms", "_mb"))


def sql_text(value: str) -> str:
    """A string literal for SQL (paths, mostly)."""
    return "'" + value.replace("'", "''") + "'"


def complete_lines(path: Path, spill: Path) -> Path:
    """``path``, or, when its last line has no newline (a killed writer), a copy of its
    complete lines in ``spill``."""
    with path.open("rb") as f:
        f.seek(0, 2)
        size = f.tell()
        if size == 0:
            return path
        f.seek(-1, 2)
        if f.read(1) == b"\n":
            return path
        f.seek(0)
        data = f.read()
    copy = spill / f"complete-{path.name}"
    copy.write_bytes(data[: data.rfind(b"\n") + 1])
    return copy


def _header(path: Path) -> list[str]:
    with path.open("rb") as f:
        return f.readline().decode(errors="replace").strip().split(",")


def _without_nan(number: str) -> str:
    """A DOUBLE expression with NaN missing (NULL), as pandas has it: SQL would take
    NaN for a value (an Init Duration of NaN would make a request cold)."""
    return f"nullif({number}, 'NaN'::DOUBLE)"


def _number(field: str) -> str:
    """A text field as DOUBLE: text that is no number, and NaN, are missing (NULL)."""
    return _without_nan(f"TRY_CAST({field} AS DOUBLE)")


def request_columns(present: set[str]) -> str:
    """The SELECT list of the request contract from a source holding ``present``
    columns: numbers as DOUBLE, text as VARCHAR ('' when empty), missing ones empty."""
    columns = []
    for column in REQUEST_COLUMNS:
        field = f'"{column}"' if column in present else "NULL"
        if column in REQUEST_NUMBERS:
            columns.append(f"{_number(field)} AS {column}")
        else:
            columns.append(f"coalesce({field}::VARCHAR, '') AS {column}")
    return ", ".join(columns)


def platform_columns(present: set[str]) -> str:
    """The SELECT list of the REPORT-record contract, numbers as DOUBLE."""
    columns = []
    for column in PLATFORM_FIELDS:
        field = f'"{column}"' if column in present else "NULL"
        value = _number(field) if platform_number(column) else f"CAST({field} AS VARCHAR)"
        columns.append(f"{value} AS {column}")
    return ", ".join(columns)


def requests_sql(run_dir: Path, spill: Path) -> str:
    """A SELECT of every request row of the run (see :func:`request_columns`) with
    ``source``, which file it came from; rows without a start or an end-to-end time
    are dropped."""
    files = [p for p in sorted(run_dir.glob("requests*.csv")) if _header(p) != [""]]
    if not files:
        raise NoDataError(f"{run_dir} has no requests.csv")
    parts = []
    for index, path in enumerate(files):
        source = sql_text(str(complete_lines(path, spill)))
        header = _header(path)
        types = {name: "VARCHAR" for name in header}
        parts.append(
            f"SELECT {request_columns(set(header))}, {index} AS source "
            f"FROM read_csv({source}, header=true, columns={types}, auto_detect=false, "
            "delim=',', quote='\"', escape='\"', ignore_errors=true)"
        )
    return (
        "SELECT * FROM (" + " UNION ALL ".join(parts) + ") "
        "WHERE start_time IS NOT NULL AND e2e_ms IS NOT NULL"
    )


def platform_sql(run_dir: Path, spill: Path) -> str:
    """A SELECT of the run's REPORT records (``platform.jsonl``), numbers as DOUBLE."""
    path = run_dir / "platform.jsonl"
    if not path.exists() or path.stat().st_size == 0:
        return f"SELECT {platform_columns(set())} WHERE false"
    # Numbers are read as DOUBLE by the JSON reader itself (twice as fast as text then
    # TRY_CAST): with ignore_errors a field that is no number becomes NULL, the record
    # stays, as TRY_CAST would have it.
    types = {c: "DOUBLE" if platform_number(c) else "VARCHAR" for c in PLATFORM_FIELDS}
    select = ", ".join(
        f"{_without_nan(c)} AS {c}" if platform_number(c) else c for c in PLATFORM_FIELDS
    )
    source = sql_text(str(complete_lines(path, spill)))
    return (
        f"SELECT {select} FROM read_json({source}, format='newline_delimited', "
        f"columns={types}, ignore_errors=true)"
    )


def connect(spill: Path, memory_limit_mb: int) -> duckdb.DuckDBPyConnection:
    """A DuckDB database bounded to ``memory_limit_mb``: what does not fit is written
    to ``spill`` (a folder of the analysis's own), not held."""
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # it would print into the CLI's output
    con.execute(f"SET memory_limit = '{memory_limit_mb}MB'")
    con.execute(f"SET temp_directory = {sql_text(str(spill / 'tmp'))}")
    # Rows come out in any order: the analysis matches them by the file's row numbers.
    con.execute("SET preserve_insertion_order = false")
    # Every join here is written with the side to hold in memory on the right: the
    # REPORT records, or a small table. DuckDB would otherwise choose by estimates, and
    # once chose the requests (wider, with their ids), spilling: 150 s for 10 M, not 35.
    con.execute("SET disabled_optimizers = 'build_side_probe_side'")
    return con
