"""Join every request with its invocation's REPORT record; classify and decompose.

Per request: end-to-end = in-function Duration + visible Init Duration + outside time
(network, Function URL front end, TLS, queueing). Outside time is never negative: a
row whose parts add up to more than its end-to-end time (clocks, rounding) gets
``outside_ms`` 0 and ``inconsistent`` True, so it is flagged, not hidden.

Classes:

- ``cold``: the user waited for init (the REPORT has Init Duration, or, unmatched, the
  probe says first invocation and init ended after the request arrived);
- ``proactive``: first invocation of an environment whose init finished before the
  request arrived, so nobody waited;
- ``provisioned``: served by a provisioned-concurrency environment;
- ``warm``: a reused environment;
- ``unknown``: neither the probe nor a REPORT says (e.g. throttled or refused).

The join runs out of core: DuckDB reads the raw files (:mod:`sources`) and streams every
request, left-joined with its REPORT record, into a Parquet file, holding at most
:data:`MEMORY_LIMIT_MB` and spilling the rest to disk. The analysis then reads back only
the columns it uses (:data:`LEAN`), derives the classes in pandas, and
:func:`write_joined` adds what it derived to that file, one row group at a time.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from coldbench.analysis import sources
from coldbench.analysis.errors import NoDataError
from coldbench.record.rundir import INIT_FIELDS, NOT_INVOKED_STATUSES, PLATFORM_FIELDS

_TOLERANCE_MS = 1.0  # clock and rounding slack before a row counts as inconsistent
# DuckDB's bound while joining (what does not fit goes to disk). The join ends before
# pandas reads anything back, so each has most of the 4 GB to itself. Just under what a
# run's join needs, DuckDB joins in partitions on disk: 10 M requests took 99 s at a
# 2,560 MB bound and 32-34 s at 3,000 and 3,400 MB, all peaking at 2.7 GB.
MEMORY_LIMIT_MB = 3072
# The columns the analysis reads back of every request. Text arrives as one Python
# string per distinct value, shared; ``unmatched_id`` is the request id where no
# REPORT record was found (None elsewhere: ids are the bulk of a large run).
LEAN = (
    "start_time",
    "e2e_ms",
    "status",
    "ok",
    "cold",
    "init_start",
    "init_ms",
    "error",
    "name",
    "phase",
    "worker",
    "user",
    "init_type",
    "env_id",
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
)
# Read for classifying only, then let go.
_CLASSIFYING = ("ok", "cold", "init_start", "init_ms", "init_type")
# What the analysis derives, added to joined.parquet (init_duration_ms replaces the
# REPORT's where a suppressed init was found).
DERIVED = (
    "cancelled",
    "failed",
    "stream_init_type",
    "suppressed_init",
    "init_duration_ms",
    "class",
    "init_visible_ms",
    "outside_ms",
    "inconsistent",
    "disagree",
)


def key_sql(column: str) -> str:
    """The one place a join key is built: request ids, trimmed of spaces and
    lower-cased. (HTTP and the REPORT parser strip other whitespace already; trimming
    a set of characters would cost DuckDB a third of the join.)"""
    return f"lower(trim(coalesce({column}, '')))"


def _join_sql(requests: str, platform: str, deduplicate: bool = False) -> str:
    """Every request row (``requests``, a SELECT of the request contract) left-joined
    with the REPORT record (``platform``) of its request id. ``deduplicate``: where one
    id has several records (files merged by hand), the earliest wins, whole."""
    fields = [c for c in PLATFORM_FIELDS if c not in ("request_id", "status")]
    if deduplicate:
        record = ", ".join([*fields, "status"])
        right = (
            f"SELECT _key, unnest(min(struct_pack({record}))) FROM "
            f"(SELECT {key_sql('request_id')} AS _key, * FROM ({platform})) "
            "WHERE _key <> '' GROUP BY _key"
        )
    else:
        right = f"SELECT {key_sql('request_id')} AS _key, * FROM ({platform})"
    invoked = ", ".join(str(s) for s in sorted(NOT_INVOKED_STATUSES))
    key = key_sql("r.request_id")
    # reached: the request got to the function (rundir.reached_function, by column)
    return (
        f"SELECT r.* EXCLUDE (source), {', '.join('p.' + f for f in fields)}, "
        "p.status AS platform_status, p._key IS NOT NULL AS matched, "
        f"({key} <> '' AND r.status IS NOT NULL AND r.status NOT IN ({invoked})) AS reached, "
        "CASE WHEN p._key IS NULL THEN r.request_id END AS unmatched_id "
        f"FROM ({requests}) r LEFT JOIN ({right}) p ON {key} = p._key AND p._key <> ''"
    )


def join_files(run_dir: Path, path: Path, spill: Path) -> None:
    """Every request of the run joined with its REPORT record, streamed into the Parquet
    file ``path`` out of core (``spill`` holds what does not fit; removed after).

    A run's ``platform.jsonl`` holds one record per request id (the collector writes it
    from a map by id; merged blocks are distinct runs), so no pass looks for two."""
    try:
        con = sources.connect(spill, MEMORY_LIMIT_MB)
        try:
            sql = _join_sql(
                sources.requests_sql(run_dir, spill), sources.platform_sql(run_dir, spill)
            )
            con.execute(f"COPY ({sql}) TO {sources.sql_text(str(path))} (FORMAT parquet)")
        finally:
            con.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def read_joined(path: Path, inits: pd.DataFrame | None) -> pd.DataFrame:
    """The :data:`LEAN` columns of a joined file, classified, in the file's row order."""
    source = pq.ParquetFile(path)
    if source.metadata.num_rows == 0:
        raise NoDataError("the run has no complete request rows")
    # One column at a time, its Arrow copy let go before the next: never the run twice.
    schema = source.schema_arrow
    frame = pd.DataFrame({c: _column(path, schema, c) for c in LEAN}, copy=False)
    frame = derive(frame, inits)
    return frame.drop(columns=[c for c in _CLASSIFYING if c in frame])


