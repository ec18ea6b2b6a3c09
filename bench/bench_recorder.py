"""Recording at rate: rows written per second and rows lost, with N Locust processes.

The suite's locustfile (recorder, SigV4 signing; with ``--processes N`` the workers send
their rows to the master, which writes the one ``requests.csv``) drives the bare aiohttp
server (``_bare_server.py``: the target is not the limit) with no wait time, next to a
bare FastHttpUser with the same processes and users in the same run (its requests per
second, the baseline). Rows lost = requests Locust counted that have no row (must be 0).
On this machine the client, the master and the server share 2 cores: the ceiling
printed is this machine's, and it says where the limit sits (the load generator, not
the recorder) by the ratio to the bare user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from _bare_server import serving

from coldbench.pipeline import LOCUSTFILE
from coldbench.record.target import Target, write_target

HERE = Path(__file__).parent


def _locust_count(stats: Path) -> tuple[int, float]:
    entries = json.loads(stats.read_text())
    requests = sum(e["num_requests"] for e in entries)
    seconds = max(e["last_request_timestamp"] for e in entries) - min(
        e["start_time"] for e in entries
    )
    return requests, seconds


def _run(cmd: list[str], cwd: Path, env: dict) -> None:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[:6]} failed: {done.stderr[-2000:]}")


def main(quick: bool = False) -> dict:
    seconds = "5" if quick else "15"
    counts = (1, 2) if quick else (1, 2, 4)
    users = "16"
    figures = {}
    with serving() as url, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        target = write_target(Target("local", url, "NONE", "us-east-1", "bench"), work / "t.json")
        env = {**os.environ, "COLDBENCH_LOAD_WAIT_MIN_S": "0", "COLDBENCH_LOAD_WAIT_MAX_S": "0"}
        base = [sys.executable, "-m", "locust", "--headless", "--only-summary"]
        base += ["--loglevel", "WARNING", "--stop-timeout", "5"]
        print(f"Recording at rate ({users} users, no wait, against a bare aiohttp server, "
              f"{seconds} s, {os.cpu_count()} cores shared by client, master and server)")  # fmt: skip
        for n in counts:
            many = ["--processes", str(n)] if n > 1 else []
            bare = [
                *base,
                *many,
                "-f",
                str(HERE / "_bare_locustfile.py"),
                "-H",
                url.rstrip("/"),
            ]
            bare += [
                "-u",
                users,
                "-r",
                users,
                "-t",
                seconds,
                "--json-file",
                str(work / f"bare{n}"),
            ]
            _run(bare, work, env)
            bare_count, bare_s = _locust_count(work / f"bare{n}.json")
            run_dir = work / f"run{n}"
            suite = [*base, *many, "-f", str(LOCUSTFILE), "--target-file", str(target)]
            suite += ["--run-dir", str(run_dir), "--shape", "constant", "--shape-users", users]
            suite += ["--shape-spawn-rate", users, "--shape-run-time", seconds]
            suite += ["--json-file", str(work / f"suite{n}")]
            _run(suite, work, env)
            counted, suite_s = _locust_count(work / f"suite{n}.json")
            rows = pd.concat(
                pd.read_csv(p, dtype=str, keep_default_na=False)
                for p in run_dir.glob("requests*.csv")
            )
            answered = int((~rows["error"].str.startswith("Cancelled")).sum())
            lost = counted - answered
            figures[n] = {
                "rows_per_s": answered / suite_s,
                "bare_rps": bare_count / bare_s,
                "rows_lost": lost,
                "rows": len(rows),
            }
            print(
                f"  {n} process(es): {answered / suite_s:8,.0f} rows/s written, "
                f"{lost} lost of {counted:,} counted  |  bare user {bare_count / bare_s:8,.0f} "
                f"req/s -> {answered / suite_s / (bare_count / bare_s):.0%} of bare"
            )
    return figures


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
