"""What the web UI's "coldbench" tabs show while tests run: cold starts so far and this
session's runs with their reports.

:class:`LiveStats` reads the recorder's rows as they are written (on the master, or the
single process), classifies each request from the probe's headers as the recorder kept
them (cold, provisioned, warm; no probe header when the function did not answer with
one) and keeps every end-to-end time, so the table's percentiles are exact, not Locust's
rounded buckets. The platform's view (proactive inits, Init Duration) comes with the
report once the test stops. No Locust import here: the tables are plain data.
"""

from __future__ import annotations

import csv
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from coldbench.record.rundir import REQUEST_COLUMNS

_E2E = REQUEST_COLUMNS.index("e2e_ms")
_STATUS = REQUEST_COLUMNS.index("status")
_ERROR = REQUEST_COLUMNS.index("error")
_ENV = REQUEST_COLUMNS.index("env_id")
_COLD = REQUEST_COLUMNS.index("cold")
_INIT_TYPE = REQUEST_COLUMNS.index("init_type")
CLASSES = ("cold", "provisioned", "warm", "no probe header")
IN_USE_S = 10.0  # an environment that answered this recently is in use

COLD_TAB = {"title": "coldbench: cold starts", "key": "coldbench"}
RUNS_TAB = {"title": "coldbench: runs", "key": "coldbench-runs"}
TABLES = [
    {
        "key": COLD_TAB["key"],
        "structure": [
            {"key": "what", "title": "This test"},
            {"key": "count", "title": "Requests"},
            {"key": "p50", "title": "p50 ms"},
            {"key": "p90", "title": "p90 ms"},
            {"key": "max", "title": "max ms"},
        ],
    },
    {
        "key": RUNS_TAB["key"],
        "structure": [
            {"key": "run", "title": "Run"},
            {"key": "state", "title": "State"},
            {"key": "requests", "title": "Requests"},
            {"key": "cold_starts", "title": "Cold starts"},
            {"key": "report", "title": "Report"},
        ],
    },
]


def classify(cold: str, init_type: str, env_id: str) -> str:
    if init_type == "provisioned-concurrency":
        return "provisioned"
    if cold == "1":
        return "cold"
    return "warm" if env_id else "no probe header"


class LiveStats:
    """Cold starts and environments of the test in progress."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.e2e: dict[str, list[float]] = defaultdict(list)
        self.last_seen: dict[str, float] = {}  # environment id -> when it last answered
        self.cancelled = 0

    def add(self, rows: list[tuple[float, str, str]]) -> None:
        """Rows as the recorder writes them: ``(start_time, head, tail)``."""
        for start, head, _ in rows:
            fields = next(csv.reader([head]))
            if fields[_ERROR].startswith("Cancelled"):
                self.cancelled += 1
                continue
            env_id = fields[_ENV]
            kind = classify(fields[_COLD], fields[_INIT_TYPE], env_id)
            self.e2e[kind].append(float(fields[_E2E]))
            if env_id:
                self.last_seen[env_id] = max(self.last_seen.get(env_id, 0.0), start)

    def table(self, now: float | None = None) -> list[dict[str, Any]]:
        now = time.time() if now is None else now
        rows = []
        for kind in CLASSES:
            values = self.e2e.get(kind)
            if not values:
                continue
            data = np.asarray(values)
            p50, p90 = np.percentile(data, [50, 90])
            rows.append(
                {
                    "what": kind,
                    "count": len(values),
                    "p50": round(float(p50), 1),
                    "p90": round(float(p90), 1),
                    "max": round(float(data.max()), 1),
                }
            )
        in_use = sum(1 for seen in self.last_seen.values() if now - seen <= IN_USE_S)
        rows.append({"what": "environments seen", "count": len(self.last_seen)})
        rows.append({"what": f"environments in use (last {IN_USE_S:.0f} s)", "count": in_use})
        if self.cancelled:
            rows.append({"what": "cut short by a stop (Cancelled)", "count": self.cancelled})
        return rows


def runs_table(run_dirs: list[Path], reports: Path, base_url: str) -> list[dict[str, Any]]:
    """This session's runs, newest first: running, reporting, or their report's figures."""
    rows = []
    for run_dir in reversed(run_dirs):
        try:
            record = json.loads((run_dir / "run.json").read_text())
        except (OSError, ValueError):
            continue
        summary_path = reports / run_dir.name / "summary.json"
        row: dict[str, Any] = {"run": run_dir.name, "requests": record.get("rows") or ""}
        if (reports / run_dir.name / "index.html").exists():  # written after summary.json
            summary = json.loads(summary_path.read_text())
            row.update(
                state="report ready",
                requests=summary.get("requests"),
                cold_starts=summary.get("cold_starts"),
                report=f"{base_url}/coldbench/reports/{run_dir.name}/index.html",
            )
        elif record.get("ended_ms"):
            row["state"] = "stopped: collecting and reporting"
        else:
            row["state"] = "running"
        rows.append(row)
    return rows
