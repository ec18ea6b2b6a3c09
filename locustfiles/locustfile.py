"""coldbench's locustfile: ``locust -f locustfiles/locustfile.py`` (or ``make loadtest``/``ui``).

The target comes from ``.coldbench/target.json`` (``coldbench local`` or ``coldbench
up`` writes it). The configuration is the one ``coldbench run``/``ui`` resolved, handed
over whole (``COLDBENCH_RESOLVED_CONFIG``); started on its own, the locustfile resolves
``coldbench.toml`` and ``COLDBENCH_*`` variables itself. Shape and request options are
Locust custom arguments, so they show in the web UI and on the command line and
override the configuration's ``[load]`` keys. Every request becomes one exact row in the run's
``requests.csv``.
"""

import locust  # noqa: F401  (first: gevent patches sockets before boto3 is imported)

# isort: split
import atexit
import gc
import itertools
import os
import random
import signal
import sys
import time
from pathlib import Path

import gevent
from gevent import GreenletExit
from locust import FastHttpUser, LoadTestShape, between, events, task
from locust.runners import MasterRunner, WorkerRunner

from coldbench.infra.recycle import recycle
from coldbench.locustfiles import live, options, recorder, webui
from coldbench.locustfiles.options import LOAD_OPTIONS
from coldbench.locustfiles.sampler import Sampler
from coldbench.locustfiles.signing import Signer
from coldbench.record import shapes
from coldbench.record.config import config_from_environ
from coldbench.record.errors import TargetError
from coldbench.record.rundir import REPORTS_DIR, RUNS_DIR, RunRecord, create_run_dir
from coldbench.record.target import read_target

_CONFIG = config_from_environ()  # whole from the pipeline, or resolved here for `locust -f`
# Without a coldbench shape chosen explicitly the locustfile defines none, so Locust's own
# -u/-r/-t (and the web UI's fields) work as Locust users expect.
SHAPE_CHOSEN = options.shape_chosen(sys.argv, os.environ)
_SHAPE_ONLY = options.SHAPE_FIELDS | {"recycle_at_gap"}  # options a shape alone reads
_state: dict = {
    "writer": None,
    "run_dir": None,
    "test_start": None,
    "table": None,
    "session_runs": [],  # every run directory this process opened, in order
}
_live = live.LiveStats()  # the web UI's cold-start table for the test in progress
_user_ids = itertools.count(1)


@events.init_command_line_parser.add_listener
def _options(parser):
    for option in LOAD_OPTIONS:
        parser.add_argument(
            option.flag,
            type=option.type,
            choices=option.choices,
            default=options.default(_CONFIG, option),
            env_var=option.env_var,
            help=option.help,
            # The shape's options show only when a coldbench shape plays; without one
            # the web UI's own user count and spawn rate drive the load.
            include_in_web_ui=SHAPE_CHOSEN or option.field not in _SHAPE_ONLY,
        )
    parser.add_argument("--run-dir", default="", help="run directory (default: a new one per test)")
    parser.add_argument("--target-file", default="", help="target description to use")


def shape_params(opts) -> shapes.ShapeParams:
    return options.shape_params(lambda option: getattr(opts, option.dest))


class ColdbenchShape(LoadTestShape):
    """Plays the selected shape's table; optionally recycles the target at each gap."""

    abstract = not SHAPE_CHOSEN  # an abstract shape is one Locust does not use

    def reset_time(self):
        super().reset_time()
        params = shape_params(self.runner.environment.parsed_options)
        self.table = shapes.build_table(params)
        self.last_phase = None
        self.finished = False
        self.sampler = (
            Sampler(params, self._recycle, _recycled, say=_say)
            if params.shape == "cold-sampler"
            else None
        )

    def _recycle(self):
        return gevent.spawn(_recorded_recycle, _target(self.runner.environment.parsed_options))

    def tick(self):
        if not hasattr(self, "table"):
            self.reset_time()
        if self.sampler is not None:
            found = self.sampler.tick(
                self.get_run_time(), self.runner.user_count, _live.e2e.get("cold", [])
            )
            if found is None:
                _say(f"cold-sampler: done: {self.sampler.reason}")
                return self._finish()
            return found
        stage = shapes.stage_at(self.table, self.get_run_time())
        users_done = _state.get("gap_users_done", 0)
        if stage is None or (stage.phase == "idle-gaps" and users_done >= stage.users):
            return self._finish()  # idle-gaps: every user's schedule done (one process)
        if stage.phase != self.last_phase:
            self.last_phase = stage.phase
            opts = self.runner.environment.parsed_options
            if stage.phase.endswith("-idle") and opts.recycle_at_gap == "true":
                gevent.spawn(_recorded_recycle, _target(opts))
        return stage.users, stage.spawn_rate

    def _finish(self):
        self.finished = True
        if _state.get("end_reason") != "terminated":
            _state["end_reason"] = "shape-finished"


