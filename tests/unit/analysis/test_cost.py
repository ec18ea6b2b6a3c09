"""Cost from Billed Duration: on-demand, provisioned duration and standing price, requests."""

from __future__ import annotations

import pandas as pd
import pytest

from coldbench.analysis.stats import cost
from coldbench.record.config import Config, build_config
from coldbench.record.target import FunctionSnapshot


def rows(*specs) -> pd.DataFrame:
    return pd.DataFrame([{"matched": m, "class": c, "billed_duration_ms": b} for m, c, b in specs])


def test_on_demand_cost_counts_billed_duration_including_init_and_every_request():
    df = rows((True, "cold", 1000.0), (True, "warm", 1000.0), (False, "unknown", 0.0))
    c = cost(df, Config(), FunctionSnapshot(memory_mb=1024, architecture="x86_64"), run_seconds=60)
    gb_s = 2.0  # 2 s at 1 GB
    assert c.gb_seconds == pytest.approx(gb_s)
    assert c.compute == pytest.approx(gb_s * 0.0000166667)
    assert c.requests == pytest.approx(2 / 1e6 * 0.20)  # the unmatched row was not billed
    assert c.provisioned == 0
    assert c.per_million_requests == pytest.approx(c.total / 2 * 1e6)


def test_arm64_and_provisioned_prices_and_the_standing_charge():
    config = build_config({"cost": {"provisioned_gb_second_arm64": 0.001}})
    df = rows((True, "provisioned", 500.0), (True, "cold", 500.0))
    c = cost(
        df,
        config,
        FunctionSnapshot(memory_mb=2048, architecture="arm64", provisioned_concurrency=2),
        run_seconds=10,
    )
    on_demand = 0.5 * 2 * config.cost.gb_second_arm64
    pc_duration = 0.5 * 2 * config.cost.provisioned_duration_gb_second_arm64
    assert c.compute == pytest.approx(on_demand + pc_duration)
    assert c.provisioned == pytest.approx(2 * 2 * 10 * 0.001)  # 2 envs x 2 GB x 10 s


def test_no_invocations_has_no_per_million_figure():
    c = cost(rows((False, "unknown", 0.0)), Config(), FunctionSnapshot(), run_seconds=1)
    assert c.total == 0 and c.per_million_requests is None
