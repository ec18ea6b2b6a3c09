"""Local Lambda figures, each compared in the same run against its baseline.

1. Warm-path overhead: client end-to-end minus the REPORT's in-function Duration (p50),
   sequential requests over one keep-alive connection, client in its own process; and
   that overhead over a bare aiohttp server's own end-to-end p50, measured the same way.
2. Throughput of a trivial handler vs a bare aiohttp hello-world server, same client.
3. Cold start of a trivial handler (client end-to-end of the first request to a new
   environment, on a client connection already in use, as a load-test user meets one
   after an idle gap) vs `python -c "import awslambdaric"`, the two measured alternately.

CPU scaling is off here: the baselines run at full CPU, so the local Lambda must too.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _bare_server import serving
from _local import cpu_seconds, full_speed_config

from coldbench.analysis.cloudwatch import logs_client
from coldbench.analysis.platform import parse_report
from coldbench.infra.local.environment import RUNTIME_PATHS
from coldbench.infra.local.stack import running

HERE = Path(__file__).parent
CLIENT = [sys.executable, str(HERE / "_client.py")]


def client(*args: str) -> object:
    return json.loads(
        subprocess.run([*CLIENT, *args], capture_output=True, text=True, check=True).stdout
    )


def reports(stack, ids: set[str]) -> dict[str, dict]:
    """The REPORT records of ``ids`` by request id, read back from CloudWatch once all
    have arrived (or after ~15 s)."""
    logs = logs_client(stack.target)
    found: dict[str, dict] = {}
    for _ in range(30):
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=stack.log_group):
            for event in page["events"]:
                record = parse_report(event["message"])
                if record and record["request_id"] in ids:
                    found[record["request_id"]] = record
        if len(found) == len(ids):
            break
        time.sleep(0.5)
    return found


def throughput_with_cpu(stack, seconds: float, connections: int) -> tuple[float, dict]:
    """Request rate, and CPU ms per request of each part: client, the local Lambda's
    own process, the environments (awslambdaric) and CloudWatch (moto)."""
    client("concurrent", stack.target.url, "1", str(connections))  # start the environments
    parts = {
        "local Lambda process": [os.getpid()],
        "environments": [e.proc.pid for e in stack.pool.envs.values() if e.proc],
        "CloudWatch (moto)": [stack._moto.proc.pid] if stack._moto and stack._moto.proc else [],
    }
    before = {name: sum(map(cpu_seconds, pids)) for name, pids in parts.items()}
    result = client("concurrent", stack.target.url, str(seconds), str(connections))
    per_request = {"client": result["cpu_s"] * 1000 / result["requests"]}
    for name, pids in parts.items():
        used = sum(map(cpu_seconds, pids)) - before[name]
        per_request[name] = used * 1000 / result["requests"]
    return result["rps"], per_request


def bare_figures(seconds: float, connections: int, n: int) -> tuple[float, float]:
    """The bare server's rate, and its warm end-to-end p50 measured as the local
    Lambda's is (sequential requests on one keep-alive connection)."""
    with serving() as url:
        client("sequential", url, "20")
        e2e_p50 = float(np.percentile([row[1] for row in client("sequential", url, str(n))], 50))
        rps = client("concurrent", url, str(seconds), str(connections))["rps"]
        return rps, e2e_p50


def import_awslambdaric_ms(no_site: bool = False) -> float:
    """``python -c "import awslambdaric"``; with ``no_site``, as environments start
    Python (``-S``, the runtime's libraries on PYTHONPATH): no venv site processing."""
    cmd, env = [sys.executable, "-c", "import awslambdaric"], None
    if no_site:
        cmd.insert(1, "-S")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(RUNTIME_PATHS)}
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env)
    return (time.perf_counter() - start) * 1000