def _recorded_recycle(target) -> None:
    """Recycle, and note when: the run's cold starts after it are attributed to it."""
    started = time.time()
    recycle(target)
    _state.setdefault("recycles", []).append((started, time.time()))


def _recycled(greenlet) -> bool:
    """Whether a recycle has finished; one that failed ends the sampling, saying why."""
    if not greenlet.dead:
        return False
    if greenlet.exception is not None:
        raise RuntimeError(str(greenlet.exception))
    return True


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def gap_schedule(params: shapes.ShapeParams, user_id: int) -> list[float]:
    """A user's idle gaps: each ``gap_repeats`` times, shuffled (seeded by the user, so
    runs repeat), so no gap always follows the same one."""
    plan = [float(g) for g in params.gaps_s] * params.gap_repeats
    random.Random(user_id).shuffle(plan)
    return plan


def _target(opts):
    return read_target(opts.target_file or None)


class FunctionUrlUser(FastHttpUser):
    """Calls the Function URL; signs with SigV4 when the URL uses AWS_IAM."""

    wait_time = between(_CONFIG.load.wait_min_s, _CONFIG.load.wait_max_s)
    host = "http://127.0.0.1"  # replaced by the target's URL at init

    def on_start(self):
        self.user_id = next(_user_ids)
        opts = self.environment.parsed_options
        self.method = opts.method.upper()
        self.path = opts.path
        self.body = opts.payload.encode()
        self.base_headers = dict(_CONFIG.load.headers)
        if self.body and "content-type" not in {k.lower() for k in self.base_headers}:
            self.base_headers["content-type"] = "application/json"
        self.signer = _state.get("signer")
        self.request_context = {"user": self.user_id}
        # The configured (and signed) headers go in the HTTP client's own defaults,
        # sent with every request: passed per request, each header would be copied
        # and re-validated through Locust's and geventhttpclient's dict paths.
        self.sent_headers = self.client.client.default_headers
        self.sent_headers.update(self.base_headers)
        # Locust sets its own Accept-Encoding per request unless one is passed: a
        # configured one has to be passed with each request to win.
        encodings = [v for k, v in self.base_headers.items() if k.lower() == "accept-encoding"]
        self.request_headers = {"Accept-Encoding": encodings[-1]} if encodings else None
        self.signed_second = -1
        params = shape_params(opts) if SHAPE_CHOSEN else None
        self.gap_plan = (
            gap_schedule(params, self.user_id) if params and params.shape == "idle-gaps" else None
        )

    @task
    def call(self):
        if self.gap_plan is not None:
            self._idle_gaps()
            return
        self._send(self.path)

    def _idle_gaps(self):
        """idle-gaps: warm an environment, then one request after each planned idle gap
        (counted from the end of the previous answer), named ``gap:<seconds>``; then idle
        until the shape ends."""
        plan, self.gap_plan = self.gap_plan, []
        self._send("gap:warm")
        for gap in plan:
            gevent.sleep(gap)
            self._send(f"gap:{gap:g}")
        _state["gap_users_done"] = _state.get("gap_users_done", 0) + 1
        gevent.sleep(10**6)

    def _send(self, name: str):
        if self.signer is not None:
            second = int(time.time())
            if second != self.signed_second:  # X-Amz-Date has 1 s resolution
                self.signed_second = second
                self.sent_headers.update(
                    self.signer.headers(self.method, self.path, self.body, self.base_headers)
                )
        started = time.time()
        try:
            self.client.request(
                self.method,
                self.path,
                data=self.body or None,
                headers=self.request_headers,
                name=name,
                context=self.request_context,
            )
        except GreenletExit:
            # The load stopped with this request still waiting: it gets a row too, with
            # its start and how long it had waited, instead of vanishing.
            buffer = _state.get("buffer")
            if buffer is not None:
                waited_ms = (time.time() - started) * 1000
                buffer.on_request(
                    self.method,
                    name,
                    waited_ms,
                    0,
                    context=self.request_context,
                    exception=recorder.Cancelled(f"the load stopped after {waited_ms:.0f} ms"),
                    start_time=started,
                )
            raise


