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
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

from coldbench.analysis.errors import NoDataError
from coldbench.record.rundir import (
    INIT_FIELDS,
    NOT_INVOKED_STATUSES,
    PLATFORM_FIELDS,
    REQUEST_COLUMNS,
)

_TOLERANCE_MS = 1.0  # clock and rounding slack before a row counts as inconsistent
_NUMERIC = ("start_time", "e2e_ms", "status", "ok", "bytes", "cold", "init_start", "init_ms", "seq")


def join_key(request_id: pd.Series) -> pd.Series:
    """The one place a join key is built: request ids, trimmed and lower-cased."""
    if not isinstance(request_id.dtype, pd.ArrowDtype):
        request_id = request_id.fillna("").astype(str).astype(pd.ArrowDtype(pa.string()))
    return request_id.fillna("").str.strip().str.lower()


def load_requests(run_dir: Path) -> pd.DataFrame:
    """Every ``requests*.csv`` of a run; a torn last line (killed writer) is dropped."""
    frames = []
    for path in sorted(run_dir.glob("requests*.csv")):
        frame = _read_csv_columnar(path)
        if frame is None:  # a value pyarrow cannot type: read as text, coerced below
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, on_bad_lines="skip")
            if len(frame) and not _ends_with_newline(path):
                # a row cut short by a killed writer: every row ends in a newline
                frame = frame.iloc[:-1]
        frames.append(frame)
    if not frames:
        raise NoDataError(f"{run_dir} has no requests.csv")
    df = pd.concat(frames, ignore_index=True)
    for column in REQUEST_COLUMNS:
        if column not in df:
            df[column] = ""
    for column in _NUMERIC:
        if df[column].dtype != np.float64:
            df[column] = pd.to_numeric(df[column], errors="coerce")
    df = df[df["start_time"].notna() & df["e2e_ms"].notna()].reset_index(drop=True)
    if df.empty:
        raise NoDataError(f"{run_dir} has no complete request rows")
    return df


def _read_csv_columnar(path: Path) -> pd.DataFrame | None:
    """One request file read by pyarrow, numbers typed as it reads (the text reader
    and its conversion take ten times longer), up to its last complete line; rows with
    the wrong number of fields skipped. None where a number column holds text."""
    data = path.read_bytes()
    data = data[: data.rfind(b"\n") + 1]
    header = data[: data.find(b"\n")].decode(errors="replace").split(",")
    if not data or not header[0]:
        return None
    types = {c: pa.float64() for c in _NUMERIC if c in header}
    types |= {c: pa.string() for c in header if c not in types}
    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            parse_options=pa_csv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=lambda row: "skip"
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=types, strings_can_be_null=False, null_values=[""]
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return _to_pandas(table)


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """A table as pandas, request ids kept as Arrow strings: one per request, they are
    the bulk of a large run as Python objects (about 85 bytes each, 40 in Arrow), and
    the join key is built from them in Arrow, not in Python."""
    if "request_id" not in table.column_names:
        return table.to_pandas()
    ids = table.column_names.index("request_id")
    frame = table.remove_column(ids).to_pandas()
    column = table.column(ids).cast(pa.string())
    frame.insert(ids, "request_id", pd.array(column, dtype=pd.ArrowDtype(pa.string())))
    return frame


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(0, 2)
        if f.tell() == 0:
            return True
        f.seek(-1, 2)
        return f.read(1) == b"\n"


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


def _read_jsonl_columnar(path: Path, columns: list[str]) -> pd.DataFrame | None:
    """A JSON-lines file read by pyarrow (ten times faster than line by line), up to
    its last complete line; None when pyarrow cannot read it (a damaged line), for the
    line-by-line reader to skip what it must."""
    if not path.exists():
        return pd.DataFrame(columns=columns)
    data = path.read_bytes()
    data = data[: data.rfind(b"\n") + 1]  # a line cut short by a killed writer: dropped
    if not data.strip():
        return pd.DataFrame(columns=columns)
    try:
        table = pa_json.read_json(io.BytesIO(data))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    frame = _to_pandas(table)
    for column in columns:
        if column not in frame:
            frame[column] = None
    return frame[columns]


def load_platform(run_dir: Path) -> pd.DataFrame:
    columns = list(PLATFORM_FIELDS)
    frame = _read_jsonl_columnar(run_dir / "platform.jsonl", columns)
    if frame is None:
        records = _read_jsonl(run_dir / "platform.jsonl")
        frame = (
            pd.DataFrame.from_records(records, columns=columns)
            if records
            else pd.DataFrame(columns=columns)
        )
    for column in columns:
        if column == "timestamp" or column.endswith(("_ms", "_mb")):
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def load_init(run_dir: Path) -> pd.DataFrame:
    """The run's init records (``init.jsonl``), empty for runs collected before it."""
    records = _read_jsonl(run_dir / "init.jsonl")
    return pd.DataFrame.from_records(records, columns=list(INIT_FIELDS))


def join(
    requests: pd.DataFrame, platform: pd.DataFrame, inits: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Left join on the request id; every request row is kept, ``matched`` says which.
    ``inits`` (init records by log stream) tell provisioned environments and suppressed
    inits apart where the REPORT line alone cannot."""
    left = requests.assign(_key=join_key(requests["request_id"]))
    right = platform.rename(
        columns={"request_id": "platform_request_id", "status": "platform_status"}
    )
    right = right.assign(_key=join_key(right["platform_request_id"]))
    right = right.drop_duplicates("_key")
    joined = left.merge(right, on="_key", how="left", validate="many_to_one")
    joined["matched"] = joined["platform_request_id"].notna() & (joined["_key"] != "")
    # Requests that reached the function (the rule of rundir.reached_function, by column).
    joined["reached"] = (
        (joined["_key"] != "")
        & joined["status"].notna()
        & ~joined["status"].isin(list(NOT_INVOKED_STATUSES))
    )
    joined = joined.drop(columns=["_key", "platform_request_id"])
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
    first = in_stream.sort_values("timestamp").drop_duplicates("log_stream").index
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
    cls = np.select(
        [
            has_init,
            ~df["matched"] & probe_cold & ~init_before_request,
            probe_cold & init_before_request,
            provisioned,
            df["matched"] | has_probe,
        ],
        ["cold", "cold", "proactive", "provisioned", "warm"],
        default="unknown",
    )
    df["class"] = cls
    df["init_visible_ms"] = np.where(df["class"] == "cold", df["init_duration_ms"].fillna(0.0), 0.0)
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