def main(quick: bool = False) -> dict:
    n, seconds, connections, colds = (300, 3, 8, 5) if quick else (2000, 8, 8, 15)
    config = full_speed_config()
    with running(config) as stack:
        url = stack.target.url
        client("sequential", url, "20")  # warm up one environment
        rows = client("sequential", url, str(n))
        found = reports(stack, {r[0] for r in rows})
        overhead = [e2e - found[rid]["duration_ms"] for rid, e2e in rows if rid in found]
        rps, cpu_ms = throughput_with_cpu(stack, seconds, connections)
        cold_rows, imports, imports_no_site = [], [], []
        for _ in range(colds):  # alternating with the baseline: both see the same machine
            cold_rows.append(client("cold", url, stack.target.control_url + "recycle"))
            imports.append(import_awslambdaric_ms())
            imports_no_site.append(import_awslambdaric_ms(no_site=True))
        cold = [row[1] for row in cold_rows]
        cold_reports = reports(stack, {row[0] for row in cold_rows})
    inits = {rid: record["init_duration_ms"] for rid, record in cold_reports.items()}
    cold_durations = [record["duration_ms"] for record in cold_reports.values()]
    bare, bare_e2e_p50 = bare_figures(seconds, connections, n)
    baseline_import = statistics.median(imports)
    figures = {
        "warm_overhead_p50_ms": float(np.percentile(overhead, 50)),
        "warm_overhead_p99_ms": float(np.percentile(overhead, 99)),
        "warm_e2e_p50_ms": float(np.percentile([r[1] for r in rows], 50)),
        "bare_e2e_p50_ms": bare_e2e_p50,
        # What the local Lambda adds to a request beyond the function's own Duration,
        # over what a bare server's request takes on the same client and machine.
        "warm_overhead_over_bare_p50_ms": float(np.percentile(overhead, 50)) - bare_e2e_p50,
        "throughput_rps": rps,
        "bare_aiohttp_rps": bare,
        "throughput_ratio": rps / bare,
        "throughput_cpu_ms_per_request": cpu_ms,
        "cold_start_p50_ms": statistics.median(cold),
        "import_awslambdaric_ms": baseline_import,
        "import_awslambdaric_no_site_ms": statistics.median(imports_no_site),
        "cold_ratio": statistics.median(cold) / baseline_import,
        "cold_init_duration_ms": statistics.median(inits.values()),
        "cold_invocation_duration_ms": statistics.median(cold_durations),
        # Init Duration is AWS's runtime client starting, unmodified: its share of the
        # target is beyond what the local Lambda can change.
        "cold_init_ratio": statistics.median(inits.values()) / baseline_import,
        # What a cold start costs beyond the runtime's own init (Init Duration): the
        # front end, spawning, the first invocation and the response.
        "cold_beyond_init_ms": statistics.median(
            e2e - inits[rid] for rid, e2e in cold_rows if rid in inits
        ),
    }
    print("local Lambda (probe handler, CPU scaling off, client in its own process)")
    print(
        f"  warm overhead (e2e - Duration): p50 {figures['warm_overhead_p50_ms']:.3f} ms, "
        f"p99 {figures['warm_overhead_p99_ms']:.3f} ms  [target p50 <= 1 ms]"
    )
    print(
        f"    over a bare aiohttp server's request ({figures['bare_e2e_p50_ms']:.3f} ms p50):"
        f" {figures['warm_overhead_over_bare_p50_ms']:.3f} ms  [target <= 0.5 ms]"
    )
    print(
        f"  throughput: {rps:,.0f} req/s vs bare aiohttp {bare:,.0f} req/s = {figures['throughput_ratio']:.0%}"
        f"  [target >= 50%]  ({connections} connections, {seconds} s)"
    )
    budget_ms = (os.cpu_count() or 1) * 1000 / (0.5 * bare)
    print(
        "    CPU per request: "
        + ", ".join(f"{name} {ms:.2f} ms" for name, ms in cpu_ms.items())
        + f" = {sum(cpu_ms.values()):.2f} ms; 50% of the bare rate on {os.cpu_count()} CPUs"
        f" allows {budget_ms:.2f} ms, of which the client and the environments (AWS's"
        f" runtime client, unmodified) alone use {cpu_ms['client'] + cpu_ms['environments']:.2f} ms"
    )
    print(
        f"  cold start: {figures['cold_start_p50_ms']:.1f} ms vs python -c 'import awslambdaric' "
        f"{baseline_import:.1f} ms = {figures['cold_ratio']:.2f}x  [target <= 1.5x]; "
        f"of which REPORT Init Duration {figures['cold_init_duration_ms']:.1f} ms"
        f" ({figures['cold_init_ratio']:.2f}x the baseline on its own)"
    )
    print(
        "    the baseline without the venv's site processing (python -S, as environments "
        f"start): {figures['import_awslambdaric_no_site_ms']:.1f} ms"
    )
    print(
        f"  cold start beyond Init Duration: {figures['cold_beyond_init_ms']:.1f} ms "
        "(the local Lambda's own share, with the first invocation, whose REPORT Duration is "
        f"{figures['cold_invocation_duration_ms']:.1f} ms)"
    )
    return figures


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
