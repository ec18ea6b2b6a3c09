"""The local Lambda's own cost, next to the limit of its design, in one run.

Three servers, each driven by the same Locust client (16 FastHttpUsers, no wait) in
turn, round after round so all three see the same machine:

- a bare aiohttp hello-world (``_bare_server``): what one Python HTTP server allows;
- the minimal driver (``_minimal_driver``): the same ``awslambdaric`` environments
  behind the same Runtime API and nothing else; the limit of this design;
- coldbench's local Lambda with no concurrency cap (``reserved_concurrency = 0``, so 16
  environments), its CloudWatch (moto) started here so it outlives the stop.

Printed per server: successful requests per second (a 429 is not a success) and CPU
per successful invocation of each part, from ``/proc``: the front end's event loop
(HTTP in and out, Runtime API, pool), the telemetry thread, moto, the environments and
the Locust client. For coldbench also the telemetry backlog (log events recorded and not
yet shipped, sampled every second), how long the stop takes after the saturated run
(what Ctrl-C waits for) and whether every invocation's REPORT line reached the log group.

Targets (issue "the local Lambda's own cost"): coldbench's own CPU (front end,
telemetry, moto) <= 0.15 ms per invocation; successful throughput >= 0.8x the minimal
driver's; the backlog bounded; the stop within 3 s with every REPORT line delivered.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bare_server import serving_process
from _local import cpu_seconds, full_speed_config, sampled_each_second

from coldbench.analysis.cloudwatch import logs_client
from coldbench.infra.local.logbatch import is_report
from coldbench.infra.local.moto_server import MotoServer
from coldbench.infra.local.runtime import runtime_dir
from coldbench.infra.local.stack import running
from coldbench.infra.packaging import build_package, source_for, unpack

HERE = Path(__file__).parent
USERS = 16


class Meter:
    """CPU seconds of named groups of processes (or threads), between start and stop."""

    def __init__(self, parts: dict[str, list[tuple[int, int | None]]]):
        self.parts = parts
        self.before = self._read()

    def _read(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(*ids) for ids in ids_) for name, ids_ in self.parts.items()}

    def used(self) -> dict[str, float]:
        after = self._read()
        return {name: after[name] - self.before[name] for name in self.parts}


def locust(url: str, seconds: int, workdir: Path, name: str) -> dict:
    """One headless Locust run: successful requests, their rate, the client's CPU."""
    meter_file = workdir / f"{name}.meter"
    cmd = [sys.executable, "-m", "locust", "--headless", "--only-summary"]
    cmd += [
        "--loglevel",
        "WARNING",
        "-f",
        f"{HERE / '_bare_locustfile.py'},{HERE / '_cpu_meter.py'}",
    ]
    cmd += ["-H", url.rstrip("/"), "-u", str(USERS), "-r", str(USERS), "-t", f"{seconds}s"]
    cmd += ["--json-file", str(workdir / name)]
    env = {**os.environ, "BENCH_CPU_METER_FILE": str(meter_file)}
    subprocess.run(cmd, cwd=workdir, env=env, check=True, stdout=subprocess.DEVNULL)
    entries = json.loads((workdir / f"{name}.json").read_text())
    requests = sum(e["num_requests"] for e in entries)
    ok = requests - sum(e["num_failures"] for e in entries)
    span = max(e["last_request_timestamp"] for e in entries) - min(e["start_time"] for e in entries)
    used = json.loads(meter_file.read_text())
    return {"ok": ok, "requests": requests, "rps": ok / span, "client_cpu_s": used["cpu_s"]}


def warm_p50_ms(url: str, count: int = 500) -> float:
    """End-to-end p50 of sequential requests on one keep-alive connection (the client in
    its own process): what one request costs through this server when nothing queues."""
    cmd = [sys.executable, str(HERE / "_client.py"), "sequential", url]
    out = subprocess.run([*cmd, "50"], capture_output=True, check=True)  # warm the path
    out = subprocess.run([*cmd, str(count)], capture_output=True, text=True, check=True)
    return statistics.median(row[1] for row in json.loads(out.stdout))


def per_invocation(used: dict[str, float], ok: int) -> dict[str, float]:
    return {name: seconds * 1000 / ok for name, seconds in used.items()}


