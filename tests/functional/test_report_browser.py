"""The HTML report in a real browser (Debian's chromium), and the comparison page."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import pytest

from coldbench.analysis.compare import compare
from coldbench.analysis.render import render
from coldbench.analysis.summary import analyse
from coldbench.analysis.synthetic import generate
from coldbench.record.config import build_config

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    run_dir = generate(root / "runs" / "synthetic", 3000, seconds=120, env_every=100)
    result = analyse(run_dir, build_config({}), reports_root=root / "reports")
    return render(result), result


def test_report_is_self_contained(report):
    page, result = report
    text = page.read_text()
    assert "http://" not in text and "https://" not in text, "no network access needed to view it"
    assert text.count("data:image/png;base64,") == 8  # the plots, the causes plot among them
    for heading in (
        "SLO verdicts",
        "End-to-end by class",
        "Failures by error",
        "Unmatched requests",
    ):
        assert heading in text
    assert result.summary.of("cold").count == 30


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)
def test_report_renders_in_headless_chromium_without_errors(report, tmp_path):
    page, _ = report
    shot = tmp_path / "shot.png"
    result = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,3000",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.exists(), result.stderr[-2000:]
    console_errors = [
        line for line in result.stderr.splitlines() if "CONSOLE" in line and "rror" in line
    ]
    assert console_errors == []
    pixels = matplotlib.image.imread(shot)
    assert pixels.std() > 0.05, "the page rendered blank"
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile2'}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "coldbench report" in dom and dom.count("<img") == 8


def test_compare_recommends_cheapest_passing_and_fastest(tmp_path):
    summaries = []
    for name, memory in (("a", 256), ("b", 1024)):
        run_dir = generate(tmp_path / name, 2000, seconds=60, env_every=100, seed=hash(name) % 100)
        result = analyse(run_dir, build_config({}), reports_root=tmp_path / "reports")
        function = {"variant": name, "memory_mb": memory, "architecture": "x86_64"}
        target = {**result.summary.target, "function": function}
        summaries.append(dataclasses.replace(result.summary, target=target))
    page = compare(summaries, reports_root=tmp_path / "reports")
    data = json.loads((page.parent / "compare.json").read_text())
    assert [r["label"] for r in data["runs"]] == ["a 256 MB x86_64", "b 1024 MB x86_64"]
    verdict = data["recommendation"]
    # A label only where the cost difference is real; otherwise it says it cannot tell.
    if verdict["cheapest_meeting_slos"] is None:
        assert "no detectable difference" in verdict["cheapest_why"], verdict
    else:
        assert verdict["cheapest_meeting_slos"] in {"a 256 MB x86_64", "b 1024 MB x86_64"}
    assert {(d["baseline"], d["run"]) for d in data["differences"]} == {
        (summaries[0].run_id, summaries[1].run_id)
    }
    assert "<table>" in page.read_text()
    assert Path(page).exists()


@pytest.mark.parametrize(
    ("warm_p99_ms", "completed", "code"),
    [(10_000.0, True, 0), (0.001, True, 1), (10_000.0, False, 3)],
)
def test_report_exit_code_follows_the_slos(tmp_path, warm_p99_ms, completed, code):
    """An interrupted run once reported with exit 0: it has a code of its own."""
    import json
    import os
    import sys

    repo = Path(__file__).resolve().parents[2]
    run_dir = generate(tmp_path / "runs" / "r1", 500, seconds=30, env_every=50)
    record = json.loads((run_dir / "run.json").read_text())
    record.update(completed=completed, end_reason="shape-finished" if completed else "terminated")
    (run_dir / "run.json").write_text(json.dumps(record))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "coldbench.cli",
            "report",
            "runs/r1",
            "--set",
            f"slo.warm_p99_ms={warm_p99_ms}",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(repo)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == code, result.stderr[-1000:]
    assert ("FAIL" in result.stdout) is (code == 1)
    assert (tmp_path / "reports" / "r1" / "index.html").exists()
