"""A moto server on loopback: the local CloudWatch Logs and metrics endpoint."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

from coldbench.infra.errors import LocalLambdaError
from coldbench.infra.local.environment import SETPRIV


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class MotoServer:
    """A moto server on loopback: the local CloudWatch Logs and metrics endpoint."""

    def __init__(self, host: str = "127.0.0.1", env: dict[str, str] | None = None):
        self.host = host
        self.env = env or {}
        self.port = free_port(host)
        self.proc: subprocess.Popen | None = None
        self.module = "coldbench.infra.local.moto_main"  # moto's server; a bench may compare

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 60) -> str:
        cmd = [
            sys.executable,
            "-m",
            self.module,
            "-H",
            self.host,
            "-p",
            str(self.port),
        ]
        if SETPRIV:
            cmd = [SETPRIV, "--pdeathsig", "KILL", "--", *cmd]  # dies with us, however we end
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **self.env},
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LocalLambdaError(f"moto server exited with {self.proc.returncode}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1).close()
                return self.endpoint
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise LocalLambdaError(f"moto server did not answer on {self.endpoint} in {timeout_s}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
