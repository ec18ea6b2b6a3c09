"""The cold sampler's rounds, driven by a controlled clock: recycle, burst, count, stop."""

from __future__ import annotations

import numpy as np
import pytest

from coldbench.locustfiles.sampler import Sampler, median_interval
from coldbench.record.shapes import SAMPLER_BURST_S, ShapeParams


class Recycles:
    """Recycles that finish when the test says so."""

    def __init__(self):
        self.started = 0
        self.finished = 0
        self.fail = False

    def start(self):
        self.started += 1
        return self.started

    def done(self, which) -> bool:
        if self.fail:
            raise RuntimeError("update failed")
        return which <= self.finished


def sampler(**params) -> tuple[Sampler, Recycles, list[str]]:
    recycles, said = Recycles(), []
    found = Sampler(
        ShapeParams(shape="cold-sampler", **params), recycles.start, recycles.done, said.append
    )
    return found, recycles, said


def test_rounds_recycle_then_burst_until_enough_cold_starts():
    s, recycles, said = sampler(users=4, cold_samples=8)
    cold: list[float] = []
    assert s.tick(0.0, 0, cold) == (0, 4.0) and recycles.started == 1  # recycle first
    assert s.tick(0.5, 0, cold) == (0, 4.0), "waits for the recycle to finish"
    recycles.finished = 1
    assert s.tick(1.0, 0, cold) == (4, 4.0) and s.round == 1  # the burst: 4 at once
    cold += [500.0] * 4
    assert s.tick(1.0 + SAMPLER_BURST_S - 0.1, 4, cold) == (4, 4.0)
    assert s.tick(1.0 + SAMPLER_BURST_S, 4, cold) == (0, 4.0), "users stop before a recycle"
    assert recycles.started == 1
    assert s.tick(6.0, 0, cold) == (0, 4.0) and recycles.started == 2
    recycles.finished = 2
    assert s.tick(7.0, 0, cold) == (4, 4.0) and s.round == 2
    cold += [510.0] * 4
    assert s.tick(7.0 + SAMPLER_BURST_S, 4, cold) is None
    assert "8 cold starts" in s.reason
    assert said[-1].startswith("cold-sampler: round 2: 8/8 cold starts, p50 ")


def test_it_stops_early_once_the_cold_median_is_known_well_enough():
    s, recycles, _ = sampler(users=10, cold_samples=1000, cold_ci_target=0.05)
    recycles.finished = 10**6
    cold = list(np.random.default_rng(1).normal(500, 5, 40))
    s.tick(0.0, 0, [])
    s.tick(0.0, 0, [])
    assert s.tick(SAMPLER_BURST_S, 10, cold) is None
    assert "known to ±5%" in s.reason


def test_bursts_that_make_no_cold_start_give_up_saying_why():
    s, recycles, _ = sampler(users=5, cold_samples=10)
    recycles.finished = 10**6
    now = 0.0
    for _ in range(1000):
        if s.tick(now, 0, []) is None:
            break
        now += SAMPLER_BURST_S
    assert s.round == s.max_rounds == 6
    assert "probe's headers" in s.reason


def test_a_failed_recycle_ends_the_sampling():
    s, recycles, _ = sampler(users=2, cold_samples=4)
    recycles.fail = True
    s.tick(0.0, 0, [])
    assert s.tick(1.0, 0, []) is None and "recycle failed: update failed" in s.reason


@pytest.mark.parametrize("n", [10, 40, 200])
def test_the_median_interval_holds_the_median(n):
    values = np.random.default_rng(n).exponential(100, n)
    lo, hi = median_interval(values)
    assert lo <= np.median(values) <= hi
    assert median_interval(values[:5]) is None


def test_a_burst_waits_for_cold_starts_slower_than_itself():
    """Ten 4.7 s inits on two cores: a 4 s burst once stopped its users before any cold
    start answered, and the next round counted them."""
    s, recycles, _ = sampler(users=3, cold_samples=3)
    recycles.finished = 10**6
    s.tick(0.0, 0, [])
    assert s.tick(SAMPLER_BURST_S + 1, 3, []) == (3, 3.0), "no cold answer yet: keep going"
    assert s.tick(SAMPLER_BURST_S + 2, 3, [4700.0, 4800.0]) == (3, 3.0), "one still missing"
    assert s.tick(SAMPLER_BURST_S + 3, 3, [4700.0, 4800.0, 4900.0]) is None
