"""The cold-start sampler end to end on the local target: it provokes the cold starts it
is asked for (recycling between bursts), and the figures carry their intervals."""

from __future__ import annotations

import json

import pytest

from tests.conftest import coldbench


@pytest.mark.slow
def test_the_sampler_provokes_the_cold_starts_asked_for_with_intervals(tmp_path):
    result = coldbench(
        tmp_path, "run", "--set", "load.shape=cold-sampler", "--set", "load.cold_samples=6",
        "--set", "load.users=3", "--set", "url.auth=NONE",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "cold-sampler: round 2: 6/6 cold starts" in result.stderr, result.stderr[-3000:]
    report = next((tmp_path / "reports").iterdir())
    summary = json.loads((report / "summary.json").read_text())
    cold = summary["classes"]["cold"]
    assert cold["count"] == 6 == summary["environments"]["count"], "one new environment each"
    ci = cold["e2e_ms"]["ci95"]
    assert ci["p50"][0] <= cold["e2e_ms"]["p50"] <= ci["p50"][1]
    assert ci["p99"] is None, "a p99 of 6 cold starts is not an estimate"
    assert summary["classes"]["warm"]["e2e_ms"]["ci95"]["p99"] is not None
    assert "n too small" in (report / "index.html").read_text()
