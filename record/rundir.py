"""The run directory ``runs/<run-id>/``: the unit of record every stage shares.

Files and their schemas:

- ``run.json``: a :class:`RunRecord`: run id, start/end (epoch ms), how the run ended,
  the target snapshot, load settings and shape table, versions, and the collection.
- ``requests.csv``: one row per request, columns :data:`REQUEST_COLUMNS`, written while
  the test runs (one file per Locust process, ``requests*.csv``).
- ``platform.jsonl``: one REPORT record per invocation, keys :data:`PLATFORM_FIELDS`.
- ``init.jsonl``: one init record (start, or a report of an init that did not succeed)
  per line, keys :data:`INIT_FIELDS`.
- ``init_profile.jsonl``: with ``function.profile_init``, one row per module import per
  environment, keys :data:`PROFILE_FIELDS`.
- ``metrics.csv``: ``AWS/Lambda`` datapoints, columns :data:`METRIC_COLUMNS`.
- ``locust/``: Locust's own CSV and HTML outputs.

A configuration measured in blocks (an interleaved sweep or ``compare-live``) has one
run directory per block and one merged run holding all of them, whose ``run.json``
lists the blocks (:class:`Block`).
"""

from __future__ import annotations

import dataclasses
import json
import platform
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from coldbench.record.errors import RunDirError
from coldbench.record.files import write_text_atomic
from coldbench.record.shapes import Stage
from coldbench.record.target import Target

RUNS_DIR = Path("runs")
REPORTS_DIR = Path("reports")  # one folder per run, written by the analysis

REQUEST_COLUMNS = (
    "start_time",  # epoch seconds, sub-ms precision
    "e2e_ms",  # exact end-to-end time as the client saw it
    "method",
    "name",
    "status",
    "ok",
    "bytes",
    "error",
    "request_id",  # x-amzn-RequestId
    "env_id",  # x-coldbench-env
    "cold",  # x-coldbench-cold ("" when the function has no probe)
    "init_type",
    "init_start",  # epoch seconds when the environment's init began (probe)
    "init_ms",  # the function's own init time (probe)
    "seq",  # invocation number within its environment (probe)
    "phase",  # load-shape phase
    "worker",
    "user",
)

PLATFORM_FIELDS = (
    "request_id",
    "timestamp",  # epoch ms of the REPORT record
    "duration_ms",
    "billed_duration_ms",
    "memory_size_mb",
    "max_memory_used_mb",
    "init_duration_ms",  # absent (None) when warm
    "restore_duration_ms",
    "billed_restore_duration_ms",
    "status",  # success | error | timeout
    "error_type",
    "log_stream",
)

METRIC_COLUMNS = ("timestamp", "metric", "stat", "value", "unit", "period_s")

PROFILE_FIELDS = (  # init_profile.jsonl: Python's import-time report, per environment
    "log_stream",
    "kind",  # import | handler (the init shim's measure of the handler module's import)
    "module",
    "parent",
    "depth",
    "phase",  # init | invoke
    "self_us",
    "cumulative_us",
)
INIT_FIELDS = (  # init.jsonl: one record per INIT_START / INIT_REPORT
    "log_stream",
    "timestamp",
    "kind",  # start | report
    "init_type",  # on-demand | provisioned-concurrency | snap-start (JSON format only)
    "phase",  # init | invoke
    "status",  # reports: error | timeout | failure
    "error_type",
    "init_duration_ms",
)

# Statuses a Function URL answers without invoking the function (refused by auth, over
# the payload limit, throttled) and 0 for a request that got no answer: no REPORT record
# can exist for them, so they are counted apart, never as lost telemetry.
NOT_INVOKED_STATUSES = frozenset({0, 403, 413, 429})


def reached_function(request_id: str, status: int | float | str) -> bool:
    """Whether a request reached the function: it has a request id and a status the
    function could have produced. The one rule for collect's count and the join."""
    try:
        code = int(float(status))
    except (TypeError, ValueError):
        return False
    return bool(request_id) and code not in NOT_INVOKED_STATUSES


def new_run_id(now: float | None = None) -> str:
    """Sortable, unique: ``20261122T101500Z-3f9a``."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now or time.time()))
    return f"{stamp}-{secrets.token_hex(2)}"


def create_run_dir(run_id: str | None = None, root: Path = RUNS_DIR) -> Path:
    run_dir = root / (run_id or new_run_id())
    (run_dir / "locust").mkdir(parents=True, exist_ok=False)
    return run_dir


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str))


def read_run_json(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "run.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise RunDirError(f"{run_dir} is not a run directory (no run.json)") from exc
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{path} is not valid JSON: {exc}") from exc


def latest_run(root: Path = RUNS_DIR) -> Path:
    runs = sorted(p for p in root.glob("*/run.json"))
    if not runs:
        raise RunDirError(f"no runs under {root}/")
    return runs[-1].parent


@dataclass(frozen=True)
class Collection:
    """How complete a run's platform data is (written by ``collect``)."""

    records: int = 0  # REPORT records found for the run
    expected: int = 0  # requests that reached the function
    skipped_events: int = 0
    logs_dropped: Mapping[str, int] = field(default_factory=dict)
    other_records: int = 0  # REPORT records in the window of invocations outside the run
    without_request: int = 0  # the run's invocations whose request has no client row
    metrics_invocations: float = 0.0  # the Invocations metric's sum over the run
    metrics_complete: bool = False  # it covers the run's REPORT records
    complete: bool = False
    error: str = ""
    collected_ms: int = 0


