"""Each request's class and the decomposition of its end-to-end time, as SQL over the
joined rows, so they are derived while the join streams and never in a second pass.

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

Each request's ``environment`` is its REPORT's log stream, else the probe's
environment id ('' where neither says).

A request the load's end cut short (``Cancelled`` error) neither failed nor succeeded:
it is ``cancelled``, counted apart, never in the failure rate.

The environments' init records (``init.jsonl``) add two facts the REPORT line alone
cannot give: ``stream_init_type`` (the JSON log format's initStart says provisioned or
on-demand), and ``suppressed_init`` for the first invocation of an environment whose
init ran past Lambda's 10 s and was run again inside that invocation. Its REPORT has no
Init Duration, so the timed-out init is taken from the INIT_REPORT (the user waited
for both).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from coldbench.record.rundir import INIT_FIELDS

# What the SQL adds to every joined row (init_duration_ms is replaced where a
# suppressed init was found).
DERIVED = (
    "environment",
    "cancelled",
    "failed",
    "stream_init_type",
    "suppressed_init",
    "class",
    "init_visible_ms",
    "outside_ms",
    "inconsistent",
    "disagree",
)
_TOLERANCE_MS = 1.0  # clock and rounding slack before a row counts as inconsistent
_STREAM_TYPES = "_stream_init_types"
_SUPPRESSED = "_suppressed_inits"


def prepare(con: duckdb.DuckDBPyConnection, joined_sql: str, inits: pd.DataFrame | None) -> None:
    """The two small tables :func:`derived_sql` reads, made in ``con`` from the init
    records (``INIT_FIELDS`` columns, or None): each log stream's init type, and each
    environment whose init timed out, with the start of the request that bore the
    suppressed init."""
    inits = inits if inits is not None else pd.DataFrame(columns=list(INIT_FIELDS))
    starts = inits[(inits["kind"] == "start") & inits["init_type"].notna()]
    # the first initStart of a stream that says its type (file order) decides
    types = starts.drop_duplicates("log_stream")
    con.register("_types_frame", _text(types[["log_stream", "init_type"]]))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_STREAM_TYPES} AS FROM _types_frame")
    reports = inits[inits["kind"] == "report"]
    timed_out = reports[(reports["phase"] == "init") & (reports["status"] == "timeout")]
    longest = timed_out.groupby("log_stream")["init_duration_ms"].max()
    con.register(
        "_timed_out_frame",
        pd.DataFrame(
            {
                "log_stream": longest.index.astype(object).map(str),
                "init_ms": pd.to_numeric(longest.to_numpy()).astype(float),
            }
        ),
    )
    # An environment runs one invocation at a time: its first request is its first.
    # (Only runs with a timed-out init read the join for it.)
    source = (
        f"({joined_sql}) j JOIN _timed_out_frame t ON j.log_stream = t.log_stream WHERE j.matched"
        if len(longest)
        else "(SELECT ''::VARCHAR AS log_stream, 0::DOUBLE AS start_time, "
        "0::DOUBLE AS init_ms) j, (SELECT 0::DOUBLE AS init_ms) t WHERE false"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_SUPPRESSED} AS "
        "SELECT j.log_stream, min(j.start_time) AS start_time, any_value(t.init_ms) AS init_ms "
        f"FROM {source} GROUP BY j.log_stream"
    )
    con.unregister("_types_frame")
    con.unregister("_timed_out_frame")


def _text(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns DuckDB reads as VARCHAR, whatever pandas made of them."""
    return pd.DataFrame({c: frame[c].astype(object).map(str) for c in frame.columns})


def derived_sql(joined_sql: str) -> str:
    """Every row of ``joined_sql`` (the join's SELECT) with :data:`DERIVED` added, given
    the tables :func:`prepare` made. Each step names what it adds (DuckDB reads an
    alias later in the same list), the helpers starting ``_`` are dropped at the end."""
    steps = [
        "j.* REPLACE (coalesce(s.init_ms, j.init_duration_ms) AS init_duration_ms)",
        "coalesce(s.init_ms, j.init_duration_ms) IS NOT NULL AS _has_init",
        "coalesce(j.cold = 1, false) AS _probe_cold",
        "coalesce(j.init_start + coalesce(j.init_ms, 0) / 1000 < j.start_time, false)"
        " AS _init_before",
        "coalesce(j.env_id, '') <> '' AS _has_probe",
        "CASE WHEN coalesce(j.log_stream, '') <> '' THEN j.log_stream "
        "ELSE coalesce(j.env_id, '') END AS environment",
        "starts_with(coalesce(j.error, ''), 'Cancelled') AS cancelled",
        "j.ok IS DISTINCT FROM 1 AND NOT cancelled AS failed",
        "t.init_type AS stream_init_type",
        "s.log_stream IS NOT NULL AS suppressed_init",
        "CASE WHEN _has_init THEN 'cold' "
        "WHEN NOT j.matched AND _probe_cold AND NOT _init_before THEN 'cold' "
        "WHEN _probe_cold AND _init_before THEN 'proactive' "
        "WHEN coalesce(j.init_type = 'provisioned-concurrency', false) "
        "OR coalesce(t.init_type = 'provisioned-concurrency', false) THEN 'provisioned' "
        "WHEN j.matched OR _has_probe THEN 'warm' ELSE 'unknown' END AS class",
        "CASE WHEN class = 'cold' THEN coalesce(s.init_ms, j.init_duration_ms, 0.0) "
        "ELSE 0.0 END AS init_visible_ms",
        "j.e2e_ms - (coalesce(j.duration_ms, 0.0) + init_visible_ms) AS _raw_outside",
        "CASE WHEN j.matched THEN greatest(_raw_outside, 0.0) END AS outside_ms",
        f"j.matched AND _raw_outside < -{_TOLERANCE_MS} AS inconsistent",
        "j.matched AND _has_probe AND ((_probe_cold AND NOT _init_before AND NOT _has_init)"
        " OR (NOT _probe_cold AND _has_init)) AS disagree",
    ]
    helpers = "_has_init, _probe_cold, _init_before, _has_probe, _raw_outside"
    return (
        f"SELECT * EXCLUDE ({helpers}) FROM (SELECT {', '.join(steps)} "
        f"FROM ({joined_sql}) j "
        f"LEFT JOIN {_STREAM_TYPES} t ON j.log_stream = t.log_stream "
        f"LEFT JOIN {_SUPPRESSED} s ON j.log_stream = s.log_stream "
        "AND j.start_time = s.start_time)"
    )
