"""What profiling init costs: Init Duration of the naive variant with and without
``function.profile_init``, measured side by side in the same run on the local Lambda.

Python's import-time report times every import and writes a line for each, so a
profiled init is slower; this says by how much, which is why a profiled run's latencies
are not the ones to quote.
"""

from __future__ import annotations

import statistics
import sys
import time

import requests

from coldbench.infra.local.stack import running
from coldbench.record.config import build_config


def init_durations(profile: bool, samples: int) -> list[float]:
    """Init time of ``samples`` cold starts (the probe's: from the process start to the end
    of the handler module), recycled between them."""
    config = build_config(
        {
            "url": {"auth": "NONE"},
            "function": {"variant": "naive", "profile_init": profile},
            "local": {"keep_alive_min_s": 600, "keep_alive_max_s": 600},
        }
    )
    found = []
    with running(config) as stack, requests.Session() as session:
        for _ in range(samples):
            response = session.get(stack.target.url + "orders/7", timeout=60)
            found.append(float(response.headers["x-coldbench-init-ms"]))
            session.post(stack.target.control_url + "recycle", timeout=30)
            time.sleep(0.2)
    return found


def main(quick: bool = False) -> dict:
    samples = 3 if quick else 9
    plain = init_durations(False, samples)
    profiled = init_durations(True, samples)
    ratio = statistics.median(profiled) / statistics.median(plain)
    print(f"init profiling overhead (naive variant, median of {samples} cold starts)")
    print(f"  without profile_init  init {statistics.median(plain):8.1f} ms")
    print(f"  with profile_init     init {statistics.median(profiled):8.1f} ms")
    print(f"  profiled / plain      {ratio:.2f}x")
    return {"plain_ms": plain, "profiled_ms": profiled, "ratio": ratio}


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