def bare_round(seconds: int, workdir: Path) -> dict:
    with serving_process() as (url, pid):  # no prefix: the pid is the server's own
        meter = Meter({"server": [(pid, None)]})
        run = locust(url, seconds, workdir, "bare")
        used = meter.used()
        return {**run, "cpu_ms": per_invocation(used, run["ok"]), "warm_p50_ms": warm_p50_ms(url)}


def minimal_round(seconds: int, workdir: Path, task_root: Path, libs: Path, handler: str) -> dict:
    cmd = [sys.executable, str(HERE / "_minimal_driver.py"), str(task_root), str(libs)]
    driver = subprocess.Popen([*cmd, handler, str(USERS)], stdout=subprocess.PIPE, text=True)
    try:
        assert driver.stdout is not None
        url = f"http://127.0.0.1:{driver.stdout.readline().strip()}/"
        envs = [(int(p), None) for p in driver.stdout.readline().split()]
        meter = Meter({"driver": [(driver.pid, None)], "environments": envs})
        run = locust(url, seconds, workdir, "minimal")
        used = meter.used()
        return {**run, "cpu_ms": per_invocation(used, run["ok"]), "warm_p50_ms": warm_p50_ms(url)}
    finally:
        driver.terminate()
        driver.wait()


def reports_delivered(target, log_group: str) -> int:
    logs = logs_client(target)
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=log_group)
    return sum(is_report(e["message"]) for page in pages for e in page["events"])


def coldbench_round(seconds: int, workdir: Path, endpoint: str, moto_pid: int) -> dict:
    config = full_speed_config()
    with running(config, cloudwatch_endpoint=endpoint) as stack:
        assert stack.pool is not None and stack.target is not None
        url, telemetry = stack.target.url, stack.pool.telemetry
        locust(url, 2, workdir, "warmup")  # the 16 environments start
        warm = warm_p50_ms(url)
        for _ in range(40):  # the warm-up's telemetry is shipped before the meter starts
            if telemetry.backlog() == 0:
                break
            time.sleep(0.25)
        own, thread = os.getpid(), telemetry._thread.native_id
        envs = [(e.proc.pid, None) for e in stack.pool.envs.values() if e.proc]
        meter = Meter(
            {
                "process": [(own, None)],
                "telemetry thread": [(own, thread)],
                "moto": [(moto_pid, None)],
                "environments": envs,
            }
        )
        with sampled_each_second(telemetry.backlog) as backlog:
            run = locust(url, seconds, workdir, "coldbench")
        used = meter.used()
        at_end = telemetry.backlog()
        invocations = stack.pool.counters["invocations"]
        target, log_group = stack.target, stack.log_group
        stop_started = time.perf_counter()
    stop_s = time.perf_counter() - stop_started
    used["front end"] = used.pop("process") - used["telemetry thread"]
    return {
        **run,
        "cpu_ms": per_invocation(used, run["ok"]),
        "backlog_max": max(backlog, default=0),
        "backlog_at_end": at_end,
        "stop_s": stop_s,
        "warm_p50_ms": warm,
        "invocations": invocations,
        "reports": reports_delivered(target, log_group),
    }


def cli_stop_s(seconds: int, workdir: Path) -> float:
    """``coldbench local`` as a user runs it: saturated by the same client, then Ctrl-C
    (SIGINT); how long until it has exited, its environments and moto gone."""
    env = {
        **os.environ,
        "COLDBENCH_URL_AUTH": "NONE",
        "COLDBENCH_FUNCTION_RESERVED_CONCURRENCY": "0",
        "COLDBENCH_LOCAL_CPU_SCALING": "off",
        "COLDBENCH_LOCAL_MAX_ENVIRONMENTS": "64",
    }
    cmd = [sys.executable, "-m", "coldbench.cli", "local"]
    local = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert local.stdout is not None
        first = local.stdout.readline()  # "local Lambda NAME at URL (auth NONE)"
        url = first.split(" at ", 1)[1].split()[0]
        locust(url, seconds, workdir, "cli")
        started = time.perf_counter()
        local.send_signal(signal.SIGINT)
        local.wait(120)
        return time.perf_counter() - started
    finally:
        if local.poll() is None:
            local.kill()


