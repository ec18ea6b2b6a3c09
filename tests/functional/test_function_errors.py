"""What the function did wrong reaches the console: a client sees only 502, the local
Lambda's console names the error (once, with a count), and `coldbench run` ends with a
summary naming it and how many requests hit it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from tests.conftest import coldbench

BROKEN = Path(__file__).parent / "functions" / "broken"
LOCAL = (sys.executable, "-m", "coldbench.cli", "local")


def console_of(tmp_path: Path, source: Path, handler: str, requests_made: int = 2) -> str:
    """``coldbench local`` with the function; a few requests, then Ctrl-C; its console."""
    env = {**os.environ, "COLDBENCH_TARGET_STACK_NAME": f"cberr{uuid.uuid4().hex[:6]}"}
    proc = subprocess.Popen(
        [*LOCAL, "--source", str(source), "--handler", handler, "--set", "url.auth=NONE"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    first = ""
    try:
        first = proc.stdout.readline()
        url = first.split(" at ")[1].split()[0]
        for _ in range(requests_made):
            assert requests.get(url, timeout=30).status_code == 502
    finally:
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=60)[0]
    return first + out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("handler", "error_type", "says"),
    [
        ("app.nosuch", "Runtime.HandlerNotFound", "nosuch"),
        ("syntax.handler", "Runtime.UserCodeSyntaxError", "syntax"),
        ("app.handler", "ValueError", "the order id is missing"),
    ],
)
def test_the_console_names_what_the_function_did_wrong(tmp_path, handler, error_type, says):
    source = tmp_path / "fn"
    shutil.copytree(BROKEN, source)
    (source / "syntax.py").write_text("def handler(event, context)\n    return 1\n")
    console = console_of(tmp_path, source, handler)
    first = [line for line in console.splitlines() if error_type in line]
    assert first and says in console, console
    assert f"{error_type} ×2" in console, "each distinct error once, then a count: " + console
    if error_type == "ValueError":
        assert "line" in console and "raise ValueError" in console, "the trace's first lines"


@pytest.mark.slow
def test_a_run_against_a_failing_function_names_the_error_and_its_count(tmp_path):
    (tmp_path / "coldbench.toml").write_text(
        f'[function]\nvariant = "custom"\nsource = "{BROKEN}"\nhandler = "app.handler"\n'
        '[url]\nauth = "NONE"\n'
        '[load]\nshape = "constant"\nusers = 2\nspawn_rate = 2\nrun_time_s = 2\n'
    )
    result = coldbench(tmp_path, "run")
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]  # errors fail the SLO
    # The REPORT records say what AWS's say (Unhandled); the console names the exception.
    assert "function errors (REPORT records): Unhandled ×" in result.stdout, result.stdout
    assert "ValueError: the order id is missing" in result.stderr, result.stderr[-3000:]
    assert re.search(r"function errors this session: ValueError ×\d+", result.stderr)
