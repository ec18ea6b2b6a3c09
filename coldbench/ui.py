"""``coldbench ui``: Locust's web UI against the target, and a report for every test.

Each test started in the UI (or through Locust's HTTP API, ``POST /swarm`` then ``POST
/stop``) is its own run directory. A watcher here notices when one has stopped, then,
while the target is still up, collects its platform records and metrics, analyses it and
renders its report, in the background so the UI stays usable, and prints the report's
path and the one-screen summary. Stopping ``coldbench ui`` (Ctrl-C or SIGTERM) stops
Locust first and finishes every pending report before the target goes down.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from coldbench.analysis.console import one_screen
from coldbench.errors import PipelineError
from coldbench.pipeline import (
    analyse_and_render,
    cost_guard,
    locust_command,
    locust_environ,
    stop_locust,
)
from coldbench.record.config import Config
from coldbench.record.errors import ColdbenchError
from coldbench.record.rundir import RUNS_DIR, RunRecord
from coldbench.targets import target_up

SETTLE_S = 2.0  # a stopped test's workers send their last rows within this


class ReportWatcher:
    """Renders a report for every run of this session once its test has stopped."""

    def __init__(
        self,
        config: Config,
        since_s: float,
        runs: Path = RUNS_DIR,
        wait_s: float = 60.0,
        out: Callable[[str], None] = print,
    ):
        self.config, self.since_ms, self.runs = config, int(since_s * 1000), runs
        self.wait_s, self.out = wait_s, out
        self.done: dict[str, Path | None] = {}  # run id -> report page (None: it failed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reports", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.render_stopped(settle_s=SETTLE_S)

    def stopped_runs(self, settle_s: float) -> list[RunRecord]:
        """This session's runs whose test stopped at least ``settle_s`` ago, not yet done."""
        found = []
        now_ms = time.time() * 1000
        for run_json in sorted(self.runs.glob("*/run.json")):
            if run_json.parent.name in self.done:
                continue
            try:
                run = RunRecord.read(run_json.parent)
            except ColdbenchError:
                continue  # being written, or not a run
            if run.started_ms < self.since_ms or run.ended_ms is None:
                continue
            if now_ms - run.ended_ms >= settle_s * 1000:
                found.append(run)
        return found

    def render_stopped(self, settle_s: float) -> None:
        for run in self.stopped_runs(settle_s):
            self.done[run.run_id] = None
            if not (run.run_dir / "requests.csv").exists() or run.rows == 0:
                self.out(f"coldbench: run {run.run_id} recorded no requests: no report")
                continue
            try:
                summary, page = analyse_and_render(run.run_dir, self.config, self.wait_s)
            except ColdbenchError as exc:
                self.out(f"coldbench: run {run.run_id}: no report: {exc}")
                continue
            self.done[run.run_id] = page
            self.out(f"{one_screen(summary)}\nreport: {page.resolve()}")

    def finish(self) -> None:
        """Stop watching, then render every stopped run still waiting (no settling:
        Locust has exited, so every row is written)."""
        self._stop.set()
        self._thread.join()
        self.render_stopped(settle_s=0.0)


def cmd_ui(config: Config, args) -> int:
    # The UI's tests are open-ended: the configured load is what the guard can judge.
    cost_guard([config], args.yes, "ui (each test started in it costs as a run)")
    with target_up(config, args.yes, args.allow_changes) as (target, target_file):
        watcher = ReportWatcher(config, time.time(), wait_s=60 if target.kind == "local" else 900)
        print(
            f"coldbench: target {target.url}; open http://127.0.0.1:{args.web_port}/ "
            "(each test started there becomes its own run under runs/ and, once stopped, "
            "its own report under reports/; Ctrl-C to stop)",
            flush=True,
        )
        proc = subprocess.Popen(
            locust_command(config, None, headless=False, web_port=args.web_port),
            env=locust_environ(config, target_file),
            start_new_session=True,  # stopped as a group, by us, however we are stopped
        )
        watcher.start()
        try:
            proc.wait()
        except KeyboardInterrupt:
            pass
        finally:
            stop_locust(proc)
            print("coldbench: finishing the reports of this session's tests", file=sys.stderr)
            watcher.finish()
        if proc.returncode not in (0, -15, 1) and not watcher.done:
            raise PipelineError(f"Locust's web UI exited with {proc.returncode}")
    return 0
