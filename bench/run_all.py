"""Run every benchmark and print its figures (``make bench``; ``--quick`` for a short pass).

Benchmarks print figures next to a baseline measured in the same run; none of them
pass or fail. The README quotes their output.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_analysis
import bench_init_profile
import bench_local_cost
import bench_local_lambda
import bench_locust_user
import bench_recorder
import bench_telemetry
import bench_variants


def main() -> None:
    quick = "--quick" in sys.argv
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    benches = {
        "local": bench_local_lambda.main,
        "local-cost": bench_local_cost.main,
        "telemetry": bench_telemetry.main,
        "variants": bench_variants.main,
        "user": bench_locust_user.main,
        "recorder": bench_recorder.main,
        "analysis": bench_analysis.main,
        "init-profile": bench_init_profile.main,
    }
    for name, bench in benches.items():
        if only and name not in only:
            continue
        began = time.perf_counter()
        bench(quick=quick)
        print(f"  ({name}: {time.perf_counter() - began:.0f} s)\n", flush=True)


if __name__ == "__main__":
    main()
