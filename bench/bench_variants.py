"""Naive vs optimized orders service on the local Lambda (default CPU scaling).

Cold start = client end-to-end of the first request to a new environment (recycled
between samples); warm = later requests to the same environment. Compared in the
same run; the target is optimized >= 3x faster to cold-start.
"""

from __future__ import annotations

import statistics
import sys
import time

import requests

from coldbench.infra.local.stack import running
from coldbench.infra.packaging import build_package, source_for
from coldbench.record.config import build_config


def measure(variant: str, samples: int, memory_mb: int) -> dict:
    config = build_config(
        {
            "url": {"auth": "NONE"},
            "function": {"variant": variant, "memory_mb": memory_mb},
            "local": {"keep_alive_min_s": 600, "keep_alive_max_s": 600},
        }
    )
    cold, warm, init = [], [], []
    with running(config) as stack, requests.Session() as session:
        url = stack.target.url + "orders/7"
        for _ in range(samples):
            start = time.perf_counter()
            response = session.get(url, timeout=60)
            cold.append((time.perf_counter() - start) * 1000)
            init.append(float(response.headers["x-coldbench-init-ms"]))
            for _ in range(10):
                start = time.perf_counter()
                session.get(url, timeout=60)
                warm.append((time.perf_counter() - start) * 1000)
            session.post(stack.target.control_url + "recycle", timeout=30)
            time.sleep(0.2)
        scaling = stack.target.function.cpu_scaling
    package = build_package(*source_for(variant))
    return {
        "cold_ms": statistics.median(cold),
        "warm_ms": statistics.median(warm),
        "init_ms": statistics.median(init),
        "package_bytes": package.size,
        "cpu_scaling": scaling,
    }


def main(quick: bool = False) -> dict:
    samples, memory = (3, 512) if quick else (9, 512)
    naive, optimized = measure("naive", samples, memory), measure("optimized", samples, memory)
    ratio = naive["cold_ms"] / optimized["cold_ms"]
    print(
        f"naive vs optimized ({memory} MB, CPU scaling {naive['cpu_scaling']}, median of {samples} cold starts)"
    )
    for name, m in (("naive", naive), ("optimized", optimized)):
        print(
            f"  {name:<10} cold {m['cold_ms']:8.1f} ms  (function init {m['init_ms']:7.1f} ms)  "
            f"warm {m['warm_ms']:6.1f} ms  package {m['package_bytes']:>9,} bytes"
        )
    print(f"  optimized cold start is {ratio:.1f}x faster  [target >= 3x]")
    return {"naive": naive, "optimized": optimized, "ratio": ratio}


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