def main(quick: bool = False) -> dict:
    seconds, rounds = (4, 1) if quick else (10, 5)
    source_dir, handler = source_for("probe")
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        workdir = Path(tmp)
        task_root = unpack(build_package(source_dir, handler), workdir)
        libs = runtime_dir(workdir)
        results: dict[str, list[dict]] = {"bare": [], "minimal": [], "coldbench": []}
        for index in range(rounds):
            moto = MotoServer()
            endpoint = moto.start()
            try:
                assert moto.proc is not None
                order = ["bare", "minimal", "coldbench"]
                order = order[index % 3 :] + order[: index % 3]  # each goes first once
                for name in order:
                    if name == "bare":
                        results[name].append(bare_round(seconds, workdir))
                    elif name == "minimal":
                        results[name].append(
                            minimal_round(seconds, workdir, task_root, libs, handler)
                        )
                    else:
                        results[name].append(
                            coldbench_round(seconds, workdir, endpoint, moto.proc.pid)
                        )
            finally:
                moto.stop()
        ctrl_c_s = cli_stop_s(seconds, workdir)
    return report(results, rounds, seconds, ctrl_c_s)


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def report(results: dict[str, list[dict]], rounds: int, seconds: int, ctrl_c_s: float) -> dict:
    bare, minimal, cold = results["bare"], results["minimal"], results["coldbench"]
    rps = {name: median_of(runs, "rps") for name, runs in results.items()}
    ratios = sorted(c["rps"] / m["rps"] for c, m in zip(cold, minimal, strict=True))
    print(
        f"Local Lambda's own cost ({USERS} FastHttpUsers, no wait, {seconds} s each, "
        f"probe handler; median of {rounds} rounds)"
    )
    for name, runs in results.items():
        print(f"  {name:10} {rps[name]:8,.0f} successful req/s")
        for part in runs[0]["cpu_ms"]:
            cpu = statistics.median(run["cpu_ms"][part] for run in runs)
            print(f"      {part:18} {cpu:6.3f} ms CPU per invocation")
        client = statistics.median(run["client_cpu_s"] * 1000 / run["ok"] for run in runs)
        print(f"      {'Locust client':18} {client:6.3f} ms CPU per invocation")
    own = [sum(r["cpu_ms"][p] for p in ("front end", "telemetry thread", "moto")) for r in cold]
    print(
        f"  coldbench's own CPU (front end + telemetry + moto): {statistics.median(own):.3f} ms"
        f" per invocation  [target <= 0.15]"
    )
    driver = statistics.median(r["cpu_ms"]["driver"] for r in minimal)
    print(
        f"    the minimal driver's own: {driver:.3f} ms; coldbench's beyond it:"
        f" {statistics.median(own) - driver:.3f} ms per invocation"
    )
    print(
        f"  coldbench / minimal driver: {statistics.median(ratios):.2f}x"
        f" (rounds {ratios[0]:.2f}..{ratios[-1]:.2f})  [target >= 0.8]"
    )
    print(
        f"  coldbench / bare aiohttp: {rps['coldbench'] / rps['bare']:.2f}x;"
        f" minimal driver / bare aiohttp: {rps['minimal'] / rps['bare']:.2f}x"
    )
    warm = {name: median_of(runs, "warm_p50_ms") for name, runs in results.items()}
    print(
        f"  warm request, end to end p50 (sequential, one connection): bare {warm['bare']:.3f},"
        f" minimal driver {warm['minimal']:.3f}, coldbench {warm['coldbench']:.3f} ms:"
        f" coldbench adds {warm['coldbench'] - warm['minimal']:.3f} ms to the same"
        " environments (the warm overhead net of the function's Duration, against the"
        " bare server, is bench_local_lambda's)"
    )
    for index, run in enumerate(cold):
        print(
            f"  round {index + 1}: telemetry backlog max {run['backlog_max']:,} events,"
            f" {run['backlog_at_end']:,} at the end; stop took {run['stop_s']:.2f} s"
            f" [target <= 3]; REPORT lines {run['reports']:,} of {run['invocations']:,}"
            " invocations"
        )
    print(
        f"  coldbench local, Ctrl-C after {seconds} s of the same load: exited in"
        f" {ctrl_c_s:.2f} s  [target <= 3]"
    )
    return {
        "ctrl_c_s": ctrl_c_s,
        "warm_p50_ms": warm,
        "rps": rps,
        "ratio_to_minimal": statistics.median(ratios),
        "own_cpu_ms": statistics.median(own),
        "minimal_driver_cpu_ms": driver,
        "stop_s": max(run["stop_s"] for run in cold),
        "reports_missing": sum(run["invocations"] - run["reports"] for run in cold),
        "bare": bare,
        "minimal": minimal,
        "coldbench": cold,
    }


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
