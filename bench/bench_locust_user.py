"""The suite's user (recorder + SigV4 signing) vs a bare FastHttpUser, same run.

Both drive the same bare aiohttp server (so the server is not the limit) with the same
users and no wait time; Locust's final JSON stats give each one's request rate. Runs
alternate (bare, suite, bare, suite, ...) and the medians are compared, so a noisy
neighbour hits both. Target: the suite's user reaches >= 90% of the bare user's rate.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from coldbench.pipeline import LOCUSTFILE
from coldbench.target import Target, write_target

HERE = Path(__file__).parent


def rate(cmd: list[str], workdir: Path, env: dict) -> float:
    stats = workdir / "stats"
    subprocess.run(
        [*cmd, "--json-file", str(stats)],
        cwd=workdir,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    entries = json.loads(stats.with_suffix(".json").read_text())
    requests = sum(e["num_requests"] for e in entries)
    seconds = max(e["last_request_timestamp"] for e in entries) - min(
        e["start_time"] for e in entries
    )
    return requests / seconds


def main(quick: bool = False) -> dict:
    users, seconds, rounds = ("8", "5", 1) if quick else ("8", "10", 5)
    server = subprocess.Popen(
        [sys.executable, str(HERE / "_bare_server.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        port = server.stdout.readline().strip()
        url = f"http://127.0.0.1:{port}/"
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            target = write_target(
                Target("local", url, "AWS_IAM", "us-east-1", "bench"), workdir / "target.json"
            )
            env = {**os.environ, "COLDBENCH_LOAD_WAIT_MIN_S": "0", "COLDBENCH_LOAD_WAIT_MAX_S": "0"}
            common = [
                sys.executable,
                "-m",
                "locust",
                "--headless",
                "--only-summary",
                "--loglevel",
                "WARNING",
            ]
            bare_cmd = [
                *common,
                "-f",
                str(HERE / "_bare_locustfile.py"),
                "-H",
                url.rstrip("/"),
                "-u",
                users,
                "-r",
                users,
                "-t",
                seconds,
            ]
            bares, suites = [], []
            for index in range(rounds):
                bares.append(rate(bare_cmd, workdir, env))
                suite_cmd = [
                    *common,
                    "-f",
                    str(LOCUSTFILE),
                    "--target-file",
                    str(target),
                    "--run-dir",
                    str(workdir / f"run{index}"),
                    "--shape",
                    "constant",
                    "--shape-users",
                    users,
                    "--shape-spawn-rate",
                    users,
                    "--shape-run-time",
                    seconds,
                ]
                suites.append(rate(suite_cmd, workdir, env))
            bare, suite = statistics.median(bares), statistics.median(suites)
    finally:
        server.terminate()
        server.wait()
    print(
        f"Locust user ({users} users, no wait, one process, against a bare aiohttp server; "
        f"median of {rounds} alternating runs)"
    )
    print(f"  bare FastHttpUser          {bare:8,.0f} req/s")
    print(
        f"  coldbench user (recorder + SigV4) {suite:8,.0f} req/s = {suite / bare:.0%} of bare  [target >= 90%]"
    )
    return {"bare_rps": bare, "suite_rps": suite, "ratio": suite / bare}


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
