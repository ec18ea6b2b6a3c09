"""Join every request with its invocation's REPORT record, and derive each request's
class and decomposition (:mod:`classes`) in the same pass.

The join runs out of core: DuckDB reads the raw files (:mod:`sources`) and streams every
request, left-joined with its REPORT record and classified, into a Parquet file,
holding at most :data:`MEMORY_LIMIT_MB` and spilling the rest to disk. The analysis
then reads back only the columns it uses (:data:`LEAN`), and :func:`write_joined`
copies the file to ``joined.parquet`` with the one column that needs every request
first, the cause of each cold start.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from coldbench.analysis import blocks, classes, sources
from coldbench.analysis.errors import NoDataError
from coldbench.record.rundir import INIT_FIELDS, NOT_INVOKED_STATUSES, PLATFORM_FIELDS, Block

# DuckDB's bound while joining (what does not fit goes to disk). The join ends before
# pandas reads anything back, so each has most of the 4 GB to itself. Just under what a
# run's join needs, DuckDB joins in partitions on disk: 10 M requests took 99 s at a
# 2,560 MB bound and 32-34 s at 3,000 and 3,400 MB, all peaking at 2.7 GB.
MEMORY_LIMIT_MB = 3072
# Text the analysis groups and compares by, kept as pandas categories: a comparison
# or grouping over codes costs a tenth of one over strings.
_CATEGORIES = (
    "class",
    "phase",
    "name",
    "worker",
    "user",
    "environment",
    "platform_status",
    "error_type",
)
# DuckDB's bound while it copies the joined file to joined.parquet: the copy streams,
# and the analysis's frame holds most of the 4 GB meanwhile.
WRITE_MEMORY_LIMIT_MB = 1024
# The columns the analysis reads back of every request. Text arrives as categories
# (:data:`_CATEGORIES`) or one Python string per distinct value, shared;
# ``unmatched_id`` is the request id where no REPORT record was found (None
# elsewhere: ids are the bulk of a large run).
LEAN = (
    "start_time",
    "e2e_ms",
    "status",
    "error",
    "name",
    "phase",
    "worker",
    "user",
    "duration_ms",
    "billed_duration_ms",
    "init_duration_ms",
    "max_memory_used_mb",
    "error_type",
    "log_stream",
    "platform_status",
    "matched",
    "reached",
    "unmatched_id",
    *(c for c in classes.DERIVED if c != "stream_init_type"),
)


def key_sql(column: str) -> str:
    """The one place a join key is built: request ids, trimmed of spaces and
    lower-cased; NULL for an empty id, which never matches. (HTTP and the REPORT parser
    strip other whitespace already; trimming a set of characters would cost DuckDB a
    third of the join.)"""
    return f"nullif(lower(trim(coalesce({column}, ''))), '')"


def _join_sql(requests: str, platform: str, deduplicate: bool = False) -> str:
    """Every request row (``requests``, a SELECT of the request contract) left-joined
    with the REPORT record (``platform``) of its request id. ``deduplicate``: where one
    id has several records (files merged by hand), the earliest wins, whole.

    Each key is built once, in a projection (a filter on it would be pushed below and
    build it again): an empty id's key is NULL, which no equality matches."""
    fields = [c for c in PLATFORM_FIELDS if c not in ("request_id", "status")]
    if deduplicate:
        record = ", ".join([*fields, "status"])
        right = (
            f"SELECT _key, unnest(min(struct_pack({record}))) FROM "
            f"(SELECT {key_sql('request_id')} AS _key, * FROM ({platform})) "
            "WHERE _key IS NOT NULL GROUP BY _key"
        )
    else:
        right = f"SELECT {key_sql('request_id')} AS _key, * FROM ({platform})"
    invoked = ", ".join(str(s) for s in sorted(NOT_INVOKED_STATUSES))
    # reached: the request got to the function (rundir.reached_function, by column)
    return (
        f"SELECT r.* EXCLUDE (source, _key), {', '.join('p.' + f for f in fields)}, "
        "p.status AS platform_status, p._key IS NOT NULL AS matched, "
        "(r._key IS NOT NULL AND r.status IS NOT NULL "
        f"AND r.status NOT IN ({invoked})) AS reached, "
        "CASE WHEN p._key IS NULL THEN r.request_id END AS unmatched_id "
        f"FROM (SELECT *, {key_sql('request_id')} AS _key FROM ({requests})) r "
        f"LEFT JOIN ({right}) p ON r._key = p._key"
    )


def join_files(
    run_dir: Path,
    path: Path,
    spill: Path,
    inits: pd.DataFrame | None = None,
    run_blocks: Sequence[Block] = (),
) -> None:
    """Every request of the run joined with its REPORT record and classified, streamed
    into the Parquet file ``path`` out of core (``spill`` holds what does not fit;
    removed after). ``inits``: the run's init records; ``run_blocks``: its blocks, when
    it was measured in several (each row gets ``block`` and ``round``).

    A run's ``platform.jsonl`` holds one record per request id (the collector writes it
    from a map by id; merged blocks are distinct runs), so no pass looks for two."""
    try:
        con = sources.connect(spill, MEMORY_LIMIT_MB)
        try:
            sql = _join_sql(
                sources.requests_sql(run_dir, spill), sources.platform_sql(run_dir, spill)
            )
            classes.prepare(con, sql, inits)
            labels = "".join(f", {c}" for c in blocks.label_sql(run_blocks))
            derived = f"SELECT *{labels} FROM ({classes.derived_sql(sql)})"
            con.execute(f"COPY ({derived}) TO {sources.sql_text(str(path))} (FORMAT parquet)")
        finally:
            con.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def lean_columns(run_blocks: Sequence[Block] = ()) -> tuple[str, ...]:
    """What the analysis reads back: :data:`LEAN`, and ``block`` and ``round`` when the
    run has ``run_blocks``."""
    return (*LEAN, *(("block", "round") if run_blocks else ()))


