"""Each cold-start cause on constructed request/REPORT sequences."""

from __future__ import annotations

import pandas as pd

from coldbench.analysis.causes import counts, infer


def requests(*rows) -> pd.DataFrame:
    """(start s, e2e ms, class, environment[, platform status, error type]) rows."""
    filled = [(*r, "", "")[:6] for r in rows]
    return pd.DataFrame(
        filled,
        columns=["start_time", "e2e_ms", "class", "log_stream", "platform_status", "error_type"],
    ).assign(env_id="")


def causes_of(df: pd.DataFrame, recycles=()) -> list:
    found = infer(df, recycles)
    return [found[i] for i in df.index if df.loc[i, "class"] in ("cold", "proactive")]


def test_the_first_environments_then_scale_out():
    df = requests(
        (0.0, 500, "cold", "a"),
        (0.1, 500, "cold", "b"),  # a is busy and nothing has been served warm yet: first
        (0.7, 10, "warm", "a"),
        (0.71, 400, "cold", "c"),  # a and b both busy: scale out
        (0.72, 10, "warm", "b"),
        (1.5, 10, "warm", "c"),
    )
    df.loc[1, "e2e_ms"] = 800  # b busy until 0.9
    df.loc[2, "e2e_ms"] = 300  # a busy until 1.0
    assert causes_of(df) == ["first", "first", "scale_out"]


def test_an_environment_gone_after_an_idle_gap_is_an_idle_eviction():
    df = requests(
        (0.0, 500, "cold", "a"),
        (1.0, 10, "warm", "a"),
        (20.0, 500, "cold", "b"),  # a was left idle at 1.01 and never served again
        (21.0, 10, "warm", "b"),
    )
    assert causes_of(df) == ["first", "idle_eviction"]


def test_environments_retired_by_a_recycle_explain_the_cold_starts_after_it():
    df = requests(
        (0.0, 500, "cold", "a"),
        (0.1, 500, "cold", "b"),
        (1.0, 10, "warm", "a"),
        (1.0, 10, "warm", "b"),
        (3.0, 500, "cold", "c"),
        (3.0, 500, "cold", "d"),
        (3.1, 500, "cold", "e"),  # two were retired: the third is not the recycle's
        (4.0, 10, "warm", "c"),
        (4.0, 10, "warm", "d"),
        (4.2, 10, "warm", "e"),
    )
    assert causes_of(df, [(2.0, 2.5)]) == ["first", "first", "recycle", "recycle", "scale_out"]


def test_a_crashed_environment_is_replaced_after_its_error():
    df = requests(
        (0.0, 500, "cold", "a"),
        (1.0, 10, "warm", "a"),
        (2.0, 30, "warm", "a", "error", "Runtime.ExitError"),
        (2.1, 500, "cold", "b"),
        (3.0, 10, "warm", "b"),
    )
    assert causes_of(df) == ["first", "after_error"]


def test_proactive_keeps_its_class_and_an_idle_environment_leaves_it_unexplained():
    df = requests(
        (0.0, 500, "cold", "a"),
        (1.0, 10, "warm", "a"),
        (1.5, 5, "proactive", "p"),
        (2.0, 500, "cold", "b"),  # a was alive (serves at 3.0) and idle at 2.0
        (3.0, 10, "warm", "a"),
        (3.0, 10, "warm", "b"),
        (3.5, 10, "warm", "p"),
    )
    found = causes_of(df)
    assert found == ["first", "proactive", "unexplained"]
    assert counts(infer(df)) == {"first": 1, "proactive": 1, "unexplained": 1}
