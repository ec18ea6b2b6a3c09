"""Plots show degenerate data visibly and place time where it happened."""

from __future__ import annotations

import base64
import io

import matplotlib.image
import numpy as np
import pandas as pd

from coldbench.analysis import render
from coldbench.analysis.stats import timeseries
from coldbench.analysis.summary import analyse
from coldbench.analysis.synthetic import generate
from coldbench.record.config import build_config


def pixels_of(figure, rgb: str, tolerance: float = 0.02) -> int:
    """How many pixels of the rendered PNG have (about) this colour."""
    image = matplotlib.image.imread(io.BytesIO(base64.b64decode(figure.src.split(",", 1)[1])))
    target = np.array([int(rgb[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return int((np.abs(image[..., :3] - target).max(axis=-1) < tolerance).sum())


def test_a_max_memory_used_that_every_report_shares_is_a_visible_bar(tmp_path):
    """One value on a 0-512 MB axis was drawn as a bar 0.05 MB wide: a blank plot."""
    run_dir = generate(tmp_path / "run", 400, seconds=20, env_every=40)  # all 60 MB
    a = analyse(run_dir, build_config({}), reports_root=tmp_path / "reports")
    assert a.joined["max_memory_used_mb"].nunique() == 1
    assert pixels_of(render.plot_memory(a), "#9467bd") > 300


def test_one_cold_start_and_one_class_are_visible(tmp_path):
    run_dir = generate(tmp_path / "run", 50, seconds=10, env_every=1000)  # one cold start
    a = analyse(run_dir, build_config({}), reports_root=tmp_path / "reports")
    assert a.summary.of("cold").count == 1
    assert pixels_of(render.plot_init_histogram(a), render.COLORS["cold"]) > 300
    # Markers are drawn half-transparent: their colour is the class's blended with white.
    assert pixels_of(render.plot_latency_over_time(a), render.COLORS["cold"], 0.3) > 10


def frame(starts: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {"start_time": starts, "e2e_ms": 1.0, "ok": 1, "failed": False, "class": "warm"}
    )


def test_seconds_count_from_the_run_start_and_a_partial_last_second_is_no_dip():
    t0 = 1000.4  # the run started 0.4 s into an epoch second
    starts = [t0 + i / 10 for i in range(25)]  # 10 requests per second for 2.5 s
    series = timeseries(frame(starts), t0, t_end=t0 + 2.5)
    assert series["t_s"].tolist() == [0, 1, 2]
    assert series["second"].tolist() == [t0, t0 + 1, t0 + 2]
    assert series["requests"].tolist() == [10, 10, 5]
    assert series["covered_s"].tolist() == [1.0, 1.0, 0.5]
    assert series["requests_per_s"].tolist() == [10.0, 10.0, 10.0], "no false dip at the end"


def test_a_request_just_after_a_gap_is_not_drawn_inside_it():
    """Bucketed by epoch second, a cold request at 39.0 s after the start was drawn at
    38.6 s, inside the idle gap that ended at 39 s."""
    t0 = 1000.4
    series = timeseries(frame([t0 + 0.1, t0 + 39.0]), t0)
    assert series.loc[series["requests"] > 0, "t_s"].tolist() == [0, 39]
    assert series.loc[series["t_s"].between(1, 38), "requests"].eq(0).all()


def test_many_warm_requests_are_a_density_and_every_cold_start_and_failure_still_shows(
    tmp_path, monkeypatch
):
    """Above DENSITY_ABOVE warm requests the latency plot draws them as a density, yet
    each cold start stays a red marker and each failure a black cross; the CDF draws a
    bounded number of exact points."""
    run_dir = generate(tmp_path / "run", 3000, seconds=60, env_every=300)  # 10 cold starts
    a = analyse(run_dir, build_config({}), reports_root=tmp_path / "reports")
    a.joined.loc[a.joined.index[[5, 2500]], "failed"] = True
    monkeypatch.setattr(render, "DENSITY_ABOVE", 500)
    drawn = []
    real_figure = render.figure
    monkeypatch.setattr(
        render, "figure", lambda fig, caption: drawn.append(fig) or real_figure(fig, caption)
    )
    shown = render.plot_latency_over_time(a)
    (ax,) = drawn[0].axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "warm (2990, density)" in labels and "cold (10)" in labels and "failed (2)" in labels
    assert "density" in shown.caption
    points = [len(c.get_offsets()) for c in ax.collections if c.get_label() == "cold (10)"]
    assert points == [10], "every cold start is its own marker"
    assert pixels_of(shown, render.COLORS["cold"], 0.3) > 10

    monkeypatch.setattr(render, "CDF_POINTS", 100)
    monkeypatch.setattr(render, "CDF_TAIL", 50)
    values = np.random.default_rng(1).exponential(10, 5000)
    x, y = render.cdf_points(values)
    assert len(x) <= 150 and x[-1] == values.max() and y[-1] == 1.0
    ordered = np.sort(values)
    assert np.all(ordered[np.round(y * 5000).astype(int) - 1] == x), "each drawn point is exact"
