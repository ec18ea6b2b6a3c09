"""Comparisons that drift cannot fool, end to end on the local target: a function whose
latency rises with wall-clock time, swept over two memory sizes that make no difference
to it. Measured one after the other, the second reads slower; in interleaved blocks
(resampled whole), no difference can be told."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import coldbench

DRIFT = Path(__file__).parent / "functions" / "drift"


def _config(truth: Path, order: str) -> str:
    return f"""
[function]
variant = "custom"
source = "{DRIFT}"
handler = "app.handler"
env = {{ DRIFT_T0 = "{time.time():.3f}", DRIFT_MS_PER_S = "5", TRUTH_DIR = "{truth}" }}
[url]
auth = "NONE"
[load]
users = 2
run_time_s = 9
wait_min_s = 0.05
wait_max_s = 0.1
[slo]
cold_p99_ms = 60000
warm_p99_ms = 60000
[sweep]
variants = ["custom"]
memory_mb = [1792, 2048]
shape = "constant"
order = "{order}"
blocks = 3
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("order", "verdict"), [("sequential", "slower"), ("interleaved", "no detectable difference")]
)
def test_drift_fools_one_after_the_other_and_not_interleaved_blocks(tmp_path, order, verdict):
    root = Path("/var/tmp") if Path("/var/tmp").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="coldbench-truth-", dir=root) as directory:
        truth = Path(directory)
        (tmp_path / "coldbench.toml").write_text(_config(truth, order))
        result = coldbench(tmp_path, "sweep", timeout=400)
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        served = [json.loads(line) for f in truth.glob("*.jsonl") for line in f.open()]

    (page,) = (tmp_path / "reports").glob("compare-*/compare.json")
    found = json.loads(page.read_text())
    assert found["order"] == order
    (warm_p50,) = [d for d in found["differences"] if d["metric"] == "warm.e2e_ms.p50"]
    print(
        f"{order}: warm p50 {warm_p50['baseline_value']:.1f} -> {warm_p50['run_value']:.1f} ms,"
        f" difference {warm_p50['diff']:.1f} ms, 95% {warm_p50['ci95']}: {warm_p50['verdict']}"
    )
    assert warm_p50["verdict"] == verdict, warm_p50
    assert [r["blocks"] for r in found["runs"]] == ([3, 3] if order == "interleaved" else [0, 0])

    # Every request the function served is in the compared runs, in the block it ran in.
    joined = pd.concat(
        pd.read_parquet(tmp_path / "reports" / r["run_id"] / "joined.parquet")
        for r in found["runs"]
    )
    ids = set(joined["request_id"].str.lower())
    assert {s["request_id"].lower() for s in served} <= ids
    if order == "interleaved":
        blocks = sorted(joined["block"].unique())
        assert blocks == list(range(6))  # the two configurations took turns
        page_html = (page.parent / "index.html").read_text()
        assert "interleaved blocks" in page_html
