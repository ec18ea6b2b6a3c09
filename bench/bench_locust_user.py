"""The suite's user (recorder + SigV4 signing) vs a bare FastHttpUser, same run.

Both drive the same bare aiohttp server (so the server is not the limit) with the same
users and no wait time. The figure is CPU per request of each Locust process between
test start and stop (``_cpu_meter``): a Locust process is CPU-bound, so its attainable
rate is 1 / CPU per request. On this shared VM the speed of a CPU drifts by +-15% from
one 10 s run to the next, so the two users run side by side, at the same time, on the
same CPU (``taskset``; the server has the other one), and each round compares two
processes that saw the same machine. The median over rounds is reported, with the
wall-clock rates (each process gets about half the CPU) for context.
Target: the suite's user reaches >= 90% of the bare user's rate.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _bare_server import serving

from coldbench.pipeline import LOCUSTFILE
from coldbench.record.target import Target, write_target

HERE = Path(__file__).parent
METER = HERE / "_cpu_meter.py"


def pinned(cpu: int) -> list[str]:
    """A ``taskset`` prefix pinning a command to one CPU, when there are two to use."""
    taskset = shutil.which("taskset")
    return [taskset, "-c", str(cpu)] if taskset and (os.cpu_count() or 1) >= 2 else []


def start(cmd: list[str], workdir: Path, env: dict, name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*cmd, "--json-file", str(workdir / name)],
        cwd=workdir,
        env={**env, "BENCH_CPU_METER_FILE": str(workdir / f"{name}.meter")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def result(proc: subprocess.Popen, workdir: Path, name: str) -> tuple[float, float]:
    """(wall-clock req/s, CPU ms per request) of one finished Locust run."""
    if proc.wait() != 0:
        raise RuntimeError(f"locust run {name} failed with {proc.returncode}")
    entries = json.loads((workdir / f"{name}.json").read_text())
    requests = sum(e["num_requests"] for e in entries)
    seconds = max(e["last_request_timestamp"] for e in entries) - min(
        e["start_time"] for e in entries
    )
    used = json.loads((workdir / f"{name}.meter").read_text())
    return requests / seconds, used["cpu_s"] * 1000 / used["requests"]


def main(quick: bool = False) -> dict:
    users, seconds, rounds = ("8", "5", 1) if quick else ("8", "10", 9)
    with serving(pinned(0)) as url, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        target = write_target(
            Target("local", url, "AWS_IAM", "us-east-1", "bench"), workdir / "target.json"
        )
        env = {**os.environ, "COLDBENCH_LOAD_WAIT_MIN_S": "0", "COLDBENCH_LOAD_WAIT_MAX_S": "0"}
        common = [*pinned(1), sys.executable, "-m", "locust", "--headless", "--only-summary"]
        common += ["--loglevel", "WARNING"]
        bare_cmd = [*common, "-f", f"{HERE / '_bare_locustfile.py'},{METER}"]
        bare_cmd += ["-H", url.rstrip("/"), "-u", users, "-r", users, "-t", seconds]
        bares, suites = [], []
        for index in range(rounds):
            suite_cmd = [*common, "-f", f"{LOCUSTFILE},{METER}"]
            suite_cmd += ["--target-file", str(target), "--run-dir", str(workdir / f"r{index}")]
            suite_cmd += ["--shape", "constant", "--shape-users", users]
            suite_cmd += ["--shape-spawn-rate", users, "--shape-run-time", seconds]
            # Side by side on the same CPU: whatever slows the machine slows both.
            bare = start(bare_cmd, workdir, env, "bare")
            suite = start(suite_cmd, workdir, env, "suite")
            bares.append(result(bare, workdir, "bare"))
            suites.append(result(suite, workdir, "suite"))
    bare_rps, suite_rps = (statistics.median(r for r, _ in runs) for runs in (bares, suites))
    bare_cpu, suite_cpu = (statistics.median(c for _, c in runs) for runs in (bares, suites))
    per_round = sorted(b[1] / s[1] for b, s in zip(bares, suites, strict=True))
    ratio = statistics.median(per_round)
    print(
        f"Locust user ({users} users, no wait, one process, against a bare aiohttp server; "
        f"median of {rounds} rounds side by side{'' if pinned(0) else ', not pinned'})"
    )
    print(f"  bare FastHttpUser                  {bare_cpu * 1000:6.1f} us CPU/request")
    print(
        f"  coldbench user (recorder + SigV4)  {suite_cpu * 1000:6.1f} us CPU/request"
        f" -> attainable rate {ratio:.0%} of bare  [target >= 90%]"
    )
    print(f"    per round {per_round[0]:.0%}..{per_round[-1]:.0%}")
    print(
        f"  wall-clock rate: bare {bare_rps:,.0f} req/s, coldbench {suite_rps:,.0f} req/s"
        f" = {suite_rps / bare_rps:.0%} (sharing one CPU)"
    )
    return {
        "bare_rps": bare_rps,
        "suite_rps": suite_rps,
        "bare_cpu_ms_per_request": bare_cpu,
        "suite_cpu_ms_per_request": suite_cpu,
        "ratio": ratio,
        "wall_ratio": suite_rps / bare_rps,
    }


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