@events.init.add_listener
def _init(environment, **_kwargs):
    opts = environment.parsed_options
    if opts is None:
        return
    try:
        target = _target(opts)
    except TargetError as exc:  # no live target: one clear line, no run directory
        raise SystemExit(f"coldbench: {exc}") from None
    FunctionUrlUser.host = target.url.rstrip("/")
    _state["signer"] = Signer(target, _CONFIG.target.profile) if target.auth == "AWS_IAM" else None
    runner = environment.runner
    is_worker = isinstance(runner, WorkerRunner)
    worker_name = str(getattr(runner, "client_id", "local")) if is_worker else "local"
    buffer = _state["buffer"] = recorder.Buffer(worker_name)
    environment.events.request.add_listener(buffer.on_request)

    if is_worker:

        def send():
            rows = buffer.drain()
            if rows:
                runner.send_message(recorder.MESSAGE_TYPE, rows)

        environment.events.test_stop.add_listener(lambda **_: send())
        environment.events.quitting.add_listener(lambda **_: send())
        gevent.spawn(_every_second, send)
        return
    if isinstance(runner, MasterRunner):
        runner.register_message(recorder.MESSAGE_TYPE, lambda msg, **_: _write(msg.data))
    else:
        gevent.spawn(_every_second, _drain)
    if environment.web_ui is not None:
        webui.attach(environment.web_ui, _live, lambda: list(_state["session_runs"]), REPORTS_DIR)
    environment.events.test_start.add_listener(lambda **_: _open_run(environment, target))
    environment.events.test_stop.add_listener(lambda **_: _close_run(final=False))
    environment.events.quitting.add_listener(lambda **_: _close_run(final=False))
    atexit.register(_close_run, final=True)
    _handle_sigterm(runner)
    # Everything imported so far lives as long as the process: keep it out of the
    # collector's scans (boto3 alone is ~60k objects).
    gc.freeze()


def _handle_sigterm(runner):
    """End a shape test gracefully on SIGTERM.

    Locust (2.47) installs its own SIGTERM handler only after a headless shape test has
    finished, so without this a SIGTERM mid-run kills the process without a final flush.
    Ending the shape greenlet lets Locust stop and quit as at a normal end.
    """

    def on_sigterm():
        _state["end_reason"] = "terminated"
        shape_greenlet = getattr(runner, "shape_greenlet", None)
        if shape_greenlet is not None and not shape_greenlet.dead:
            shape_greenlet.kill(block=False)
        else:
            runner.quit()

    gevent.signal_handler(signal.SIGTERM, on_sigterm)


def _every_second(fn):
    while True:
        gevent.sleep(recorder.FLUSH_INTERVAL_S)
        fn()


def _drain():
    buffer = _state.get("buffer")
    if buffer is not None:
        _write(buffer.drain())


def _write(rows):
    writer = _state["writer"]
    if writer is not None and rows:
        writer.write(rows)
        writer.flush()
        _live.add(rows)


def _open_run(environment, target):
    """Each test (headless, or each start in the web UI) is its own run directory."""
    _close_run(final=True)
    opts = environment.parsed_options
    run_dir = Path(opts.run_dir) if opts.run_dir and _state["run_dir"] is None else None
    if run_dir is None:
        run_dir = create_run_dir(root=RUNS_DIR)
    else:
        (run_dir / "locust").mkdir(parents=True, exist_ok=True)
    if SHAPE_CHOSEN:
        params = vars(shape_params(opts))
        table = shapes.build_table(shape_params(opts))
    else:  # Locust's own options drive the load: one phase, as long as -t says
        params = {
            "shape": "locust",
            "users": opts.num_users,
            "spawn_rate": opts.spawn_rate,
            "run_time_s": opts.run_time,
        }
        table = [
            shapes.Stage(
                float(opts.run_time or "inf"), opts.num_users or 0, opts.spawn_rate, "locust"
            )
        ]
    start = time.time()
    _live.reset()
    _state["recycles"] = []
    _state["gap_users_done"] = 0
    _state["session_runs"].append(run_dir)
    _state.update(
        run_dir=run_dir,
        test_start=start,
        table=table,
        end_reason="stopped",
        run_time_s=None if SHAPE_CHOSEN else opts.run_time,
    )
    _state["writer"] = recorder.RowWriter(
        run_dir / "requests.csv", shapes.phase_clock(table, start)
    )
    load = {
        **params,
        "path": opts.path,
        "method": opts.method,
        "payload_bytes": len(opts.payload.encode()),
        "workers": getattr(opts, "processes", 1) or 1,
    }
    _state["record"] = RunRecord.open(run_dir, target, load, table, start)
    print(f"coldbench: recording to {run_dir}", flush=True)


def _close_run(final: bool):
    """Drain and flush every row, and record how the run ended; close the file if final."""
    _drain()
    writer, record = _state["writer"], _state.get("record")
    if writer is None or record is None:
        return
    writer.flush()
    if record.ended_ms is not None:
        # Closed at its test's stop; closing again (quit, or a worker's last rows) keeps
        # its end, and what `coldbench ui` may have collected since.
        if writer.rows != record.rows:
            current = RunRecord.read(record.run_dir)
            _state["record"] = current.close(
                writer.rows, current.end_reason, ended_s=(current.ended_ms or 0) / 1000 or None
            )
    else:
        reason = _state.get("end_reason", "stopped")
        run_time_s = _state.get("run_time_s")
        ran_s = time.time() - _state["test_start"]
        if reason == "stopped" and run_time_s and ran_s >= run_time_s - 1:
            reason = "run-time-finished"  # Locust's -t ended a plain run: it played to its end
        _state["record"] = record.close(writer.rows, reason, recycles=_state.get("recycles"))
    if final:
        writer.close()
        _state["writer"] = None
