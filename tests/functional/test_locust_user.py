"""What the suite's Locust user puts on the wire, seen by a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from aiohttp import web

from coldbench.infra.local.sigv4 import verify
from coldbench.pipeline import LOCUSTFILE
from coldbench.record.target import Target, write_target

pytestmark = pytest.mark.slow
REGION = "us-east-1"


@pytest.fixture
def recording_server():
    """An aiohttp server in a thread; yields (url, the requests it received)."""
    seen: list[dict] = []
    started = threading.Event()
    state: dict = {}

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        headers = list(request.headers.items())
        seen.append(
            {
                "method": request.method,
                "headers": {k.lower(): v for k, v in headers},
                "body": body,
                "signature": verify(request.method, str(request.url), headers, body, REGION),
            }
        )
        return web.json_response({"ok": True})

    async def serve() -> None:
        runner = web.ServerRunner(web.Server(handle), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        state["port"] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        state["stop"] = asyncio.Event()
        started.set()
        await state["stop"].wait()
        await runner.cleanup()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield f"http://127.0.0.1:{state['port']}/", seen
    finally:
        loop.call_soon_threadsafe(state["stop"].set)
        thread.join(10)


def test_configured_headers_body_and_signature_reach_the_server(recording_server, tmp_path):
    url, seen = recording_server
    target = write_target(Target("local", url, "AWS_IAM", REGION, "fn"), tmp_path / "target.json")
    (tmp_path / "coldbench.toml").write_text(
        "[load]\n"
        'method = "POST"\n'
        'path = "/orders?x=1"\n'
        "payload = '{\"sku\": 7}'\n"
        'headers = { "X-Team" = "cold", "Accept-Encoding" = "identity" }\n'
        "wait_min_s = 0.05\nwait_max_s = 0.05\n"
    )
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary"]
    cmd += ["--target-file", str(target), "--run-dir", str(run_dir), "--loglevel", "WARNING"]
    cmd += ["--json-file", str(tmp_path / "stats"), "--shape", "constant"]
    cmd += ["--shape-users", "2", "--shape-spawn-rate", "2", "--shape-run-time", "3"]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]

    assert len(seen) > 20
    # Each second brings a new X-Amz-Date and signature: the run spans several.
    assert len({r["headers"]["x-amz-date"] for r in seen}) >= 2
    for request in seen:
        assert request["signature"] is None, request["signature"]
        assert request["method"] == "POST" and request["body"] == b'{"sku": 7}'
        headers = request["headers"]
        assert headers["x-team"] == "cold"
        assert headers["accept-encoding"] == "identity"  # the configured one, not Locust's
        assert headers["content-type"] == "application/json"
    stats = json.loads((tmp_path / "stats.json").read_text())
    with (run_dir / "requests.csv").open(newline="") as f:
        every = list(csv.DictReader(f))
    rows = [r for r in every if not r["error"].startswith("Cancelled")]  # cut short at the end
    assert len(rows) == sum(entry["num_requests"] for entry in stats)
    assert len(rows) <= len(seen) <= len(every), "a cut-short request may have been sent"
    assert {row["name"] for row in rows} == {"/orders?x=1"} and all(r["ok"] == "1" for r in rows)
    assert not any("Signature" in value for row in rows for value in row.values())
    assert Path(run_dir / "run.json").exists()
