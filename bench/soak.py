"""Soak: hundreds of concurrent users for minutes with a few percent injected faults.

Must hold (printed, not asserted): every request answered, no hang past the timeout
plus a margin; each fault gets the status Lambda gives it; exactly one REPORT record per
invocation; environments back to the provisioned baseline after the keep-alive; the
front end's memory flat; no zombie processes.

    python bench/soak.py [--users 200] [--seconds 180] [--quick]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from coldbench.analysis.cloudwatch import fetch_reports, logs_client
from coldbench.infra.local.environment import read_memory_kb
from coldbench.infra.local.stack import running
from coldbench.record.config import build_config

HERE = Path(__file__).parent
EXPECTED = {
    "none": (200, "success"),
    "exception": (502, "error"),
    "crash": (502, "error"),
    "hang": (502, "timeout"),
    "oversize": (502, "error"),
    "memory": (502, "error"),
    "noisy": (200, "success"),
}


def zombies() -> int:
    out = subprocess.run(
        ["ps", "--ppid", str(os.getpid()), "-o", "stat="], capture_output=True, text=True
    ).stdout
    return out.count("Z")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument(
        "--fault-every", type=int, default=33, help="1 in N requests asks for a fault (~3%%)"
    )
    parser.add_argument("--quick", action="store_true", help="60 users for 30 s")
    args = parser.parse_args()
    users, seconds = (60, 30.0) if args.quick else (args.users, args.seconds)
    timeout_s, keep_alive, provisioned = 5, 5, 2
    config = build_config(
        {
            "url": {"auth": "NONE"},
            "function": {
                "variant": "faults",
                "memory_mb": 256,
                "timeout_s": timeout_s,
                "reserved_concurrency": 0,
                "provisioned_concurrency": provisioned,
            },
            "local": {
                "max_environments": users * 2,
                "keep_alive_min_s": keep_alive,
                "keep_alive_max_s": keep_alive,
            },
        }
    )
    samples = []
    with running(config) as stack:
        stop = threading.Event()

        def sample():
            while not stop.wait(5):
                samples.append(
                    (
                        read_memory_kb(Path("/proc/self/status").read_bytes())[1] / 1024,
                        stack.pool.status()["environments"],
                    )
                )

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        began = time.monotonic()
        out = subprocess.run(
            [
                sys.executable,
                str(HERE / "_client.py"),
                "soak",
                stack.target.url,
                str(seconds),
                str(users),
                str(args.fault_every),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.monotonic() - began
        rows = json.loads(out.stdout)
        time.sleep(keep_alive + 3)
        stop.set()
        status = stack.pool.status()
        envs_after = status["environments"]
        logs = logs_client(stack.target)
        now = int(time.time() * 1000)
        found, _ = fetch_reports(
            logs, stack.log_group, '"platform.report"', now - 3_600_000, now + 60_000
        )
        for _ in range(20):
            invoked = [r for r in rows if r[2] and r[1] not in (429, 413, 0)]
            if len(found) >= len(invoked):
                break
            time.sleep(1)
            found, _ = fetch_reports(
                logs, stack.log_group, '"platform.report"', now - 3_600_000, now + 60_000
            )
    delivery = status["telemetry"]
    unanswered = [r for r in rows if r[1] == 0]
    slow = [r for r in rows if r[3] > (timeout_s + 5) * 1000]
    wrong_status = [r for r in rows if r[1] not in (0, 429) and r[1] != EXPECTED[r[0]][0]]
    lost = [r for r in invoked if r[2] not in found]
    wrong_report = [
        r for r in invoked if r[2] in found and found[r[2]]["status"] != EXPECTED[r[0]][1]
    ]
    injected = collections.Counter(r[0] for r in rows if r[0] != "none")
    print(
        f"soak: {users} users for {wall:.0f} s against the local Lambda (faults function, {timeout_s} s timeout)"
    )
    print(
        f"  requests {len(rows):,} ({len(rows) / wall:.0f}/s); throttled {sum(r[1] == 429 for r in rows)}"
    )
    print(f"  injected faults: {dict(injected)} ({sum(injected.values()) / len(rows):.1%})")
    print(
        f"  requests without an answer: {len(unanswered)} [must be 0]; slower than timeout + 5 s: {len(slow)}"
    )
    print(f"  answers with the wrong status for their fault: {len(wrong_status)} [must be 0]")
    print(
        f"  invocations {len(invoked):,}; REPORT records {len(found):,}; lost records {len(lost)} [must be 0]; "
        f"REPORT with the wrong status {len(wrong_report)}"
    )
    print(
        f"  log events delivered {delivery['delivered']:,}; lost {delivery['lost']} [must be 0] "
        f"({delivery['reports_lost']} REPORT records); long lines split into {delivery['split']} "
        f"extra events; requests retried {delivery['retried']}"
    )
    if wrong_report:
        mismatches = collections.Counter(
            (r[0], found[r[2]]["status"], found[r[2]].get("error_type")) for r in wrong_report
        )
        print(f"    unexpected REPORT status by fault: {dict(mismatches)}")
    quarters = (
        [samples[min(len(samples) - 1, len(samples) * q // 4)] for q in (1, 2, 3, 4)]
        if samples
        else []
    )
    print(
        "  front-end process RSS / environments at each quarter of the run: "
        + ", ".join(f"{m:.0f} MB / {e}" for m, e in quarters)
    )
    print(
        f"  environments after the keep-alive: {envs_after} (provisioned baseline {provisioned}); zombies {zombies()}"
    )


if __name__ == "__main__":
    main()
