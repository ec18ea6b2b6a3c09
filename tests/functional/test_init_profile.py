"""Where init time goes, end to end on the local target: a function with known import
costs is profiled, its lines reach (moto's) CloudWatch Logs, ``collect`` reads them with
the same boto3 code it uses on AWS, and the summary finds the costs it was built with."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FUNCTIONS, coldbench

COSTS = FUNCTIONS / "importcosts"
SLACK_MS = 60.0  # an import's own machinery, on a loaded 2-core machine


@pytest.mark.slow
def test_a_profiled_run_finds_the_import_costs_the_function_was_built_with(tmp_path):
    (tmp_path / "coldbench.toml").write_text(
        f'[function]\nvariant = "custom"\nsource = "{COSTS}"\nhandler = "app.handler"\n'
        "profile_init = true\n"
        '[url]\nauth = "NONE"\n'
        '[load]\nshape = "constant"\nusers = 3\nspawn_rate = 3\nrun_time_s = 3\n'
        "[slo]\ncold_p99_ms = 60000\nwarm_p99_ms = 10000\n"
    )
    result = coldbench(tmp_path, "run")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "init profile (3 cold starts" in result.stdout, result.stdout
    report = next((tmp_path / "reports").iterdir())
    summary = json.loads((report / "summary.json").read_text())
    profile = summary["init_profile"]
    assert profile["profiled_cold_starts"] == summary["cold_starts"] == 3
    modules = {(m["module"], m["phase"]): m for m in profile["modules"]}

    def near(value: float, expected_ms: float) -> bool:
        return expected_ms <= value <= expected_ms + SLACK_MS

    app, a, b = modules[("app", "init")], modules[("slow_a", "init")], modules[("slow_b", "init")]
    assert (a["parent"], b["parent"], app["parent"]) == ("app", "slow_a", "")
    assert near(b["cumulative_ms_p50"], 150) and near(a["self_ms_p50"], 300)
    assert near(a["cumulative_ms_p50"], 450) and near(app["self_ms_p50"], 100)
    assert profile["handler_module"] == "app" and near(profile["handler_self_ms_p50"], 100)
    assert near(profile["handler_import_ms_p50"], 550)
    assert profile["runtime_ms_p50"] > 0  # per cold start: Init Duration - handler import
    assert profile["handler_import_ms_p50"] + profile["runtime_ms_p50"] == pytest.approx(
        profile["init_ms_p50"], rel=0.15
    )  # medians of parts need not add up to the median of the whole
    lazy = modules[("lazy_c", "invoke")]
    assert near(lazy["cumulative_ms_p50"], 50) and lazy["share_of_init"] is None
    assert ("lazy_c", "init") not in modules
    html = (report / "index.html").read_text()
    assert "Where init time goes" in html and "lazy_c" in html and "not the ones to quote" in html
