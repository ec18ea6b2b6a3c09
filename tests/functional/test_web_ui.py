"""`coldbench ui` as a user meets it: fields from the configuration, a live cold-start
tab, and a report for every test started and stopped through Locust's HTTP API."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest
import requests

from coldbench.infra.local.moto_server import free_port
from tests.functional.test_cleanup import processes_of

TOML = """
[url]
auth = "NONE"
[load]
shape = "constant"
users = 3
spawn_rate = 3
run_time_s = 4
[local]
keep_alive_min_s = 30
keep_alive_max_s = 30
"""
FORM = {
    "user_count": 3,
    "spawn_rate": 3,
    "host": "",
    "shape": "constant",
    "shape_users": 3,
    "shape_spawn_rate": 3,
    "shape_run_time": 4,
    "path": "/",
    "method": "GET",
}


def wait_for(check, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            found = check()
        except requests.ConnectionError:
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.3)


def coldbench_tab(ui: str) -> dict[str, list[dict]]:
    stats = requests.get(f"{ui}/stats/requests", timeout=10).json()
    return {table["key"]: table["data"] for table in stats.get("extended_stats", [])}


def browser_dom(url: str, screenshot) -> str:
    """The page as Chromium renders it (scripts run), and a screenshot of it."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (.ci/run installs it)")
    common = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        f"--user-data-dir={screenshot.parent / 'chromium'}",
        "--virtual-time-budget=6000",
        "--window-size=1400,900",
    ]
    subprocess.run([*common, f"--screenshot={screenshot}", url], capture_output=True, timeout=60)
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=60)
    return dom.stdout


@pytest.mark.slow
def test_every_test_in_the_ui_ends_in_a_report_and_the_tab_shows_cold_starts(tmp_path):
    (tmp_path / "coldbench.toml").write_text(TOML)
    stack = f"cbui{uuid.uuid4().hex[:6]}"
    port = free_port()
    env = {**os.environ, "COLDBENCH_TARGET_STACK_NAME": stack}
    proc = subprocess.Popen(
        [sys.executable, "-m", "coldbench.cli", "ui", "--web-port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ui = f"http://127.0.0.1:{port}"
    try:
        page = wait_for(lambda: requests.get(ui, timeout=2).text, 60, "the web UI")
        # The UI's fields start at the configuration's values.
        assert re.search(r'"num_users":\s*3', page) and re.search(r'"spawn_rate":\s*3', page)
        for test in range(2):
            assert requests.post(f"{ui}/swarm", data=FORM, timeout=10).json()["success"]
            if test == 0:
                live = wait_for(
                    lambda: coldbench_tab(ui).get("coldbench"), 20, "the live cold-start table"
                )
                assert live
                shot = tmp_path / "coldbench-tab.png"
                dom = browser_dom(f"{ui}/?tab=coldbench", shot)
                assert "environments seen" in dom and ">cold<" in dom, dom[-2000:]
                assert shot.stat().st_size > 10_000
            time.sleep(2)
            requests.get(f"{ui}/stop", timeout=10)
            wait_for(
                lambda n=test + 1: len(list(tmp_path.glob("reports/*/index.html"))) >= n,
                120,
                f"report {test + 1}",
            )
        cold = {row["what"]: row for row in coldbench_tab(ui)["coldbench"]}
        assert cold["environments seen"]["count"] >= 1
        runs = coldbench_tab(ui)["coldbench-runs"]
        assert len(runs) == 2 and all(r["state"] == "report ready" for r in runs)
        report = requests.get(runs[0]["report"], timeout=10)
        assert report.status_code == 200 and "<html" in report.text.lower()
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, output[-3000:]
    summaries = [json.loads(p.read_text()) for p in tmp_path.glob("reports/*/summary.json")]
    assert len(summaries) == 2
    for summary in summaries:
        assert summary["match_rate"] >= 0.99 and summary["reached"] > 0
    assert output.count("report: ") == 2, output[-3000:]
    deadline = time.monotonic() + 10
    while processes_of(stack) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_of(stack) == []
