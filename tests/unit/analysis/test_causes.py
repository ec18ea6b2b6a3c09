"""Each cold-start cause on constructed request/REPORT sequences."""

from __future__ import annotations

import pandas as pd

from coldbench.analysis.causes import counts, infer


def requests(*rows) -> pd.DataFrame:
    """(start s, e2e ms, class, environment[, platform status, error type]) rows."""
    filled = [(*r, "", "")[:6] for r in rows]
    return pd.DataFrame(
        filled,
        columns=["start_time", "e2e_ms", "class", "environment", "platform_status", "error_type"],
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


def _reference(df: pd.DataFrame, recycles=()) -> list:
    """The rules as first written: every cold start checked against every environment
    (quadratic). The linear version must give the same cause to every cold start."""
    frame = df.assign(end_time=df["start_time"] + df["e2e_ms"] / 1000).sort_values(
        "start_time", kind="stable"
    )
    fatal = (frame["platform_status"] == "timeout") | frame["error_type"].isin(
        ["Runtime.ExitError", "Sandbox.Timedout", "Runtime.OutOfMemory", "Function.Crashed"]
    )
    envs: dict[str, dict] = {}
    for key, start, end, bad in zip(
        frame["environment"], frame["start_time"], frame["end_time"], fatal, strict=True
    ):
        e = envs.setdefault(key, {"starts": [], "ends": []})
        e["starts"].append(start)
        e["ends"].append(end)
        e["fatal"] = bool(bad)
    warm = frame.loc[frame["class"] == "warm", "start_time"]
    first_warm = warm.min() if len(warm) else float("inf")
    retired = [
        [k for k, e in envs.items() if e["starts"][0] < b and not any(s >= b for s in e["starts"])]
        for b, _ in recycles
    ]
    used: set = set()
    found = {}
    for index, row in frame[frame["class"] == "cold"].iterrows():
        t, own = row["start_time"], row["environment"]
        cause = None
        for (began, _), gone in zip(recycles, retired, strict=True):
            free = [k for k in gone if k not in used and k != own]
            if began <= t and free:
                used.add(free[0])
                cause = "recycle"
                break
        for name, test in (
            ("after_error", lambda e, t=t: e["fatal"] and max(e["ends"]) <= t),
            ("idle_eviction", lambda e, t=t: max(e["ends"]) < t and e["starts"][0] < t),
        ):
            if cause is None:
                for key, e in envs.items():
                    if key != own and key not in used and test(e):
                        used.add(key)
                        cause = name
                        break
        if cause is None and t < first_warm:
            cause = "first"
        if cause is None:
            alive = [e for k, e in envs.items() if k != own and e["starts"][0] < t < max(e["ends"])]
            idle = any(
                not any(s <= t < x for s, x in zip(e["starts"], e["ends"], strict=True))
                for e in alive
            )
            cause = "unexplained" if idle else "scale_out"
        found[index] = cause
    return [found[i] for i in df.index if i in found]


def test_the_linear_rules_give_every_cold_start_the_cause_the_quadratic_ones_gave():
    import numpy as np

    for seed in range(40):
        rng = np.random.default_rng(seed)
        rows, clock, next_env = [], 0.0, 0
        alive: list[str] = []
        for _ in range(int(rng.integers(10, 80))):
            clock += float(rng.exponential(0.3))
            if not alive or rng.random() < 0.3:
                env, cls = f"e{next_env}", "cold"
                next_env += 1
                alive.append(env)
            else:
                env, cls = alive[int(rng.integers(len(alive)))], "warm"
            status = "timeout" if rng.random() < 0.05 else "success"
            rows.append((clock, float(rng.uniform(5, 600)), cls, env, status, ""))
            if rng.random() < 0.15:
                alive.remove(env)  # evicted, crashed or recycled: never serves again
        df = requests(*rows)
        recycles = [(float(b), float(b) + 0.1) for b in np.sort(rng.uniform(0, clock, 2))]
        assert causes_of(df, recycles) == _reference(df, recycles), seed
        assert causes_of(df) == _reference(df), seed
