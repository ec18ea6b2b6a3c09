"""The keep-alive curve end to end on the local target, where the truth is known: each
environment's keep-alive is drawn from [local.keep_alive_min_s, keep_alive_max_s]."""

from __future__ import annotations

import json

import pytest

from tests.conftest import coldbench


@pytest.mark.slow
def test_idle_gaps_recover_the_local_keep_alive(tmp_path):
    """Keep-alive 1-2 s (a tenth of the issue's 4-8 s scenario, to keep CI short)."""
    result = coldbench(
        tmp_path, "run", "--set", "load.shape=idle-gaps", "--set", "load.users=1",
        "--set", "load.gaps_s=[0.5, 0.75, 1.25, 1.5, 1.75, 2.25, 2.5]",
        "--set", "load.gap_repeats=4", "--set", "local.keep_alive_min_s=1",
        "--set", "local.keep_alive_max_s=2", "--set", "url.auth=NONE",
        "--set", "slo.cold_p99_ms=60000", "--set", "slo.warm_p99_ms=10000",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    report = next((tmp_path / "reports").iterdir())
    summary = json.loads((report / "summary.json").read_text())
    curve = summary["keep_alive"]
    by_gap = dict(zip(curve["gaps_s"], curve["p_cold"], strict=True))
    assert curve["n"] == [4] * 7
    assert by_gap[0.5] == by_gap[0.75] == 0.0, curve
    assert by_gap[2.25] == by_gap[2.5] == 1.0, curve
    # The pool reaps on a 0.1 s tick, so an environment is gone 0-0.1 s after its drawn
    # keep-alive: the true median idle survival lies in [1.5, 1.6]. A 95% interval misses
    # the truth in one run of twenty by design (it did: lo 1.625 with all four
    # environments alive at 1.5 s), and four observations a gap cannot place the median
    # finer than the gaps on either side of it (1.25 .. 1.75): the check allows that step.
    lo, hi = curve["survival_median_ci95"]  # hi null: beyond the longest gap
    assert lo <= 1.75 and (hi is None or hi >= 1.25), curve
    assert 1.0 <= curve["survival_median_s"] <= 2.0, curve
    assert summary["cold_causes"].get("idle_eviction", 0) == sum(
        round(p * n) for p, n in zip(curve["p_cold"], curve["n"], strict=True)
    ), "every cold start after a gap is an idle eviction"
    assert "How long idle environments survive" in (report / "index.html").read_text()
