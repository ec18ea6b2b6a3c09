"""How often two runs of the same configuration are told apart: the false-alarm rate of
``--compare``'s verdicts, measured on the local target.

Pairs of cold-sampler runs of one configuration (the optimized variant, 20 cold starts
each) are compared on the cold p50; each pair should say "no detectable difference", and
a 95% interval should let about one pair in twenty say otherwise. One naive vs optimized
pair, in the same session, must say "faster".
"""

from __future__ import annotations

import os
import sys
import tempfile

import pandas as pd

from coldbench.analysis.differences import RunData, compare_pair
from coldbench.pipeline import run_once
from coldbench.record.config import build_config
from coldbench.record.rundir import REPORTS_DIR

USERS = 2  # per burst: 2 inits at a time fit 2 cores at 512 MB (0.29 vCPU each)


def sampled(variant: str, samples: int) -> RunData:
    config = build_config(
        {
            "function": {"variant": variant},
            "url": {"auth": "NONE"},
            "load": {"shape": "cold-sampler", "cold_samples": samples, "users": USERS},
            "slo": {"cold_p99_ms": 60000.0, "warm_p99_ms": 10000.0},
        }
    )
    summary, _, _ = run_once(config)
    joined = pd.read_parquet(REPORTS_DIR / summary.run_id / "joined.parquet")
    return RunData(summary, joined)


def main(quick: bool = False) -> dict:
    pairs = 3 if quick else int(os.environ.get("BENCH_PAIRS", "10"))
    samples = 20
    os.chdir(tempfile.mkdtemp(prefix="coldbench-bench-confidence-"))
    verdicts = []
    for _ in range(pairs):
        found = compare_pair(
            sampled("optimized", samples), sampled("optimized", samples), "cold.e2e_ms.p50"
        )
        verdicts.append(found["verdict"])
        print(f"  same configuration: {found['verdict']} (ci95 {found['ci95']})", flush=True)
    alike = verdicts.count("no detectable difference")
    decisive = compare_pair(
        sampled("naive", samples), sampled("optimized", samples), "cold.e2e_ms.p50"
    )
    print(
        f"confidence of --compare (local target, cold-sampler runs of {samples} cold starts "
        f"in bursts of {USERS})"
    )
    print(f"  same configuration twice: no detectable difference in {alike} of {pairs} pairs")
    print(f"  naive vs optimized: {decisive['verdict']} (ci95 {decisive['ci95']})")
    return {"pairs": pairs, "alike": alike, "naive_vs_optimized": decisive["verdict"]}


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