def _column(path: Path, schema: pa.Schema, name: str) -> pd.Series:
    """One column as pandas; text read as its dictionary and expanded by position, so
    each distinct value is one shared Python string, made once."""
    if not pa.types.is_string(schema.field(name).type):
        return pq.read_table(path, columns=[name]).column(0).to_pandas()
    column = pq.read_table(path, columns=[name], read_dictionary=[name]).column(0)
    return column.to_pandas().astype(object)


def write_joined(raw: Path, frame: pd.DataFrame, extra: list[str], path: Path) -> None:
    """``joined.parquet``: every column of the joined file ``raw`` with what the
    analysis derived (:data:`DERIVED` and ``extra`` columns of ``frame``, row for row),
    written one row group at a time; ``raw`` is removed."""
    derived = {c: frame[c] for c in (*DERIVED, *extra)}
    types = {
        c: pa.from_numpy_dtype(series.dtype) if series.dtype.kind in "biuf" else pa.string()
        for c, series in derived.items()
    }
    source = pq.ParquetFile(raw)
    keep = [n for n in source.schema_arrow.names if n not in derived and n != "unmatched_id"]
    tmp = path.with_suffix(".parquet.tmp")
    offset = 0
    writer = None
    try:
        for batch in source.iter_batches(columns=keep):
            part = pa.Table.from_batches([batch])
            rows = slice(offset, offset + part.num_rows)
            offset += part.num_rows
            for name, series in derived.items():  # converted a batch at a time
                values = pa.array(series.iloc[rows], type=types[name], from_pandas=True)
                part = part.append_column(name, values)
            if writer is None:
                writer = pq.ParquetWriter(tmp, part.schema)
            writer.write_table(part)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:  # no rows: an empty file with the columns
        empty = [pa.array([], type=t) for t in types.values()]
        pq.write_table(pa.table(dict(zip(types, empty, strict=True))), tmp)
    tmp.replace(path)
    raw.unlink(missing_ok=True)


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
    """In-memory frames joined by the same SQL as a run's files, with every column:
    each request row kept once (``matched`` says which found its REPORT record),
    classified. ``inits`` (init records by log stream) tell provisioned environments
    and suppressed inits apart where the REPORT line alone cannot."""
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
        f"SELECT count(*) - count(DISTINCT {key_sql('request_id')}) FROM ({platform_sql})"
    ).fetchall()[0][0]
    joined = con.sql(_join_sql(requests_sql, platform_sql, bool(duplicates))).df()
    return derive(joined, inits)


