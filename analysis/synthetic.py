"""Synthetic run generator: a run directory with known answers, at any size.

Requests arrive over ``seconds``; every ``env_every``-th request opens a new
environment (cold, with Init Duration), the rest are warm. Used by the scale benchmark
and handy for trying the report without running load.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from coldbench.record.rundir import REQUEST_COLUMNS, RunRecord
from coldbench.record.target import FunctionSnapshot, Target


def generate(
    run_dir: Path,
    requests: int,
    seconds: float = 3600.0,
    env_every: int = 500,
    seed: int = 1,
    start: float = 1_800_000_000.0,
    drift_ms_per_s: float = 0.0,
    extra_ms: float = 0.0,
) -> Path:
    """``drift_ms_per_s``: every request's outside time grows by this much per second
    after the epoch's 1,800,000,000 s (a platform drifting over the day, say);
    ``extra_ms`` is added to every request's outside time."""
    rng = np.random.default_rng(seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    t = np.sort(rng.uniform(start, start + seconds, requests))
    cold = (np.arange(requests) % env_every) == 0
    env = np.arange(requests) // env_every
    duration = rng.gamma(2.0, 2.0, requests)
    init = np.where(cold, rng.normal(250, 30, requests).clip(50), np.nan)
    outside = rng.gamma(2.0, 3.0, requests) + drift_ms_per_s * (t - 1_800_000_000.0) + extra_ms
    e2e = duration + np.nan_to_num(init) + outside
    run = f"{seed % 65536:04x}{int(start) % 65536:04x}"  # ids unique to this run
    ids = [f"{run}-0000-4000-8000-{i:012x}" for i in range(requests)]
    frame = pd.DataFrame(
        {
            "start_time": t.round(6),
            "e2e_ms": e2e.round(3),
            "method": "GET",
            "name": "/",
            "status": 200,
            "ok": 1,
            "bytes": 64,
            "error": "",
            "request_id": ids,
            "env_id": [f"e{run}-{e}" for e in env],
            "cold": cold.astype(int),
            "init_type": "on-demand",
            "init_start": (t - 0.3).round(6),
            "init_ms": 240.0,
            "seq": (np.arange(requests) % env_every) + 1,
            "phase": "c1-hold",
            "worker": "local",
            "user": 1,
        }
    )
    frame[list(REQUEST_COLUMNS)].to_csv(run_dir / "requests.csv", index=False)
    with (run_dir / "platform.jsonl").open("w") as f:
        for i in range(requests):
            record = {
                "request_id": ids[i],
                "timestamp": int(t[i] * 1000),
                "duration_ms": round(float(duration[i]), 3),
                "billed_duration_ms": int(np.ceil(duration[i] + (init[i] if cold[i] else 0))),
                "memory_size_mb": 512,
                "max_memory_used_mb": 60,
                "init_duration_ms": round(float(init[i]), 3) if cold[i] else None,
                "status": "success",
                "error_type": None,
                "log_stream": f"s{run}-{env[i]}",
            }
            f.write(json.dumps(record) + "\n")
    target = Target("local", "http://127.0.0.1/", "NONE", "us-east-1", "synthetic")
    target = dataclasses.replace(target, function=FunctionSnapshot(memory_mb=512))
    RunRecord.open(run_dir, target, {}, (), start).close(
        requests, "shape-finished", start + seconds
    )
    return run_dir


if __name__ == "__main__":
    import sys

    began = time.perf_counter()
    generate(Path(sys.argv[1]), int(sys.argv[2]))
    print(f"generated in {time.perf_counter() - began:.1f} s")
