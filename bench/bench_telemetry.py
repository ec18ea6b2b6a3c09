"""Telemetry at the peak rate the issue measured: does it keep up, and does a stop end?

On this 2-core machine the local Lambda's front end saturates at several hundred
invocations a second, so ``bench_local_cost`` cannot reach the 1,800-2,700 a second at
which telemetry once fell behind (Ctrl-C then took 9-35 s, shipping the backlog). Here a
feeder thread records into the real :class:`Telemetry` what 16 busy environments would:
a START and a REPORT record per invocation (JSON log format) and the invocation's
metrics, at ``--rate`` invocations a second for ``--seconds``, shipped to a real moto
server. Printed: the backlog (events recorded and not yet shipped) each second, the CPU
of the shipping thread and of moto per invocation, how long the stop's final flush
takes, and whether every REPORT reached the log group.

    python bench/bench_telemetry.py [--rate 2700] [--seconds 10] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

from _local import cpu_seconds, sampled_each_second

from coldbench.analysis.cloudwatch import fetch_reports, logs_client
from coldbench.infra.local.moto_server import MotoServer
from coldbench.infra.local.telemetry import Report, Telemetry
from coldbench.record.target import Target

STREAMS = 16
GROUP = "/aws/lambda/bench-telemetry"


def feed(telemetry: Telemetry, rate: int, seconds: float) -> int:
    """Record ``rate`` invocations a second, spread over the streams, in 10 ms steps."""
    streams = [f"2026/11/30/[$LATEST]{i:032x}" for i in range(STREAMS)]
    step_s, done, began = 0.01, 0, time.monotonic()
    while (elapsed := time.monotonic() - began) < seconds:
        due = int(elapsed * rate) + int(step_s * rate)
        while done < due:
            stream, now = streams[done % STREAMS], time.time()
            request_id = f"{done:08x}-0000-4000-8000-000000000000"
            record = {"requestId": request_id, "version": "$LATEST"}
            telemetry.platform(stream, "start", record, f"START RequestId: {request_id}", now)
            telemetry.report(stream, Report(request_id, 1.2, 2, 128, 40), now)
            telemetry.metrics([("Invocations", 1, "Count"), ("Duration", 1.2, "Milliseconds")], now)
            done += 1
        time.sleep(step_s)
    return done


def request_costs(module: str, repeats: int = 50) -> tuple[float, float, float, float]:
    """CPU of one ``PutLogEvents`` through telemetry's own client to a moto server run as
    ``module``: (boto3 ms per request, boto3 us per event, moto ms per request, moto us
    per event), from requests of 1 and of 1,000 events."""
    moto = MotoServer()
    moto.module = module
    endpoint = moto.start()
    try:
        assert moto.proc is not None
        logs = Telemetry(endpoint, "us-east-1", "cost", "/aws/lambda/cost")._logs
        logs.create_log_group(logGroupName="/aws/lambda/cost")
        logs.create_log_stream(logGroupName="/aws/lambda/cost", logStreamName="s")
        costs = {}
        for size in (1, 1000):
            message = '{"time": "2026-11-30T00:00:00.000Z", "type": "platform.report"}'
            client, server = time.thread_time(), cpu_seconds(moto.proc.pid)
            for _ in range(repeats):
                now = int(time.time() * 1000)
                batch = [{"timestamp": now, "message": message}] * size
                logs.put_log_events(
                    logGroupName="/aws/lambda/cost", logStreamName="s", logEvents=batch
                )
            costs[size] = (
                (time.thread_time() - client) / repeats,
                (cpu_seconds(moto.proc.pid) - server) / repeats,
            )
    finally:
        moto.stop()
    (client_1, server_1), (client_k, server_k) = costs[1], costs[1000]
    return (
        client_1 * 1000,
        (client_k - client_1) / 999 * 1e6,
        server_1 * 1000,
        (server_k - server_1) / 999 * 1e6,
    )


def main(quick: bool = False, rate: int = 2700, seconds: float = 10.0) -> dict:
    if quick:
        rate, seconds = 1000, 4.0
    moto = MotoServer()
    endpoint = moto.start()
    try:
        assert moto.proc is not None
        telemetry = Telemetry(endpoint, "us-east-1", "bench-telemetry", GROUP, "JSON")
        telemetry.start()
        tid = telemetry._thread.native_id
        before = cpu_seconds(os.getpid(), tid), cpu_seconds(moto.proc.pid)
        with sampled_each_second(telemetry.backlog) as backlog:
            invocations = feed(telemetry, rate, seconds)
        at_end = telemetry.backlog()
        thread_s = cpu_seconds(os.getpid(), tid) - before[0]  # it ends at the stop
        started, flush_cpu = time.perf_counter(), time.thread_time()
        telemetry.stop()  # the final flush runs here, in this thread
        stop_s = time.perf_counter() - started
        thread_s += time.thread_time() - flush_cpu
        moto_s = cpu_seconds(moto.proc.pid) - before[1]
        target = Target("local", "", "NONE", "us-east-1", "bench", cloudwatch_endpoint=endpoint)
        now = int(time.time() * 1000)
        found, _ = fetch_reports(
            logs_client(target), GROUP, '"platform.report"', now - 3_600_000, now + 60_000
        )
    finally:
        moto.stop()
    print(
        f"Telemetry alone, {rate:,} invocations/s over {STREAMS} streams for {seconds:.0f} s"
        f" (START + REPORT each, JSON), shipped to moto"
    )
    print(f"  backlog each second: {', '.join(f'{b:,}' for b in backlog)}; at the end {at_end:,}")
    print(
        f"  CPU per invocation: shipping (thread and final flush)"
        f" {thread_s * 1000 / invocations:.3f} ms,"
        f" moto {moto_s * 1000 / invocations:.3f} ms"
    )
    print(
        f"  stop (final flush) took {stop_s:.2f} s [target <= 3]; REPORT lines in the log"
        f" group: {len(found):,} of {invocations:,}"
    )
    costs = {m: request_costs(m) for m in ("coldbench.infra.local.moto_main", "moto.server")}
    print("  one PutLogEvents request, CPU (requests of 1 and of 1,000 events):")
    for module, (client_ms, client_us, server_ms, server_us) in costs.items():
        print(
            f"    moto run as {module}: moto {server_ms:.2f} ms a request + {server_us:.0f} us"
            f" an event; telemetry's boto3 {client_ms:.2f} ms + {client_us:.0f} us"
        )
    return {
        "request_costs": costs,
        "backlog": backlog,
        "stop_s": stop_s,
        "reports": len(found),
        "invocations": invocations,
        "thread_ms": thread_s * 1000 / invocations,
        "moto_ms": moto_s * 1000 / invocations,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=2700)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    main(args.quick, args.rate, args.seconds)