def _scannable(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame DuckDB can scan: object columns of mixed values become text."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(lambda v: None if v is None or v != v else str(v))
    return out


def derive(joined: pd.DataFrame, inits: pd.DataFrame | None) -> pd.DataFrame:
    """Cancelled and failed requests, init records, then :func:`classify`."""
    # A request the load's end cut short neither failed nor succeeded: it is counted
    # apart (Cancelled rows), never in the failure rate.
    joined["cancelled"] = joined["error"].fillna("").str.startswith("Cancelled")
    joined["failed"] = (joined["ok"] != 1) & ~joined["cancelled"]
    return classify(_with_init_records(joined, inits))


def _with_init_records(df: pd.DataFrame, inits: pd.DataFrame | None) -> pd.DataFrame:
    """Per request, from its environment's init records: ``stream_init_type`` (JSON
    format's initStart says provisioned or on-demand), and ``suppressed_init`` for the
    first invocation of an environment whose init ran past Lambda's 10 s and was run
    again inside that invocation. Its REPORT has no Init Duration, so the timed-out init
    is taken from the INIT_REPORT (the user waited for both)."""
    df["stream_init_type"] = None
    df["suppressed_init"] = False
    if inits is None or inits.empty:
        return df
    starts = inits[(inits["kind"] == "start") & inits["init_type"].notna()]
    df["stream_init_type"] = df["log_stream"].map(
        starts.drop_duplicates("log_stream").set_index("log_stream")["init_type"]
    )
    reports = inits[inits["kind"] == "report"]
    timed_out = reports[(reports["phase"] == "init") & (reports["status"] == "timeout")]
    if timed_out.empty:
        return df
    init_ms = timed_out.groupby("log_stream")["init_duration_ms"].max()
    in_stream = df[df["matched"] & df["log_stream"].isin(init_ms.index)]
    # an environment runs one invocation at a time: its first request is its first
    first = in_stream.sort_values("start_time").drop_duplicates("log_stream").index
    df.loc[first, "suppressed_init"] = True
    df.loc[first, "init_duration_ms"] = df.loc[first, "log_stream"].map(init_ms)
    return df


def classify(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``class``, ``init_visible_ms``, ``outside_ms``, ``inconsistent``, ``disagree``."""
    has_init = df["init_duration_ms"].notna()
    probe_cold = df["cold"] == 1
    provisioned = df["init_type"].eq("provisioned-concurrency") | df["stream_init_type"].eq(
        "provisioned-concurrency"
    )
    init_end = df["init_start"] + df["init_ms"].fillna(0) / 1000
    init_before_request = init_end < df["start_time"]
    has_probe = df["env_id"].fillna("").ne("")
    # Chosen as codes, named after: a string per row would take 44 bytes of it.
    names = np.array(["cold", "proactive", "provisioned", "warm", "unknown"], dtype=object)
    code = np.select(
        [
            has_init,
            ~df["matched"] & probe_cold & ~init_before_request,
            probe_cold & init_before_request,
            provisioned,
            df["matched"] | has_probe,
        ],
        [0, 0, 1, 2, 3],
        default=4,
    ).astype(np.int8)
    df["class"] = names[code]
    df["init_visible_ms"] = np.where(code == 0, df["init_duration_ms"].fillna(0.0), 0.0)
    inside = df["duration_ms"].fillna(0.0) + df["init_visible_ms"]
    raw_outside = df["e2e_ms"] - inside
    df["outside_ms"] = np.where(df["matched"], raw_outside.clip(lower=0.0), np.nan)
    df["inconsistent"] = df["matched"] & (raw_outside < -_TOLERANCE_MS)
    df["disagree"] = (
        df["matched"]
        & has_probe
        & ((probe_cold & ~init_before_request & ~has_init) | (~probe_cold & has_init))
    )
    return df
