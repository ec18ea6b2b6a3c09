"""Bootstrap intervals against known distributions, the drawing shortcut against plain
resampling, "n too small", and verdicts on constructed differences."""

from __future__ import annotations

import numpy as np
import pytest

from coldbench.analysis import confidence


@pytest.mark.parametrize(
    ("stat", "truth"), [("p50", np.log(2)), ("p90", np.log(10)), ("mean", 1.0)]
)
def test_intervals_cover_the_truth_about_95_percent_of_the_time(stat, truth):
    """Exponential(1) samples of 400: over 250 seeded samples, the 95% interval of the
    median, the p90 and the mean hold the true value close to 95% of the time."""
    rng = np.random.default_rng(7)
    covered = 0
    trials = 250
    for trial in range(trials):
        sample = rng.exponential(1.0, 400)
        lo, hi = confidence.ci95(sample, "coverage", str(trial))[stat]
        covered += lo <= truth <= hi
    assert 0.90 <= covered / trials <= 0.99, covered / trials


def test_drawing_order_statistics_matches_resampling():
    """The Beta shortcut and 4,000 plain resamples give the same bootstrap distribution."""
    rng = np.random.default_rng(3)
    data = np.sort(rng.lognormal(3, 0.8, 501))
    drawn = confidence.replicates(data, "p90", np.random.default_rng(1))
    plain = np.percentile(data[rng.integers(0, data.size, (4000, data.size))], 90, axis=1)
    assert drawn is not None
    for q in (5, 25, 50, 75, 95):
        assert np.percentile(drawn, q) == pytest.approx(np.percentile(plain, q), rel=0.03)


def test_a_percentile_without_samples_beyond_it_has_no_interval():
    values = np.arange(99, dtype=float)
    found = confidence.ci95(values, "small")
    assert found["p99"] is None and found["p90"] is not None and found["p50"] is not None
    assert confidence.ci95(np.arange(100, dtype=float), "enough")["p99"] is not None
    assert confidence.ci95(np.arange(4, dtype=float), "tiny") == {
        "p50": None,
        "p90": None,
        "p99": None,
        "mean": None,
    }


def test_the_same_data_gives_the_same_interval():
    values = np.random.default_rng(5).normal(100, 10, 300)
    assert confidence.ci95(values, "cold", "e2e_ms") == confidence.ci95(values, "cold", "e2e_ms")


def test_verdicts_on_constructed_differences():
    rng = np.random.default_rng(11)
    slow = rng.normal(200, 20, 300)
    fast = rng.normal(100, 10, 300)
    same = rng.normal(200, 20, 300)
    faster = confidence.difference(slow, fast, "p50", "t")
    assert faster is not None and faster[1] < 0
    assert confidence.verdict(faster, "faster", "slower") == "faster"
    assert (
        confidence.verdict(confidence.difference(fast, slow, "p50", "t"), "faster", "slower")
        == "slower"
    )
    assert confidence.verdict(
        confidence.difference(slow, same, "p50", "t"), "faster", "slower"
    ) == ("no detectable difference")
    assert confidence.verdict(None, "cheaper", "dearer") == "no detectable difference"
    assert confidence.difference(slow[:50], fast[:50], "p99", "t") is None  # n too small
