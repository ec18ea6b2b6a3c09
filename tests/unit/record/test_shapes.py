from __future__ import annotations

import subprocess
import sys

import pytest

from coldbench.record import shapes
from coldbench.record.shapes import (
    ShapeParams,
    build_table,
    phase_at,
    phase_clock,
    stage_at,
    total_seconds,
)


def test_ramp_idle_table():
    table = build_table(
        ShapeParams("ramp-idle", users=10, spawn_rate=5, hold_s=20, idle_s=15, cycles=2)
    )
    assert [s.phase for s in table] == ["c1-ramp", "c1-hold", "c1-idle", "c2-ramp", "c2-hold"]
    assert total_seconds(table) == pytest.approx(2 + 20 + 15 + 2 + 20)
    assert stage_at(table, 23).users == 0
    assert phase_at(table, 38) == "c2-ramp"
    assert phase_at(table, 1000) == "tail"


@pytest.mark.parametrize("shape", ["ramp-idle", "burst", "steps", "constant"])
def test_phase_clock_agrees_with_phase_at(shape):
    table = build_table(ShapeParams(shape, users=12, spawn_rate=5, hold_s=20, idle_s=15))
    start = 1_732_270_000.0
    phase_of = phase_clock(table, start)
    for tenth in range(-20, int(total_seconds(table) * 10) + 50):
        elapsed = tenth / 10 + 0.003
        expected = phase_at(table, elapsed) if elapsed >= 0 else "before"
        assert phase_of(start + elapsed) == expected


def test_burst_starts_everyone_at_once():
    table = build_table(ShapeParams("burst", users=50, hold_s=5, cycles=1))
    assert table == [shapes.Stage(5, 50, 50.0, "c1-hold")]


def test_steps_and_constant():
    steps = build_table(ShapeParams("steps", users=12, step_users=5, step_s=10))
    assert [s.users for s in steps] == [5, 10, 12]
    assert build_table(ShapeParams("constant", users=3, run_time_s=7)) == [
        shapes.Stage(7, 3, 5.0, "constant")
    ]


TICK_SCRIPT = """
import locust  # first, as in any locustfile: gevent patches before anything else
import time, types
from coldbench.locustfiles import locustfile

opts = types.SimpleNamespace(
    shape="ramp-idle", shape_users=4, shape_spawn_rate=2.0, hold=3.0, idle=5.0, cycles=2,
    step_users=1, step_seconds=1.0, shape_run_time=1.0, recycle_at_gap="false",
    cold_samples=30, cold_ci_target=0.0, gaps="2,5", gap_repeats=3,
)
clock = {"now": 1000.0}
time.perf_counter = lambda: clock["now"]  # LoadTestShape's clock: controlled, never slept
shape = locustfile.ColdbenchShape()
shape.runner = types.SimpleNamespace(environment=types.SimpleNamespace(parsed_options=opts))
shape.reset_time()
expected = {0.5: (4, 2.0), 2.5: (4, 2.0), 6.0: (0, 100.0), 10.5: (4, 2.0), 13.0: (4, 2.0), 20.0: None}
for elapsed, answer in expected.items():
    clock["now"] = 1000.0 + elapsed
    assert shape.tick() == answer, (elapsed, shape.tick(), answer)
assert shape.finished
print("tick ok")
"""


def test_tick_follows_the_table_with_controlled_time():
    """Runs in its own interpreter: locust must be imported before botocore and friends."""
    result = subprocess.run(
        [sys.executable, "-c", TICK_SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "tick ok" in result.stdout


def test_shape_defaults_are_the_configs_and_the_cost_guard_plays_the_same_table():
    from coldbench.infra.aws.preflight import worst_case_cost
    from coldbench.record.config import Config, build_config
    from coldbench.record.shapes import planned_seconds

    assert ShapeParams() == ShapeParams.of(Config())
    for shape in ("ramp-idle", "burst", "steps", "constant"):
        config = build_config({"load": {"shape": shape}, "function": {"memory_mb": 1024}})
        seconds = total_seconds(build_table(ShapeParams.of(config)))
        assert planned_seconds(config) == seconds
        busy = min(config.load.users, 10)
        compute = busy * seconds * 1.0 * config.cost.gb_second_x86_64
        requests = busy * seconds / config.load.wait_min_s / 1e6 * config.cost.per_million_requests
        assert worst_case_cost(config, 10) == pytest.approx(compute + requests), shape
    steps = build_config({"load": {"shape": "steps"}})
    assert planned_seconds(steps) == 30.0  # two steps of 15 s to 10 users (once said 45)
