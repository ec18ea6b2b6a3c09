"""The sweep: its matrix, the load of each cell, the cost guard, and the comparison."""

from __future__ import annotations

import json

import pytest

from coldbench import sweep as sweep_module
from coldbench.errors import PipelineError
from coldbench.interleave import Runner
from coldbench.record.config import build_config, replace


def test_matrix_is_every_combination():
    config = build_config(
        {
            "sweep": {
                "memory_mb": [128, 256],
                "variants": ["naive", "optimized"],
                "provisioned": [0, 1],
            }
        }
    )
    cells = sweep_module.cells(config)
    assert len(cells) == 8
    assert {
        "variant": "optimized",
        "memory_mb": 256,
        "architecture": "x86_64",
        "provisioned_concurrency": 1,
    } in cells


def test_each_cell_runs_with_its_function_and_the_sweep_load(tmp_path, monkeypatch):
    from coldbench.analysis.summary import analyse
    from coldbench.analysis.synthetic import generate

    monkeypatch.chdir(tmp_path)
    config = build_config(
        {"sweep": {"memory_mb": [128, 512], "variants": ["probe"], "cycles": 1, "hold_s": 4}}
    )
    seen = []

    def measure(cell_config, confirmed=False, allow_changes=False):
        seen.append(cell_config)
        run_dir = generate(
            tmp_path / f"run{len(seen)}", 300, seconds=20, env_every=30, seed=len(seen)
        )
        return run_dir, 0

    def report(run_dir, cell_config):
        result = analyse(run_dir, cell_config, reports_root=tmp_path / "reports")
        return result.summary, result.report_dir / "index.html"

    config = replace(config, sweep={"order": "sequential"})
    assert sweep_module.sweep(config, Runner(measure, report)) == 0
    assert [c.function.memory_mb for c in seen] == [128, 512]
    assert all(c.load.cycles == 1 and c.load.hold_s == 4 for c in seen)
    (compare_json,) = (tmp_path / "reports").glob("compare-*/compare.json")
    assert len(json.loads(compare_json.read_text())["runs"]) == 2


def test_an_aws_sweep_of_several_cells_needs_confirmation():
    config = build_config({"target": {"kind": "aws"}, "sweep": {"memory_mb": [128, 256]}})
    with pytest.raises(PipelineError, match="--yes"):
        sweep_module.sweep(config, lambda c: pytest.fail("ran without confirmation"))


def test_sweep_profile_init_adds_one_profiled_run_per_variant():
    config = build_config(
        {
            "sweep": {
                "memory_mb": [256, 1024],
                "variants": ["naive", "optimized"],
                "profile_init": True,
            }
        }
    )
    extra = sweep_module.profiled_cells(config, sweep_module.cells(config))
    assert [(c["variant"], c["memory_mb"], c["profile_init"]) for c in extra] == [
        ("naive", 256, True),
        ("optimized", 256, True),
    ]
    existing = build_config(
        {"target": {"kind": "existing", "function": "f"}, "sweep": {"profile_init": True}}
    )
    assert sweep_module.profiled_cells(existing, sweep_module.cells(existing)) == []


def test_a_sweep_takes_your_own_function_beside_the_built_in_variants(tmp_path):
    from coldbench.record.errors import ConfigError

    with pytest.raises(ConfigError, match=r"sweep\.variants"):
        build_config({"sweep": {"variants": ["custom"]}})
    config = build_config(
        {
            "function": {"variant": "custom", "source": str(tmp_path), "handler": "api.main"},
            "sweep": {"variants": ["custom", "naive"], "memory_mb": [512]},
        }
    )
    by_variant = {c["variant"]: c for c in sweep_module.cells(config)}
    assert by_variant["custom"]["handler"] == "api.main"
    assert by_variant["naive"]["handler"] == ""  # the built-in keeps its own handler
    alone = replace(config, sweep={"variants": ["custom"]})
    assert all("handler" not in c for c in sweep_module.cells(alone))
