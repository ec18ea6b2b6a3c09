"""Real Locust runs against the real local Lambda, and the whole ``coldbench run``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from coldbench.analysis.collect import collect
from coldbench.analysis.join import load_requests
from coldbench.analysis.render import render
from coldbench.analysis.summary import analyse
from coldbench.pipeline import LOCUSTFILE
from coldbench.record.config import build_config
from coldbench.record.rundir import read_run_json
from coldbench.record.target import write_target

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def locust_cmd(target_file: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "--run-dir",
        str(run_dir),
        "--target-file",
        str(target_file),
        "--csv",
        str(run_dir / "locust" / "locust"),
        "--loglevel",
        "WARNING",
        "--json-file",
        str(run_dir / "locust" / "stats"),
        "--shape",
        "ramp-idle",
        "--shape-users",
        "4",
        "--shape-spawn-rate",
        "4",
        "--hold",
        "2",
        "--idle",
        "3",
        "--cycles",
        "2",
        "--stop-timeout",
        "5",
        *extra,
    ]


@pytest.fixture
def signed_target(local_stack, tmp_path):
    """A probe function behind an AWS_IAM URL, 1 s keep-alive, target file written."""
    with local_stack(
        url={"auth": "AWS_IAM"},
        function={"variant": "probe", "source": "", "handler": ""},
        local={"keep_alive_min_s": 1, "keep_alive_max_s": 1},
    ) as stack:
        yield stack, write_target(stack.target, tmp_path / "target.json")


def answered(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of requests that got an answer: Locust counts those alone; a request the
    load's end cut short has a row of its own ('Cancelled') that Locust never counts."""
    return rows[~rows["error"].str.startswith("Cancelled")]


def locust_request_count(run_dir: Path) -> int:
    """Locust's own final count (its JSON stats, written at shutdown)."""
    entries = json.loads((run_dir / "locust" / "stats.json").read_text())
    return sum(entry["num_requests"] for entry in entries)


