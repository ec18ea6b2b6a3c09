"""Interleaved blocks: their order, each block's share of the load, and, on synthetic
runs whose latency drifts with time, verdicts that drift cannot fool."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from coldbench import sweep as sweep_module
from coldbench.analysis.summary import analyse
from coldbench.analysis.synthetic import generate
from coldbench.interleave import Plan, Runner, block_order, divided
from coldbench.record.config import build_config
from coldbench.record.rundir import RunRecord

EPOCH = 1_800_000_000.0


@pytest.mark.parametrize("configurations", [2, 3, 5])
def test_every_pair_of_rounds_is_an_order_and_its_reverse(configurations):
    order = block_order(configurations, 4, random.Random(configurations))
    assert Counter(order) == {i: 4 for i in range(configurations)}
    rounds = [order[i : i + configurations] for i in range(0, len(order), configurations)]
    assert rounds[1] == rounds[0][::-1] and rounds[2] == rounds[0] and rounds[3] == rounds[1]
    positions = {i: [p for p, c in enumerate(order) if c == i] for i in range(configurations)}
    # on average, and at the median, every configuration sits at the same moment
    assert len({sum(p) / len(p) for p in positions.values()}) == 1
    assert len({(p[1] + p[2]) / 2 for p in positions.values()}) == 1


def test_each_block_gets_its_share_of_the_load():
    config = build_config({"load": {"run_time_s": 60, "gap_repeats": 5}})
    assert divided(config, {"shape": "cold-sampler", "cold_samples": 30}, 4)["cold_samples"] == 8
    assert divided(config, {"shape": "ramp-idle", "cycles": 2}, 4)["cycles"] == 1
    assert divided(config, {"shape": "constant"}, 4)["run_time_s"] == 15
    assert divided(config, {"shape": "idle-gaps"}, 2)["gap_repeats"] == 3
    assert divided(config, {"shape": "cold-sampler", "cold_samples": 30}, 1)["cold_samples"] == 30


def _drifting_runner(tmp_path, drift_ms_per_s: float, log: list, slower_1280_ms: float = 0):
    """Each block: synthetic requests over the block's run time, one after another on a
    shared clock, their latency drifting upward with it (and 1,280 MB slower by
    ``slower_1280_ms``)."""
    clock = [EPOCH]

    def measure(config, confirmed=False, allow_changes=False):
        seconds = config.load.run_time_s
        run_dir = generate(
            tmp_path / "runs" / f"block{len(log):02d}",
            int(20 * seconds),
            seconds=seconds,
            env_every=50,
            seed=len(log) + 1,
            start=clock[0],
            drift_ms_per_s=drift_ms_per_s,
            extra_ms=slower_1280_ms if config.function.memory_mb == 1280 else 0.0,
        )
        log.append((config.function.memory_mb, clock[0]))
        clock[0] += seconds + 2
        return run_dir, 0

    def report(run_dir, config):
        result = analyse(run_dir, config, reports_root=tmp_path / "reports")
        return result.summary, result.report_dir / "index.html"

    return Runner(measure, report)


def _verdict(tmp_path, metric: str) -> dict:
    (page,) = sorted((tmp_path / "reports").glob("compare-*/compare.json"))[-1:]
    found = json.loads(page.read_text())
    (entry,) = [d for d in found["differences"] if d["metric"] == metric]
    return {"order": found["order"], **entry}


@pytest.mark.parametrize(
    ("order", "verdict"), [("sequential", "slower"), ("interleaved", "no detectable difference")]
)
def test_drift_fools_sequential_order_and_not_interleaved(tmp_path, monkeypatch, order, verdict):
    """Two identical configurations, latency rising 2 ms per second: measured one after
    the other the second reads slower; in interleaved blocks, resampled by block, no
    difference can be told."""
    monkeypatch.chdir(tmp_path)
    config = _two_sizes(order)
    log: list = []
    assert sweep_module.sweep(config, _drifting_runner(tmp_path, 2.0, log)) == 0
    found = _verdict(tmp_path, "warm.e2e_ms.p50")
    assert found["order"] == order
    assert found["verdict"] == verdict, found
    if order == "interleaved":
        assert len(log) == 8 and {m for m, _ in log} == {1024, 1280}
        merged = [RunRecord.read(p.parent) for p in (tmp_path / "runs").glob("*/run.json")]
        merged = [r for r in merged if r.blocks]
        assert len(merged) == 2 and all(len(r.blocks) == 4 for r in merged)
        assert all(r.order == "interleaved" for r in merged)


def _two_sizes(order: str):
    return build_config(
        {
            "load": {"run_time_s": 40},
            "sweep": {
                "memory_mb": [1024, 1280],
                "variants": ["probe"],
                "shape": "constant",
                "order": order,
                "blocks": 4,
            },
        }
    )


def test_interleaved_blocks_still_tell_a_real_difference_under_drift(tmp_path, monkeypatch):
    """Compared round by round, the drift common to a round cancels: a real 50 ms
    difference stands out of a drift of 2 ms per second (about 170 ms over the sweep)."""
    monkeypatch.chdir(tmp_path)
    runner = _drifting_runner(tmp_path, 2.0, [], slower_1280_ms=50)
    assert sweep_module.sweep(_two_sizes("interleaved"), runner) == 0
    found = _verdict(tmp_path, "warm.e2e_ms.p50")
    assert found["verdict"] == "slower", found
    assert found["ci95"][0] <= 50 <= found["ci95"][1], found


def test_a_plan_of_one_configuration_or_one_block_is_sequential():
    config = build_config({})
    assert Plan(config, [{"memory_mb": 512}], {}, "interleaved", 4).order == "sequential"
    two = [{"memory_mb": 512}, {"memory_mb": 1024}]
    assert Plan(config, two, {}, "interleaved", 1).order_of_blocks == [0, 1]
    assert len(Plan(config, two, {}, "interleaved", 3).block_configs()) == 6


def test_compare_live_reads_variants_sizes_and_keys_and_refuses_what_it_cannot_do(
    tmp_path, monkeypatch
):
    """Every refusal comes before anything runs (nothing may reach the pipeline)."""
    import argparse

    from coldbench.errors import PipelineError
    from coldbench.record.errors import ConfigError

    parse = sweep_module.parse_configuration
    assert parse("naive") == {"variant": "naive"}
    assert parse("1024") == {"memory_mb": 1024}
    assert parse("memory_mb=1024,architecture=arm64") == {
        "memory_mb": "1024",
        "architecture": "arm64",
    }

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sweep_module, "PIPELINE", None)  # a refusal that ran would fail here

    def live(*specs, target=None, allow=False):
        config = build_config({"target": target or {}})
        args = argparse.Namespace(configurations=list(specs), yes=False, allow_changes=allow)
        return sweep_module.cmd_compare_live(config, args)

    with pytest.raises(PipelineError, match="two or more"):
        live("naive")
    with pytest.raises(PipelineError, match="the same"):
        live("512", "memory_mb=512")  # the same once read
    with pytest.raises(ConfigError, match=r"function\.memory_mbb"):
        live("memory_mbb=5", "512")
    existing = {"kind": "existing", "function": "my-api"}
    with pytest.raises(PipelineError, match="memory sizes only"):
        live("naive", "optimized", target=existing, allow=True)
    with pytest.raises(PipelineError, match="--allow-changes"):
        live("512", "1024", target=existing)
    with pytest.raises(PipelineError, match="--yes"):
        live("512", "1024", target={"kind": "aws"})
