"""The run directory ``runs/<run-id>/``: the unit of record every stage shares.

Files and their schemas:

- ``run.json``: run id, start/end (epoch ms), whether the run completed, target
  snapshot, load settings, versions.
- ``requests.csv``: one row per request, columns :data:`REQUEST_COLUMNS`, written while
  the test runs (one file per Locust process, ``requests*.csv``).
- ``platform.jsonl``: one REPORT record per invocation, keys :data:`PLATFORM_FIELDS`.
- ``metrics.csv``: ``AWS/Lambda`` datapoints, columns :data:`METRIC_COLUMNS`.
- ``locust/``: Locust's own CSV and HTML outputs.
"""

from __future__ import annotations

import json
import platform
import secrets
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from coldbench.record.errors import RunDirError
from coldbench.record.files import write_text_atomic

RUNS_DIR = Path("runs")

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


def write_run_json(run_dir: Path, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into ``run.json`` (created with versions on first write)."""
    path = run_dir / "run.json"
    data = read_run_json(run_dir) if path.exists() else _initial_run_json(run_dir)
    data.update(fields)
    write_json_atomic(path, data)
    return data


def _initial_run_json(run_dir: Path) -> dict[str, Any]:
    # Versions from package metadata: importing locust here would gevent-patch late.
    return {
        "run_id": run_dir.name,
        "completed": False,
        "versions": {
            "coldbench": metadata.version("coldbench"),
            "python": platform.python_version(),
            **{name: metadata.version(name) for name in ("locust", "boto3", "awslambdaric")},
        },
    }


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
