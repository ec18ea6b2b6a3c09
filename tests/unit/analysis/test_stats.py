"""Per-second statistics computed for every second at once equal numpy's, group by group."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from coldbench.analysis.stats import grouped_percentiles


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-3, 30), st.floats(0, 1e6, allow_nan=False)), min_size=1, max_size=400
    )
)
def test_grouped_percentiles_are_numpys_for_every_group(pairs):
    keys = np.array([k for k, _ in pairs])
    values = np.array([v for _, v in pairs])
    found, p50, p99 = grouped_percentiles(keys, values)
    assert found.tolist() == sorted(set(keys.tolist()))
    for i, key in enumerate(found):
        group = values[keys == key]
        assert p50[i] == np.percentile(group, 50)
        assert p99[i] == np.percentile(group, 99)


def test_a_generated_runs_summary_percentiles_are_numpys_on_the_known_values(tmp_path):
    """Exactness against ground truth: the generator's own rows (read back as written)
    give every class's and phase's percentiles, equal to numpy's to the last bit, and
    every second's p50/p99 in the time series."""
    import pandas as pd

    from coldbench.analysis.summary import analyse
    from coldbench.analysis.synthetic import generate
    from coldbench.record.config import build_config

    run_dir = generate(tmp_path / "run", 20_000, seconds=120, env_every=97, seed=5)
    truth = pd.read_csv(run_dir / "requests.csv")
    result = analyse(run_dir, build_config({}), reports_root=tmp_path / "reports")
    cold = truth["cold"] == 1
    for cls, rows in (("cold", truth[cold]), ("warm", truth[~cold])):
        found = result.summary.of(cls).e2e_ms
        assert found.count == len(rows)
        for name, q in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99), ("p999", 99.9)):
            assert getattr(found, name) == np.percentile(rows["e2e_ms"], q), (cls, name)
    series = result.series.set_index("t_s")
    seconds = np.floor(truth["start_time"] - result.run.started_ms / 1000).astype(int)
    for second, rows in truth.groupby(seconds):
        assert series.loc[second, "p50_ms"] == np.percentile(rows["e2e_ms"], 50)
        assert series.loc[second, "p99_ms"] == np.percentile(rows["e2e_ms"], 99)


def test_joined_parquet_carries_every_request_with_what_was_derived_row_for_row(tmp_path):
    """The join is streamed to a file in no particular order and what the analysis
    derives is added to it by position: each request's class, visible init and outside
    time must still be its own (the generator's truth, by request id), and the working
    files are gone."""
    import pandas as pd

    from coldbench.analysis.summary import analyse
    from coldbench.analysis.synthetic import generate
    from coldbench.record.config import build_config

    run_dir = generate(tmp_path / "run", 5_000, seconds=60, env_every=41, seed=9)
    truth = pd.read_csv(run_dir / "requests.csv").set_index("request_id")
    reports = pd.read_json(run_dir / "platform.jsonl", lines=True, precise_float=True)
    reports = reports.set_index("request_id")
    result = analyse(run_dir, build_config({}), reports_root=tmp_path / "reports")
    joined = pd.read_parquet(result.report_dir / "joined.parquet").set_index("request_id")
    assert sorted(joined.index) == sorted(truth.index) and joined["matched"].all()
    joined = joined.loc[truth.index]
    cold = truth["cold"] == 1
    assert (joined["class"] == np.where(cold, "cold", "warm")).all()
    assert (joined["e2e_ms"] == truth["e2e_ms"]).all()
    init = reports.loc[truth.index, "init_duration_ms"].fillna(0.0).where(cold, 0.0)
    assert (joined["init_visible_ms"] == init).all()
    duration = reports.loc[truth.index, "duration_ms"]
    expected = (truth["e2e_ms"] - (duration + init)).clip(lower=0.0)
    assert (joined["outside_ms"] == expected).all()
    assert joined["cold_cause"].notna().sum() == cold.sum()
    assert joined.loc[joined["cold_cause"].notna(), "class"].eq("cold").all()
    left = {p.name for p in result.report_dir.iterdir()}
    assert left == {"joined.parquet", "summary.json", "timeseries.csv"}
