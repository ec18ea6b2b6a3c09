"""The keep-alive curve: Wilson intervals, Turnbull's estimate from per-environment
(L, R] intervals, and a median survival recovered from simulated environments whose
keep-alive is known (the length bias of counting requests avoided)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coldbench.analysis.keepalive import environments, keep_alive, median_survival, wilson


def test_wilson_intervals():
    assert wilson(0, 10)[0] == 0.0 and 0.25 < wilson(0, 10)[1] < 0.35
    lo, hi = wilson(5, 10)
    assert lo < 0.5 < hi and hi - lo < 0.6
    assert wilson(10, 10)[1] == 1.0


def simulated(gaps, repeats, low, high, users=1, seed=1) -> pd.DataFrame:
    """Users as the idle-gaps shape drives them: an environment lives until a gap
    outlasts its keep-alive (drawn from [low, high]), then a new one starts."""
    rng = np.random.default_rng(seed)
    rows, t, envs = [], 0.0, 0
    for user in range(users):
        keep, env = rng.uniform(low, high), f"e{envs}"
        envs += 1
        rows.append((t, "gap:warm", "cold", env, user))
        plan = [g for g in gaps for _ in range(repeats)]
        rng.shuffle(plan)
        for gap in plan:
            t += gap + 0.01
            if gap > keep:
                keep, env = rng.uniform(low, high), f"e{envs}"
                envs += 1
                rows.append((t, f"gap:{gap:g}", "cold", env, user))
            else:
                rows.append((t, f"gap:{gap:g}", "warm", env, user))
    return pd.DataFrame(rows, columns=["start_time", "name", "class", "log_stream", "user"]).assign(
        cancelled=False, reached=True
    )


def test_each_environment_is_one_interval():
    df = simulated([1, 3], 1, 2.0, 2.5)  # e0 survives 1 s or dies at 3 s, in either order
    left, right = environments(df.assign(env=df["log_stream"], is_cold=df["class"] == "cold"))
    assert sorted(zip(left, right, strict=True))[0] in ((0.0, 3.0), (1.0, 3.0))


def test_the_median_survival_of_a_known_keep_alive_is_recovered():
    """Keep-alive uniform in 4-8 s: P(cold) 0 below 4 s, 1 above 8 s, median 6 s."""
    curve = keep_alive(simulated([2, 3, 5, 6, 7, 9, 10], 12, 4.0, 8.0, users=2))
    assert curve is not None
    by_gap = dict(zip(curve.gaps_s, curve.p_cold, strict=True))
    assert by_gap[2.0] == by_gap[3.0] == 0.0 and by_gap[9.0] == by_gap[10.0] == 1.0
    assert curve.survival_median_ci95 is not None
    lo, hi = curve.survival_median_ci95
    assert lo <= 6.0 <= hi and hi - lo < 3
    assert curve.survival_median_s == pytest.approx(6.0, abs=1.0)
    assert all(lo <= p <= hi for p, (lo, hi) in zip(curve.p_cold, curve.ci95, strict=True))


@pytest.mark.parametrize("seed", range(5))
def test_the_median_is_not_biased_towards_long_lived_environments(seed):
    estimates = keep_alive(simulated([1, 2, 3, 4, 5], 20, 1.0, 5.0, users=3, seed=seed))
    assert estimates is not None and estimates.survival_median_s == pytest.approx(3.0, abs=0.7)


def test_when_most_environments_outlive_every_gap_there_is_no_median():
    curve = keep_alive(simulated([1, 2], 10, 50.0, 60.0))
    assert curve is not None and curve.survival_median_s is None
    assert median_survival(np.array([2.0]), np.array([np.inf])) is None


def test_a_run_without_gap_requests_has_no_curve():
    df = pd.DataFrame({"name": ["/"], "class": ["warm"], "cancelled": False, "reached": True})
    assert keep_alive(df) is None


def test_an_environment_that_survives_a_gap_and_then_dies_at_it_still_has_an_interval():
    """Planned gaps are not measured idle times: an environment whose keep-alive sits at
    1.5 s was seen to survive a 1.5 s gap and then die at one (a CI run). Its interval
    was (1.5, 1.5], empty, and the whole estimate came out with no median at all."""
    rows = [(0.0, "gap:warm", "cold", "a", 0)]
    for t, gap, cls, env in (
        (1.0, 0.5, "warm", "a"), (2.0, 1.25, "warm", "a"), (4.0, 1.5, "warm", "a"),
        (6.0, 1.5, "cold", "b"), (8.0, 1.75, "warm", "b"), (10.0, 2.25, "cold", "c"),
        (12.0, 1.25, "warm", "c"), (14.0, 2.5, "cold", "d"), (16.0, 0.5, "warm", "d"),
        (18.0, 2.25, "cold", "e"),
    ):  # fmt: skip
        rows.append((t, f"gap:{gap:g}", cls, env, 0))
    df = pd.DataFrame(rows, columns=["start_time", "name", "class", "log_stream", "user"])
    left, right = environments(df.assign(env=df["log_stream"], is_cold=df["class"] == "cold"))
    spans = dict(zip("abcd", zip(left, right, strict=True), strict=False))
    assert spans["a"] == (1.25, 1.5)  # the 1.5 s survival at its own death is noise
    assert all(lo < hi for lo, hi in zip(left, right, strict=True))
    curve = keep_alive(df.assign(cancelled=False, reached=True))
    assert curve is not None and curve.survival_median_s is not None
    assert curve.survival_median_ci95 is not None
