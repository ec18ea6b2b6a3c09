"""The report page says what its figures cannot be trusted for."""

from __future__ import annotations

import dataclasses

from coldbench.analysis.render import render
from coldbench.analysis.summary import analyse
from coldbench.analysis.synthetic import generate
from coldbench.record.config import build_config
from coldbench.record.rundir import Collection, RunRecord


def test_a_full_run_has_every_table_the_readme_promises(tmp_path):
    run_dir = generate(tmp_path / "run", 600, seconds=30, env_every=60)
    text = render(analyse(run_dir, build_config({}), reports_root=tmp_path / "r")).read_text()
    for heading in (
        "End-to-end by class",
        "In-function Duration by class",
        "Outside the function by class",
        "End-to-end by shape phase",
        "In-function Duration by shape phase",
        "Outside the function by shape phase",
        "Failures by error",
    ):
        assert heading in text, heading
    assert "cost per million invocations" in text and "PASS" in text
    assert "No platform data" not in text


def test_a_run_whose_collection_failed_says_so_first_and_passes_nothing_it_cannot_tell(tmp_path):
    """It once showed empty plots and every SLO card PASS."""
    run_dir = generate(tmp_path / "run", 600, seconds=30, env_every=60)
    (run_dir / "platform.jsonl").unlink()
    record = RunRecord.read(run_dir)
    failed = Collection(expected=600, error="FilterLogEvents on /aws/lambda/x: Could not connect")
    dataclasses.replace(record, collection=failed).write()
    result = analyse(run_dir, build_config({}), reports_root=tmp_path / "r")
    text = render(result).read_text()
    first_screen = text[: text.index("<h2>Plots</h2>")]
    assert "No platform data" in first_screen and "Could not connect" in first_screen
    assert first_screen.count("UNKNOWN") == 2 and "FAIL" not in first_screen
    assert not result.summary.slo_ok
