"""Analysis at scale: join, classify and summarise a synthetic run.

Target: 1,000,000 requests and 1,000,000 platform records in <= 60 s and <= 4 GB peak
memory on a 2-core machine; the scale issue's target is 10 M of each within 3x the time
pyarrow takes merely to read the run's raw files, printed side by side (``--size N``;
``--run DIR`` analyses a run generated before with ``python -m
coldbench.analysis.synthetic DIR N`` instead of generating one).
The analysis runs in a child process so its peak resident memory is its own: VmHWM, not
ru_maxrss, which Linux carries across exec from the forked parent (after generating 10 M
rows the parent is 5 GB, and the child's ru_maxrss said so too).
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
import json, sys, time
from pathlib import Path
from coldbench.analysis.summary import analyse
from coldbench.record.config import build_config
began = time.perf_counter()
result = analyse(Path(sys.argv[1]), build_config({}), reports_root=Path(sys.argv[2]))
elapsed = time.perf_counter() - began
status = open("/proc/self/status").read()
peak_mb = int(status.split("VmHWM:")[1].split()[0]) / 1024
# the frame read back, per request: values, pointers and category codes (the few
# distinct strings they point at are not counted)
frame_bytes = int(result.joined.memory_usage(deep=False).sum()) / len(result.joined)
print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, "frame_bytes": frame_bytes,
                  "requests": result.summary.requests,
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
    given = Path(sys.argv[sys.argv.index("--run") + 1]) if "--run" in sys.argv else None
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = given or Path(tmp) / "run"
        began = time.perf_counter()
        if given is None:
            generate(run_dir, size)
        else:  # a run generated before (synthetic.py), analysed again
            size = sum(1 for _ in (run_dir / "platform.jsonl").open("rb"))
        generated = time.perf_counter() - began
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(run_dir), str(Path(tmp) / "reports")],
            capture_output=True,
            text=True,
            check=True,
        )
        # The read is timed twice and the faster one kept: the ratio is then the
        # harder to meet, whatever else the machine was doing.
        reads = [
            float(
                subprocess.run(
                    [sys.executable, "-c", READ, str(run_dir)],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            for _ in range(2)
        ]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["read_seconds"] = min(reads)
    assert figures["matched"] == size and figures["requests"] == size
    made = f"generated in {generated:.0f} s" if given is None else f"the run in {given}"
    print(f"analysis of {size:,} requests + {size:,} REPORT records ({made})")
    print(f"  join + classify + summarise + write: {figures['seconds']:.1f} s  [target <= 60 s]")
    ratio = figures["seconds"] / figures["read_seconds"]
    print(
        f"  pyarrow reading the raw files alone (faster of two): {figures['read_seconds']:.1f} s "
        f"({reads[0]:.1f}, {reads[1]:.1f}) -> analysis "
        f"{ratio:.1f}x that  [scale target <= 3x]"
    )
    print(f"  peak memory: {figures['peak_mb']:,.0f} MB  [target <= 4096 MB]")
    print(
        f"  columns read back: {figures['frame_bytes']:.0f} bytes per request (grows with the run)"
    )
    return figures


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
