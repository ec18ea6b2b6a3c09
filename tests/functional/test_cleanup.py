"""Stopping the local Lambda, however it happens, leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]


def processes_of(stack_name: str) -> list[int]:
    """PIDs whose environment names this stack (environments and the moto server)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if stack_name.encode() in environ or stack_name.encode() in cmdline:
            found.append(int(entry.name))
    return [p for p in found if p != os.getpid()]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killing_the_local_lambda_leaves_nothing_behind(tmp_path, sig):
    stack = f"cbkill{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "COLDBENCH_TARGET_STACK_NAME": stack,
        "COLDBENCH_URL_AUTH": "NONE",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "coldbench.cli", "local"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = proc.stdout.readline().split(" at ")[1].split()[0]
    with (
        requests.Session() as session,
        ThreadPoolExecutor(3) as pool,
    ):
        list(pool.map(lambda _: session.get(url + "?sleep_ms=300", timeout=30), range(3)))
    assert len(processes_of(stack)) >= 2, "environments are running"
    proc.send_signal(sig)
    proc.wait(30)
    deadline = time.monotonic() + 10
    while processes_of(stack) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_of(stack) == []