@dataclass(frozen=True)
class Block:
    """One block of an interleaved comparison merged into this run: the run it was, its
    place in the whole comparison's order (0 first), its round (each round measures every
    configuration once), and when it ran (epoch seconds)."""

    run_id: str
    position: int
    started_s: float
    ended_s: float
    round: int = 0


@dataclass(frozen=True)
class RunRecord:
    """``run.json``, typed. It owns the file's life: :meth:`open` when the test starts,
    :meth:`close` when it stops, :meth:`collected` once ``collect`` has run. Each step
    writes the whole record atomically, so a killed run leaves a readable file."""

    run_dir: Path
    run_id: str
    started_ms: int
    target: Target
    load: Mapping[str, Any] = field(default_factory=dict)
    shape_table: tuple[Stage, ...] = ()
    versions: Mapping[str, str] = field(default_factory=dict)
    completed: bool = False
    ended_ms: int | None = None
    rows: int = 0
    end_reason: str = ""
    collection: Collection | None = None
    # (started, finished) epoch seconds of each recycle the run made (at gaps, or the
    # cold sampler's rounds): what the cold starts after them are attributed to.
    recycles: tuple[tuple[float, float], ...] = ()
    # A configuration's blocks, when it was measured in several (``sweep.order``):
    # resampled whole by the comparison, since requests within a block move together.
    order: str = ""  # interleaved | sequential | "" (a single run)
    blocks: tuple[Block, ...] = ()
    plan: str = ""  # the comparison the blocks belong to: runs of one plan share rounds

    @classmethod
    def open(
        cls,
        run_dir: Path,
        target: Target,
        load: Mapping[str, Any],
        table: Sequence[Stage],
        started_s: float,
    ) -> RunRecord:
        record = cls(
            run_dir=run_dir,
            run_id=run_dir.name,
            started_ms=int(started_s * 1000),
            target=target,
            load=dict(load),
            shape_table=tuple(table),
            versions=_versions(),
        )
        return record.write()

    def close(
        self,
        rows: int,
        end_reason: str,
        ended_s: float | None = None,
        recycles: Sequence[tuple[float, float]] | None = None,
    ) -> RunRecord:
        """The run ended: ``completed`` only when its load played to its end (the shape's
        table, or Locust's ``-t`` when no coldbench shape drove it)."""
        return dataclasses.replace(
            self,
            ended_ms=int((ended_s or time.time()) * 1000),
            rows=rows,
            end_reason=end_reason,
            completed=end_reason in ("shape-finished", "run-time-finished"),
            recycles=self.recycles
            if recycles is None
            else tuple((float(a), float(b)) for a, b in recycles),
        ).write()

    def collected(self, collection: Collection) -> RunRecord:
        return dataclasses.replace(self, collection=collection).write()

    def idle_windows(self) -> list[tuple[float, float]]:
        """(start, length) in seconds after the start of each idle gap that really ran:
        a gap the run never reached (stopped early) is not one, a gap cut short is cut."""
        ran_s = (self.ended_ms - self.started_ms) / 1000 if self.ended_ms else float("inf")
        windows, t = [], 0.0
        for stage in self.shape_table:
            if stage.phase.endswith("-idle") and t < ran_s:
                windows.append((t, min(stage.duration_s, ran_s - t)))
            t += stage.duration_s
        return windows

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data.pop("run_dir")
        data["target"] = self.target.to_dict()
        data["shape_table"] = [dataclasses.asdict(s) for s in self.shape_table]
        data["collection"] = dataclasses.asdict(self.collection) if self.collection else None
        data["load"], data["versions"] = dict(self.load), dict(self.versions)
        data["recycles"] = [list(r) for r in self.recycles]
        data["blocks"] = [dataclasses.asdict(b) for b in self.blocks]
        return data

    def write(self) -> RunRecord:
        write_json_atomic(self.run_dir / "run.json", self.to_dict())
        return self

    @classmethod
    def read(cls, run_dir: Path) -> RunRecord:
        """The run's record; runs written by earlier versions read with defaults.

        Raises:
            RunDirError: no run.json, not JSON, or without a start time.
        """
        data = read_run_json(run_dir)
        try:
            collection = data.get("collection")
            return cls(
                run_dir=run_dir,
                run_id=data.get("run_id") or run_dir.name,
                started_ms=int(data["started_ms"]),
                target=Target.from_dict(data.get("target") or _NO_TARGET),
                load=data.get("load") or {},
                shape_table=tuple(Stage(**s) for s in data.get("shape_table") or ()),
                versions=data.get("versions") or {},
                completed=bool(data.get("completed")),
                ended_ms=data.get("ended_ms"),
                rows=int(data.get("rows") or 0),
                end_reason=data.get("end_reason") or "",
                collection=Collection(**collection) if collection else None,
                recycles=tuple((float(a), float(b)) for a, b in data.get("recycles") or ()),
                order=data.get("order") or "",
                plan=data.get("plan") or "",
                blocks=tuple(Block(**b) for b in data.get("blocks") or ()),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RunDirError(f"{run_dir}/run.json is not a run record: {exc}") from exc


_NO_TARGET = {"kind": "local", "url": "", "auth": "NONE", "region": "", "function_name": ""}


def _versions() -> dict[str, str]:
    # From package metadata: importing locust here would gevent-patch late.
    return {
        "coldbench": metadata.version("coldbench"),
        "python": platform.python_version(),
        **{name: metadata.version(name) for name in ("locust", "boto3", "awslambdaric")},
    }
