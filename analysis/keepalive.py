"""How long idle environments survive: the keep-alive curve of an ``idle-gaps`` run.

Each observation is one request sent after its user's environment sat idle for a
planned gap (its row's name is ``gap:<seconds>``), and whether it met a cold start. Per
gap: P(cold) with a Wilson 95% interval.

The survival estimate counts environments, not requests: an environment that outlives
short gaps is observed again and again until a gap outlasts it, so long-lived ones would
weigh more (length bias). Each environment (the one its user's previous request ran
on) is known to have survived the longest gap it served after, and to have died by the
first gap that met a cold start: its idle survival lies in (L, R], R infinite while it
never died. Turnbull's self-consistency algorithm gives the nonparametric maximum-
likelihood distribution of such interval-censored times; its median, interpolated
within its interval, is the median idle survival, and resampling environments (seeded)
gives its 95% interval.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from coldbench.record.summary import KeepAlive

PREFIX = "gap:"
Z = 1.959964
REPLICATES = 500


def wilson(cold: int, n: int) -> tuple[float, float]:
    """The Wilson score 95% interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = cold / n
    if cold in (0, n):  # the closed form at the edges, free of rounding
        bound = (Z * Z / n) / (1 + Z * Z / n)
        return (0.0, bound) if cold == 0 else (1 - bound, 1.0)
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def turnbull(left: np.ndarray, right: np.ndarray, iterations: int = 400) -> tuple:
    """Masses of the survival distribution on the intervals between the sorted finite
    endpoints (and beyond the last), from intervals ``(left, right]``."""
    points = np.unique(np.concatenate([left, right[np.isfinite(right)], [0.0]]))
    lower = np.concatenate([points[:-1], [points[-1]]])
    upper = np.concatenate([points[1:], [np.inf]])
    # Environment i can have its survival in cell j when cell j lies within (L_i, R_i].
    inside = (lower[None, :] >= left[:, None]) & (upper[None, :] <= right[:, None])
    mass = np.full(points.size, 1.0 / points.size)
    for _ in range(iterations):
        weighted = inside * mass
        updated = (weighted / weighted.sum(axis=1, keepdims=True)).mean(axis=0)
        done = np.abs(updated - mass).max() < 1e-7
        mass = updated
        if done:
            break
    return lower, upper, mass


def median_survival(left: np.ndarray, right: np.ndarray) -> float | None:
    """The idle time by which half the environments are gone (None past the longest
    finite endpoint: more than half outlived every gap)."""
    if left.size == 0:
        return None
    lower, upper, mass = turnbull(left, right)
    total = np.cumsum(mass)
    reached = np.nonzero(total >= 0.5 - 1e-9)[0]
    if reached.size == 0 or not np.isfinite(upper[reached[0]]):
        return None
    j = int(reached[0])
    before = total[j] - mass[j]
    share = (0.5 - before) / mass[j] if mass[j] > 0 else 1.0
    return float(lower[j] + share * (upper[j] - lower[j]))


def environments(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(L, R] of each environment's idle survival from a user's gap requests in order.

    Gaps are planned, not measured: a request's own latency and the reaper's tick move
    the real idle time a little, so an environment can be seen to survive a gap and
    then die at a gap as long (its keep-alive sat at that boundary). A survival at or
    beyond the gap that killed it is that noise, and is not counted: L is the longest
    gap it survived short of R, so the interval is never empty."""
    survived: dict[str, list[float]] = {}
    died: dict[str, float] = {}
    for _, mine in rows.sort_values("start_time").groupby("user", sort=False, observed=True):
        previous = ""
        for name, env, cold in zip(mine["name"], mine["env"], mine["is_cold"], strict=True):
            if previous and name != PREFIX + "warm":
                gap = float(name.removeprefix(PREFIX))
                survived.setdefault(previous, [])
                if cold:
                    died[previous] = min(died.get(previous, np.inf), gap)
                else:
                    survived[previous].append(gap)
            previous = env
    spans = []
    for env, gaps in survived.items():
        right = died.get(env, np.inf)
        spans.append((max((g for g in gaps if g < right), default=0.0), right))
    found = np.array(spans, dtype=float).reshape(-1, 2)
    return found[:, 0], found[:, 1]


def keep_alive(df: pd.DataFrame, seed: int = 7) -> KeepAlive | None:
    """The keep-alive curve of a run's ``gap:`` requests; None without any."""
    if "name" not in df:
        return None
    # names are few: test them once each, not once per request
    gap_names = [n for n in df["name"].unique() if isinstance(n, str) and n.startswith(PREFIX)]
    answered = df[df["name"].isin(gap_names) & ~df["cancelled"].astype(bool)]
    answered = answered[answered["reached"].astype(bool)]
    rows = answered[answered["name"] != PREFIX + "warm"]
    if rows.empty:
        return None
    gaps = rows["name"].str.removeprefix(PREFIX).astype(float).to_numpy()
    cold = rows["class"].isin(["cold", "proactive"]).to_numpy().astype(float)
    distinct = np.unique(gaps)
    counts = [int(np.sum(gaps == g)) for g in distinct]
    colds = [int(np.sum(cold[gaps == g])) for g in distinct]
    env = answered["log_stream"] if "log_stream" in answered else answered["env_id"]
    left, right = environments(
        answered.assign(
            env=env.fillna("").astype(str),
            is_cold=answered["class"].isin(["cold", "proactive"]),
            user=answered.get("user", 0),
        )
    )
    median = median_survival(left, right)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(REPLICATES):
        pick = rng.integers(0, left.size, left.size)
        draws.append(median_survival(left[pick], right[pick]))
    # A resample whose median lies beyond the longest gap counts as infinite: the
    # interval's upper end is then "beyond the longest gap" (inf; null in JSON).
    interval = None
    if median is not None:
        values = [np.inf if d is None else d for d in draws]
        lo, hi = np.percentile(values, [2.5, 97.5])
        interval = (float(lo), float(hi))
    return KeepAlive(
        gaps_s=tuple(float(g) for g in distinct),
        n=tuple(counts),
        p_cold=tuple(c / n for c, n in zip(colds, counts, strict=True)),
        ci95=tuple(wilson(c, n) for c, n in zip(colds, counts, strict=True)),
        survival_median_s=median,
        survival_median_ci95=interval,
    )
