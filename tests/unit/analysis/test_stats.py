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
