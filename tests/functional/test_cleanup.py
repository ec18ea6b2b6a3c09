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


def test_coldbench_local_prints_credentials_that_sign_requests_it_accepts(tmp_path):
    """The dummy AWS_IAM credentials were documented only in a source file."""
    import hashlib
    import re

    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    env = {**os.environ, "COLDBENCH_TARGET_STACK_NAME": f"cbcred{uuid.uuid4().hex[:6]}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "coldbench.cli", "local"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(6)]
        text = "".join(lines)
        url = lines[0].split(" at ")[1].split()[0]
        key = re.search(r"AWS_ACCESS_KEY_ID=(\S+)", text).group(1)
        secret = re.search(r"AWS_SECRET_ACCESS_KEY=(\S+)", text).group(1)
        assert "awscurl --service lambda" in text
        assert requests.get(url, timeout=30).status_code == 403
        credentials = boto3.session.Session(
            aws_access_key_id=key, aws_secret_access_key=secret
        ).get_credentials()
        empty_body = hashlib.sha256(b"").hexdigest()
        request = AWSRequest("GET", url, headers={"x-amz-content-sha256": empty_body})
        SigV4Auth(credentials, "lambda", "us-east-1").add_auth(request)
        assert requests.get(url, headers=dict(request.headers), timeout=30).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
