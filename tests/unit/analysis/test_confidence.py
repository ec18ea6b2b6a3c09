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


@pytest.mark.parametrize("q", [0.0, 10.0, 50.0, 90.0, 99.0, 100.0])
def test_a_block_replicate_is_the_exact_percentile_of_the_blocks_drawn(q):
    """The weighted shortcut equals numpy's percentile of the drawn blocks pooled."""
    rng = np.random.default_rng(11)
    blocks = [rng.normal(100 + 10 * b, 5, rng.integers(20, 60)) for b in range(6)]
    values = np.concatenate(blocks)
    labels = np.concatenate([np.full(len(x), b) for b, x in enumerate(blocks)])
    order = np.argsort(values, kind="stable")
    for counts in ([1, 1, 1, 1, 1, 1], [3, 0, 0, 2, 1, 0], [0, 0, 0, 0, 0, 6]):
        pooled = np.concatenate([np.repeat(x, c) for x, c in zip(blocks, counts, strict=True)])
        weights = np.asarray(counts, dtype=float)[labels[order]]
        got = confidence._weighted_percentile(values[order], np.cumsum(weights), q)
        if confidence.supported(q, pooled.size):
            assert got == pytest.approx(float(np.percentile(pooled, q)), rel=1e-12)


def test_blocks_that_move_together_widen_the_interval():
    """Six blocks, each shifted as a whole (drift, a burst's contention): resampled one
    request at a time the median looks precise; by blocks it does not, and the interval
    holds the block-to-block spread."""
    rng = np.random.default_rng(5)
    shifts = rng.normal(0, 40, 6)
    values = np.concatenate([200 + s + rng.normal(0, 5, 100) for s in shifts])
    labels = np.repeat(np.arange(6), 100)
    by_request = confidence.ci95(values, "t")["p50"]
    by_block = confidence.ci95(values, "t", blocks=labels)["p50"]
    assert by_request is not None and by_block is not None
    assert (by_block[1] - by_block[0]) > 4 * (by_request[1] - by_request[0])
    for stat in ("p50", "mean"):
        a = confidence.difference(values, values + 10, stat, "d", blocks=(labels, labels))
        b = confidence.difference(values, values + 10, stat, "d")
        assert a is not None and b is not None
        assert a[0] <= 0 <= a[1]  # 10 ms within a 40 ms block-to-block spread: not told
        assert b[0] > 0  # request by request it would be called slower


def test_fewer_than_three_blocks_give_no_interval():
    values = np.arange(100, dtype=float)
    assert confidence.ci95(values, "k", blocks=np.repeat([0, 1], 50))["p50"] is None
    assert confidence.ci95(values, "k", blocks=np.repeat([0, 1, 2, 3], 25))["p50"] is not None
    # one block is a run like any other: resampled request by request
    assert confidence.ci95(values, "k", blocks=np.zeros(100))["p50"] is not None


def test_a_paired_comparison_takes_each_rounds_level_out_of_both():
    """Six rounds whose levels differ by hundreds of ms (drift): resampled block by block
    a real 15 ms difference cannot be told; compared round by round it is, within a few
    ms."""
    rng = np.random.default_rng(9)
    levels = np.linspace(100, 600, 6)
    rounds = np.repeat(np.arange(6), 80)
    a = levels[rounds] + rng.normal(0, 5, rounds.size)
    b = levels[rounds] + 15 + rng.normal(0, 5, rounds.size)
    estimate, ci = confidence.paired_difference(a, rounds, b, rounds, "p50")
    assert ci is not None and ci[0] > 0 and 12 <= estimate <= 18 and ci[1] - ci[0] < 10
    apart = confidence.difference(a, b, "p50", "apart", blocks=(rounds, rounds))
    assert apart is not None and apart[0] <= 0 <= apart[1]
    other = levels[rounds] + rng.normal(0, 5, rounds.size)  # the same configuration again
    same, same_ci = confidence.paired_difference(a, rounds, other, rounds, "mean")
    assert same is not None and abs(same) < 3 and same_ci is not None
    assert same_ci[0] <= 0 <= same_ci[1]
    assert confidence.paired_difference(a, rounds % 2, b, rounds % 2, "p50") == (None, None)
    # p99 needs 100 values in each block: rounds of 80 cannot give one
    assert confidence.paired_difference(a, rounds, b, rounds, "p99") == (None, None)