def test_headless_run_records_every_request_and_cold_waves(signed_target, tmp_path):
    _stack, target_file = signed_target
    run_dir = tmp_path / "run"
    result = subprocess.run(
        locust_cmd(target_file, run_dir), cwd=tmp_path, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = load_requests(run_dir)
    assert len(answered(rows)) == locust_request_count(run_dir) > 0
    assert (answered(rows)["status"] == 200).all(), "signed requests must be accepted"
    cold = rows[rows["cold"] == 1]
    assert set(cold["phase"]) >= {"c1-ramp", "c2-ramp"}, "a wave of cold starts after each gap"
    run = read_run_json(run_dir)
    assert run["completed"] and run["rows"] == len(rows)
    assert "Authorization" not in (run_dir / "requests.csv").read_text()

    collected = collect(run_dir, wait_s=30, progress=False)
    # A cut-short request may have reached the function too: its REPORT is the run's.
    assert collected.complete and len(answered(rows)) <= collected.records <= len(rows)
    analysis = analyse(run_dir, build_config({}), reports_root=tmp_path / "reports")
    assert analysis.summary.match_rate == 1.0
    assert analysis.summary.of("cold").count == len(cold)
    assert render(analysis).exists()


def test_the_resolved_configuration_reaches_locust_whole(signed_target, tmp_path):
    """`coldbench run --set load.wait_min_s=2 …` once never reached the Locust process."""
    from coldbench.pipeline import locust_environ

    _stack, target_file = signed_target
    config = build_config({"load": {"wait_min_s": 2, "wait_max_s": 2}})
    counts = {}
    for name, environ in (("default", dict(os.environ)), ("slow", locust_environ(config))):
        run_dir = tmp_path / name
        result = subprocess.run(
            locust_cmd(target_file, run_dir, "--cycles", "1", "--hold", "3"),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
            env=environ,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        counts[name] = len(load_requests(run_dir))
    # 4 users for ~4 s: one request each 2 s is at most ~3 each; 0.05-0.2 s waits, dozens.
    assert counts["slow"] <= 16 < counts["default"], counts


def test_unsigned_requests_are_refused_by_aws_iam_target(signed_target):
    import requests

    stack, _ = signed_target
    assert requests.get(stack.target.url, timeout=10).status_code == 403


def test_two_process_run_yields_one_complete_run_dir(signed_target, tmp_path):
    _stack, target_file = signed_target
    run_dir = tmp_path / "run"
    cmd = locust_cmd(target_file, run_dir, "--processes", "2")
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = load_requests(run_dir)
    assert len(answered(rows)) == locust_request_count(run_dir) > 0
    assert rows["worker"].nunique() == 2
    assert list(run_dir.glob("requests*.csv")) == [run_dir / "requests.csv"]


def test_sigterm_mid_run_leaves_parseable_rows(signed_target, tmp_path):
    _stack, target_file = signed_target
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        locust_cmd(target_file, run_dir, "--hold", "30"),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _wait_for_rows(run_dir / "requests.csv", 20)
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    rows = load_requests(run_dir)
    assert len(answered(rows)) == locust_request_count(run_dir) > 20
    run = read_run_json(run_dir)
    assert run["completed"] is False and run["ended_ms"] > run["started_ms"]
    analysis = analyse(run_dir, build_config({}), reports_root=tmp_path / "reports")
    assert analysis.summary.completed is False
    assert "did not complete" in render(analysis).read_text()


def test_each_test_started_in_the_web_ui_is_its_own_run(signed_target, tmp_path):
    import requests

    from coldbench.infra.local.moto_server import free_port

    _stack, target_file = signed_target
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--target-file",
        str(target_file),
        "--web-host",
        "127.0.0.1",
        "--web-port",
        str(port),
        "--loglevel",
        "WARNING",
        "--shape",  # as `coldbench ui` passes it: the UI then plays coldbench's shapes
        "ramp-idle",
    ]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ui = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = requests.get(ui, timeout=2).text
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "web UI did not start"
                time.sleep(0.2)
        assert "shape_users" in page and "recycle_at_gap" in page, "custom options are in the UI"
        form = {
            "user_count": 1,
            "spawn_rate": 1,
            "host": "",
            "shape": "constant",
            "shape_users": 2,
            "shape_spawn_rate": 2,
            "shape_run_time": 2,
            "path": "/",
            "method": "GET",
        }
        for _ in range(2):
            assert requests.post(f"{ui}/swarm", data=form, timeout=10).json()["success"]
            time.sleep(3.5)
            requests.get(f"{ui}/stop", timeout=10)
            time.sleep(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    runs = sorted(p for p in (tmp_path / "runs").iterdir() if (p / "run.json").exists())
    assert len(runs) == 2
    for run_dir in runs:
        assert read_run_json(run_dir)["load"]["shape"] == "constant"
        assert len(load_requests(run_dir)) > 0


def test_sigkill_of_a_worker_loses_at_most_its_last_second(signed_target, tmp_path):
    _stack, target_file = signed_target
    run_dir = tmp_path / "run"
    cmd = locust_cmd(target_file, run_dir, "--processes", "2", "--hold", "30")
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_rows(run_dir / "requests.csv", 50)
    workers = _children(proc.pid)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    killed_at = time.time()
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    rows = load_requests(run_dir)
    assert rows["worker"].nunique() == 2
    # The killed worker's rows stop within a second (plus a flush tick) of the kill.
    per_worker_last = rows.groupby("worker")["start_time"].max()
    assert per_worker_last.min() > killed_at - 2.5
    pd.read_csv(run_dir / "requests.csv")  # parseable as a whole


def test_coldbench_run_end_to_end(tmp_path):
    """The CLI pipeline on a fresh directory: up, Locust, collect, report, summary."""
    (tmp_path / "coldbench.toml").write_text(
        "[load]\nusers = 3\nspawn_rate = 3\nhold_s = 2\ncycles = 2\n"
        "[local]\nkeep_alive_min_s = 1\nkeep_alive_max_s = 1\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "coldbench.cli", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "report:" in result.stdout and "SLO" in result.stdout
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((tmp_path / "reports" / run_dir.name / "summary.json").read_text())
    assert summary["match_rate"] == 1.0 and summary["requests"] > 0
    assert summary["classes"]["cold"]["count"] >= 2
    for key in ("p50", "p90", "p95", "p99", "p999", "max", "mean"):
        assert summary["classes"]["warm"]["e2e_ms"][key] is not None
    assert {"name", "threshold", "actual", "ok"} <= set(summary["slo"][0])
    assert (tmp_path / "reports" / run_dir.name / "joined.parquet").exists()
    assert_no_secrets(tmp_path / "runs", tmp_path / "reports", result.stdout + result.stderr)


def assert_no_secrets(*places) -> None:
    """No credential, signature or token anywhere a run leaves data."""
    from coldbench.infra.local.sigv4 import LOCAL_CREDENTIALS

    needles = [
        LOCAL_CREDENTIALS.secret_key,
        "Signature=",
        "AWS4-HMAC-SHA256",
        "X-Amz-Security-Token",
        "coldbench-local-environment-dummy",
        "Authorization",
    ]
    blobs = []
    for place in places:
        if isinstance(place, str):
            blobs.append(("output", place.encode()))
        else:
            blobs += [(str(p), p.read_bytes()) for p in Path(place).rglob("*") if p.is_file()]
    assert blobs
    for name, blob in blobs:
        for needle in needles:
            assert needle.encode() not in blob, f"{needle!r} found in {name}"


def test_invalid_config_is_refused_before_anything_starts(tmp_path):
    (tmp_path / "coldbench.toml").write_text("[load]\nusres = 3\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "coldbench.cli", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "load.usres" in result.stderr
    assert not (tmp_path / "runs").exists()


def _wait_for_rows(path: Path, count: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and sum(1 for _ in path.open()) > count:
            return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} rows in {path} after {timeout_s}s")


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_aws_run_without_credentials_is_refused_before_anything_exists(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        PYTHONPATH=str(REPO),
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        AWS_CONFIG_FILE="/nonexistent",
        AWS_EC2_METADATA_DISABLED="true",
    )
    result = subprocess.run(
        [sys.executable, "-m", "coldbench.cli", "run", "--target", "aws"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no AWS credentials" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_run_leaves_the_target_of_a_running_coldbench_local_alone(
    local_stack, tmp_path, monkeypatch
):
    """`make loadtest` once overwrote the target file of a `coldbench local` still serving."""
    from coldbench.pipeline import target_up
    from coldbench.record.target import TARGET_FILE, read_target
    from tests.conftest import local_config

    monkeypatch.chdir(tmp_path)
    with local_stack() as serving:
        write_target(serving.target, TARGET_FILE)
        with target_up(local_config()) as (own, own_file):
            assert own_file != TARGET_FILE and own.url != serving.target.url
            assert read_target(own_file) == own
        assert not own_file.exists(), "a run's own target file goes with its target"
        assert read_target(TARGET_FILE) == serving.target
    with target_up(local_config()) as (own, own_file):
        assert own_file == TARGET_FILE, "with no live target there, the run's is the default"
    assert not TARGET_FILE.exists()


def test_plain_locust_options_drive_the_load_without_a_coldbench_shape(signed_target, tmp_path):
    """`locust -f … -u 2 -r 2 -t 6s` once ran coldbench's shape with 10 users for a minute."""
    _stack, target_file = signed_target
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLDBENCH_")}
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "-u",
        "2",
        "-r",
        "2",
        "-t",
        "6s",
        "--run-dir",
        str(run_dir),
        "--target-file",
        str(target_file),
    ]
    started = time.monotonic()
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert time.monotonic() - started < 30
    rows = load_requests(run_dir)
    assert len(rows) > 0 and rows["user"].nunique() == 2
    assert set(rows["phase"]) <= {"locust", "tail"}
    run = read_run_json(run_dir)
    assert run["load"]["shape"] == "locust" and run["load"]["users"] == 2
    assert run["completed"] is True and 5_000 <= run["ended_ms"] - run["started_ms"] < 15_000


def test_requests_in_flight_when_the_load_stops_keep_a_row(local_stack, tmp_path):
    """A 25 s handler, 4 users, a 30 s run: 8 invocations ran, requests.csv had 4 rows."""
    with local_stack(
        function={"timeout_s": 20}, local={"keep_alive_min_s": 1, "keep_alive_max_s": 1}
    ) as stack:
        target_file = write_target(stack.target, tmp_path / "target.json")
        run_dir = tmp_path / "run"
        command = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
            "--run-dir", str(run_dir), "--target-file", str(target_file),
            "--shape", "constant", "--shape-users", "2", "--shape-spawn-rate", "2",
            "--shape-run-time", "3", "--stop-timeout", "1", "--path", "/?mode=sleep&s=7",
        ]  # fmt: skip
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        rows = load_requests(run_dir)
        cancelled = rows[rows["error"].str.startswith("Cancelled")]
        assert len(cancelled) == 2, rows[["status", "error", "e2e_ms"]]
        assert (cancelled["e2e_ms"] >= 2_000).all() and (cancelled["status"] == 0).all()
        time.sleep(6)  # the invocations themselves run to their end
        collect(run_dir, wait_s=20, settle_s=2, progress=False)
        summary = analyse(run_dir, build_config({}), reports_root=tmp_path / "reports").summary
        assert summary.cancelled == 2 and summary.failures == 0, "cut short, not failed"
        assert summary.invocations_without_request == 2, "their REPORTs have no client row"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


def _coldbench_run(cwd: Path, load: str) -> subprocess.Popen:
    """`coldbench run` in the background: a public local URL, a constant load of 2 users."""
    (cwd / "coldbench.toml").write_text(
        '[url]\nauth = "NONE"\n[load]\nshape = "constant"\nusers = 2\n' + load
    )
    return subprocess.Popen(
        [sys.executable, "-m", "coldbench.cli", "run"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_killing_coldbench_ends_its_locust_which_marks_the_run_ended_early(tmp_path):
    """Locust once outlived a SIGKILLed coldbench, loaded a stopped target for the rest
    of the shape and marked that run completed."""
    proc = _coldbench_run(tmp_path, "run_time_s = 120\n")
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("runs/*/requests.csv")):
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.2)
        (requests_csv,) = tmp_path.glob("runs/*/requests.csv")
        _wait_for_rows(requests_csv, 20)
        (locust_pid,) = [
            pid
            for pid in _children(proc.pid)
            if b"locust" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[2:5]
        ]
        proc.kill()
        proc.wait(10)
        deadline = time.monotonic() + 20
        while _alive(locust_pid):
            assert time.monotonic() < deadline, "Locust outlived coldbench"
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.kill()
    record = read_run_json(requests_csv.parent)
    assert record["completed"] is False and record["end_reason"] == "terminated"


def _listening(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp writes them) listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                address, _, hex_port = fields[1].rpartition(":")
                if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(address)
    return found


def test_locusts_master_listens_on_loopback_only(tmp_path):
    """`--processes N` once bound the master to every interface (*:5557) for the run."""
    proc = _coldbench_run(tmp_path, "run_time_s = 5\nworkers = 2\n")
    try:
        deadline = time.monotonic() + 60
        port, addresses = None, set()
        while not addresses:
            assert time.monotonic() < deadline, "no master listening"
            for pid in _children(proc.pid):
                args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if b"--master-bind-port" in args:
                    port = int(args[args.index(b"--master-bind-port") + 1])
            if port:
                addresses = _listening(port)
            time.sleep(0.2)
        assert addresses == {"0100007F"}, addresses  # 127.0.0.1 only
        assert proc.wait(120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sigterm_while_locusts_master_waits_for_its_workers_ends_them_all(tmp_path):
    """A master stopped before its workers had connected never ended: SIGTERM to
    coldbench at that moment once left it running for good."""
    proc = _coldbench_run(tmp_path, "run_time_s = 60\nworkers = 2\n")
    try:
        deadline = time.monotonic() + 60
        locust: list[int] = []
        while not locust:
            assert time.monotonic() < deadline, "Locust did not start"
            locust = [
                pid
                for pid in _children(proc.pid)
                if b"locust" in Path(f"/proc/{pid}/cmdline").read_bytes()
            ]
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        group = os.getpgid(locust[0]) if _alive(locust[0]) else None
        deadline = time.monotonic() + 5
        while _alive(locust[0]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(locust[0]), "Locust's master outlived coldbench"
        if group is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, 0)
                raise AssertionError("a Locust worker outlived coldbench")
    finally:
        if proc.poll() is None:
            proc.kill()
