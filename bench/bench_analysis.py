"""Analysis at scale: join, classify and summarise a synthetic run.

Target: 1,000,000 requests and 1,000,000 platform records in <= 60 s and <= 4 GB peak
memory on a 2-core machine; the scale issue's target is 10 M of each within 3x the time
pyarrow takes merely to read the run's raw files, printed side by side (``--size N``).
The analysis runs in a child process so its peak resident memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
CHILD = """
import json, resource, sys, time
from pathlib import Path
from coldbench.analysis.summary import analyse
from coldbench.record.config import build_config
began = time.perf_counter()
result = analyse(Path(sys.argv[1]), build_config({}), reports_root=Path(sys.argv[2]))
elapsed = time.perf_counter() - began
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, "requests": result.summary.requests,
                  "matched": result.summary.matched, "cold": result.summary.cold_starts}))
"""

READ = """
import sys, time
from pathlib import Path
import pyarrow.csv, pyarrow.json
run = Path(sys.argv[1])
began = time.perf_counter()
for path in run.glob("requests*.csv"):
    pyarrow.csv.read_csv(path)
pyarrow.json.read_json(run / "platform.jsonl")
print(time.perf_counter() - began)
"""


def main(quick: bool = False) -> dict:
    from coldbench.analysis.synthetic import generate

    size = 100_000 if quick else 1_000_000
    if "--size" in sys.argv:
        size = int(sys.argv[sys.argv.index("--size") + 1])
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        began = time.perf_counter()
        generate(run_dir, size)
        generated = time.perf_counter() - began
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(run_dir), str(Path(tmp) / "reports")],
            capture_output=True,
            text=True,
            check=True,
        )
        read = subprocess.run(
            [sys.executable, "-c", READ, str(run_dir)], capture_output=True, text=True, check=True
        )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["read_seconds"] = float(read.stdout)
    assert figures["matched"] == size and figures["requests"] == size
    print(
        f"analysis of {size:,} requests + {size:,} REPORT records (generated in {generated:.0f} s)"
    )
    print(f"  join + classify + summarise + write: {figures['seconds']:.1f} s  [target <= 60 s]")
    ratio = figures["seconds"] / figures["read_seconds"]
    print(
        f"  pyarrow reading the raw files alone: {figures['read_seconds']:.1f} s -> analysis "
        f"{ratio:.1f}x that  [scale target <= 3x]"
    )
    print(f"  peak memory: {figures['peak_mb']:,.0f} MB  [target <= 4096 MB]")
    return figures


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
