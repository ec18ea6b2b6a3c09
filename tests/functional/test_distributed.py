"""Distributed load across hosts, proven on one machine: the Locust master and two
workers each in a network namespace of their own, joined by veth pairs on a bridge
(10.203.0.0/24, inside the namespaces only). The workers reach the master and the
target over that network alone and share no file with the master's run directory; the
one run directory must hold every worker's rows, and the report count requests per
worker. Needs root and `ip netns` (skipped, saying so, where they cannot be had)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from coldbench.pipeline import LOCUSTFILE

pytestmark = pytest.mark.slow

DRIFT = Path(__file__).parent / "functions" / "drift"
MASTER_IP = "10.203.0.1"
PORT = 5557


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


@contextlib.contextmanager
def network(tag: str) -> Iterator[list[str]]:
    """Namespaces [master, worker1, worker2]: a bridge in the master's, a veth pair to
    each worker's; deleted (and whatever ran in them killed) afterwards."""
    names = [f"cb{tag}m", f"cb{tag}w1", f"cb{tag}w2"]
    try:
        for name in names:
            _ip("netns", "add", name)
        master = names[0]
        bridge = f"cb{tag}br"
        _ip("-n", master, "link", "add", bridge, "type", "bridge")
        _ip("-n", master, "addr", "add", f"{MASTER_IP}/24", "dev", bridge)
        _ip("-n", master, "link", "set", bridge, "up")
        for i, name in enumerate(names[1:], start=1):
            near, far = f"cb{tag}v{i}a", f"cb{tag}v{i}b"
            _ip("link", "add", near, "type", "veth", "peer", "name", far)
            _ip("link", "set", near, "netns", name)
            _ip("link", "set", far, "netns", master)
            _ip("-n", name, "addr", "add", f"10.203.0.{i + 1}/24", "dev", near)
            _ip("-n", name, "link", "set", near, "up")
            _ip("-n", master, "link", "set", far, "master", bridge)
            _ip("-n", master, "link", "set", far, "up")
        for name in names:
            _ip("-n", name, "link", "set", "lo", "up")
        yield names
    finally:
        for name in names:
            pids = _ip("netns", "pids", name, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            _ip("netns", "del", name, check=False)


def _namespaces_available() -> str:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return "needs root and iproute2's `ip` to create network namespaces"
    probe = f"cbprobe{os.getpid()}"
    made = _ip("netns", "add", probe, check=False)
    _ip("netns", "del", probe, check=False)
    return "" if made.returncode == 0 else f"`ip netns add` refused: {made.stderr.strip()}"


def _in(namespace: str, *cmd: str, cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        ["ip", "netns", "exec", namespace, *cmd], cwd=cwd, stdout=log.open("w"), stderr=subprocess.STDOUT
    )  # fmt: skip


def _coldbench_in(namespace: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ip", "netns", "exec", namespace, sys.executable, "-m", "coldbench.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def test_a_master_and_two_workers_on_separate_networks_fill_one_run(tmp_path):
    unavailable = _namespaces_available()
    if unavailable:
        pytest.skip(unavailable)
    root = Path("/var/tmp") if Path("/var/tmp").is_dir() else None
    with (
        tempfile.TemporaryDirectory(prefix="coldbench-truth-", dir=root) as directory,
        network(f"{os.getpid() % 100000}") as (master, *workers),
    ):
        truth = Path(directory)
        (tmp_path / "coldbench.toml").write_text(
            f'[local]\nhost = "{MASTER_IP}"\n[url]\nauth = "NONE"\n'
            f'[function]\nvariant = "custom"\nsource = "{DRIFT}"\nhandler = "app.handler"\n'
            f'env = {{ DRIFT_T0 = "0", DRIFT_MS_PER_S = "0", TRUTH_DIR = "{truth}" }}\n'
        )
        target_file = tmp_path / ".coldbench" / "target.json"
        lam = _in(
            master,
            sys.executable,
            "-m",
            "coldbench.cli",
            "local",
            cwd=tmp_path,
            log=tmp_path / "local.log",
        )
        try:
            deadline = time.monotonic() + 90
            while not target_file.exists():
                assert lam.poll() is None, (tmp_path / "local.log").read_text()
                assert time.monotonic() < deadline, "the local Lambda did not start"
                time.sleep(0.2)
            target = json.loads(target_file.read_text())
            assert target["url"].startswith(f"http://{MASTER_IP}:")
            # Each worker is a host of its own: its own folder, its copy of target.json.
            started = []
            for i, name in enumerate(workers, start=1):
                home = tmp_path / f"worker{i}"
                home.mkdir()
                shutil.copy(target_file, home / "target.json")
                started.append(_in(
                    name, sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker",
                    "--master-host", MASTER_IP, "--master-port", str(PORT),
                    "--target-file", str(home / "target.json"), "--loglevel", "WARNING",
                    cwd=home, log=home / "worker.log",
                ))  # fmt: skip
            run_dir = tmp_path / "runs" / "distributed"
            master_cmd = [
                sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--master", "--headless",
                "--only-summary", "--master-bind-host", MASTER_IP, "--master-bind-port", str(PORT),
                "--expect-workers", "2", "--run-dir", str(run_dir), "--target-file", str(target_file),
                "--shape", "ramp-idle", "--shape-users", "4", "--shape-spawn-rate", "4",
                "--hold", "4", "--idle", "1", "--cycles", "1", "--stop-timeout", "5",
                "--loglevel", "WARNING",
            ]  # fmt: skip
            result = subprocess.run(
                ["ip", "netns", "exec", master, *master_cmd],
                cwd=tmp_path, capture_output=True, text=True, timeout=180,
            )  # fmt: skip
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            for worker in started:
                worker.wait(30)
            collected = _coldbench_in(master, tmp_path, "collect", str(run_dir))
            assert collected.returncode == 0, collected.stdout + collected.stderr[-2000:]
        finally:
            lam.send_signal(signal.SIGTERM)
            lam.wait(30)
        reported = _coldbench_in(master, tmp_path, "report", str(run_dir))
        assert reported.returncode in (0, 1), reported.stdout + reported.stderr[-2000:]
        served = [json.loads(line) for f in truth.glob("*.jsonl") for line in f.open()]

    rows = pd.read_csv(run_dir / "requests.csv", dtype=str, keep_default_na=False)
    assert not list(tmp_path.glob("worker*/requests*.csv")), "rows travel to the master"
    assert set(rows["worker"]) and "local" not in set(rows["worker"])
    assert rows["worker"].nunique() == 2, "every worker's rows are in the one run"
    assert {s["request_id"].lower() for s in served} <= set(rows["request_id"].str.lower())
    summary = json.loads((tmp_path / "reports" / "distributed" / "summary.json").read_text())
    assert sorted(summary["workers"]) == sorted(set(rows["worker"]))
    assert sum(summary["workers"].values()) == summary["requests"] == len(rows)
    assert all(n > 0 for n in summary["workers"].values())
    assert summary["match_rate"] == 1.0
    assert (
        "Requests per Locust worker"
        in (tmp_path / "reports" / "distributed" / "index.html").read_text()
    )