def read_joined(path: Path, columns: Sequence[str] = LEAN) -> pd.DataFrame:
    """``columns`` of a joined file, in the file's row order."""
    source = pq.ParquetFile(path)
    if source.metadata.num_rows == 0:
        raise NoDataError("the run has no complete request rows")
    # One column at a time, its Arrow copy let go before the next: never the run twice.
    schema = source.schema_arrow
    return pd.DataFrame({c: _column(path, schema, c) for c in columns}, copy=False)


def _column(path: Path, schema: pa.Schema, name: str) -> pd.Series:
    """One column as pandas; text read as its dictionary and expanded by position, so
    each distinct value is one shared Python string, made once (or kept as categories,
    :data:`_CATEGORIES`)."""
    if not pa.types.is_string(schema.field(name).type):
        return pq.read_table(path, columns=[name]).column(0).to_pandas()
    column = pq.read_table(path, columns=[name], read_dictionary=[name]).column(0).to_pandas()
    return column if name in _CATEGORIES else column.astype(object)


def write_joined(raw: Path, cold_causes: pd.Series, path: Path, spill: Path) -> None:
    """``joined.parquet``: every row of the joined file ``raw`` with its ``cold_cause``
    (``cold_causes`` is aligned with the file's rows by position; None where a request
    was no cold start). DuckDB copies it, both cores, in no particular order; ``spill``
    is removed (``raw`` is left to whoever else reads it)."""
    given = cold_causes.to_numpy(dtype=object)
    rows = np.flatnonzero(pd.notna(given))
    found = pd.DataFrame({"row": rows.astype(np.int64), "cold_cause": given[rows].astype(str)})
    tmp = path.with_suffix(".parquet.tmp")
    try:
        con = sources.connect(spill, WRITE_MEMORY_LIMIT_MB)
        try:
            con.register("causes_frame", found)
            con.execute(
                "COPY (SELECT r.* EXCLUDE (unmatched_id, file_row_number), c.cold_cause "
                f"FROM read_parquet({sources.sql_text(str(raw))}, file_row_number=true) r "
                "LEFT JOIN causes_frame c ON r.file_row_number = c.row) "
                f"TO {sources.sql_text(str(tmp))} (FORMAT parquet)"
            )
        finally:
            con.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    tmp.replace(path)


def load_requests(run_dir: Path) -> pd.DataFrame:
    """Every ``requests*.csv`` of a run, as the analysis reads them (:mod:`sources`)."""
    with tempfile.TemporaryDirectory() as spill:
        frame = duckdb.connect().sql(sources.requests_sql(run_dir, Path(spill))).df()
    if frame.empty:
        raise NoDataError(f"{run_dir} has no complete request rows")
    return frame.drop(columns="source")


def load_platform(run_dir: Path) -> pd.DataFrame:
    """The run's REPORT records (``platform.jsonl``), as the analysis reads them."""
    with tempfile.TemporaryDirectory() as spill:
        return duckdb.connect().sql(sources.platform_sql(run_dir, Path(spill))).df()


def _read_jsonl(path: Path) -> list[dict]:
    """The records of a JSON-lines file; a line cut short (killed writer) is skipped."""
    records = []
    if path.exists():
        with path.open() as f:
            for line in f:
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    return records


def load_init(run_dir: Path) -> pd.DataFrame:
    """The run's init records (``init.jsonl``), empty for runs collected before it."""
    records = _read_jsonl(run_dir / "init.jsonl")
    return pd.DataFrame.from_records(records, columns=list(INIT_FIELDS))


def join(
    requests: pd.DataFrame, platform: pd.DataFrame, inits: pd.DataFrame | None = None
) -> pd.DataFrame:
    """In-memory frames joined and classified by the same SQL as a run's files, with
    every column: each request row kept once (``matched`` says which found its REPORT
    record). ``inits`` (init records by log stream) tell provisioned environments and
    suppressed inits apart where the REPORT line alone cannot."""
    con = duckdb.connect()
    con.register("requests_frame", _scannable(requests))
    con.register("platform_frame", _scannable(platform))
    requests_sql = (
        f"SELECT * FROM (SELECT {sources.request_columns(set(requests.columns))}, "
        "0 AS source FROM requests_frame) "
        "WHERE start_time IS NOT NULL AND e2e_ms IS NOT NULL"
    )
    platform_sql = f"SELECT {sources.platform_columns(set(platform.columns))} FROM platform_frame"
    duplicates = con.execute(
        f"SELECT count({key_sql('request_id')}) - count(DISTINCT {key_sql('request_id')}) "
        f"FROM ({platform_sql})"
    ).fetchall()[0][0]
    sql = _join_sql(requests_sql, platform_sql, bool(duplicates))
    classes.prepare(con, sql, inits)
    return con.sql(classes.derived_sql(sql)).df()


def _scannable(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame DuckDB can scan: object columns of mixed values become text."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(lambda v: None if v is None or v != v else str(v))
    return out
