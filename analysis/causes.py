"""Why each cold start happened, inferred from what AWS gives as well as the local target:
client timings, REPORT records (environment = log stream, status, error type), the
probe's environment ids, and the run's own recycles (``run.json`` ``recycles``).

An environment that served and is gone explains one later cold start: the request that
would have used it had to start another. Rules, in order, for each cold start at time t:

1. ``recycle``: an environment that served before a recycle the run made, and never
   after it, was retired by it (each explains one cold start after the recycle began);
2. ``after_error``: an environment whose last invocation crashed or timed out (REPORT
   ``timeout``, or a runtime exit, out of memory) is gone, and this replaces it;
3. ``idle_eviction``: an environment that had served, was left idle and never served
   again was gone by t (its keep-alive ran out);
4. ``first``: no request had yet been served warm: the function had no environment to
   reuse, as at the start of a run;
5. ``scale_out``: every environment alive at t was busy;
6. ``unexplained``: none of these; some environment was idle at t and still a new one
   started (on AWS placement is Lambda's business; locally it should not happen).

``proactive`` (init finished before the request arrived) keeps its class as its cause.
Limits: without the probe or log streams no environment is known, so only ``first``,
``scale_out`` and the recycle rule by time remain; an environment's death is known only in
hindsight (it never served again), so the last cold starts of a run may be attributed
to an environment that was merely unused.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CAUSES = (
    "first",
    "scale_out",
    "idle_eviction",
    "recycle",
    "after_error",
    "proactive",
    "unexplained",
)
# What :func:`infer` reads of each request.
COLUMNS = ("start_time", "e2e_ms", "class", "environment", "platform_status", "error_type")
FATAL = ("Runtime.ExitError", "Sandbox.Timedout", "Runtime.OutOfMemory", "Function.Crashed")


@dataclass
class _Env:
    """One environment's request starts and ends in time order (numpy views: a run of
    millions holds them once)."""

    starts: np.ndarray
    ends: np.ndarray
    fatal_end: bool = False
    first: float = field(init=False)
    last_end: float = field(init=False)

    def __post_init__(self) -> None:
        self.first = float(self.starts[0])
        self.last_end = float(self.ends.max())

    def busy_at(self, t: float) -> bool:
        i = int(np.searchsorted(self.starts, t, side="right"))
        return bool((self.ends[max(0, i - 3) : i] > t).any())


def _environments(df: pd.DataFrame) -> dict[str, _Env]:
    """Each environment's request starts and ends, in time order (``df`` is sorted)."""
    starts, ends = df["start_time"].to_numpy(), df["end_time"].to_numpy()
    fatal = df["fatal"].to_numpy()
    found: dict[str, _Env] = {}
    groups = df.groupby("env", sort=False, observed=True).indices
    for key, rows in sorted(groups.items(), key=lambda item: item[1][0]):  # first seen first
        if key:
            # rows come in time order: the last one decides how the environment ended
            found[key] = _Env(starts[rows], ends[rows], bool(fatal[rows[-1]]))
    return found


def infer(df: pd.DataFrame, recycles: Sequence[tuple[float, float]] = ()) -> pd.Series:
    """A cause for every cold or proactive request (index-aligned; None for the rest)."""
    causes = pd.Series([None] * len(df), index=df.index, dtype=object)
    if df.empty:
        return causes
    frame = pd.DataFrame(
        {
            "env": df["environment"],
            "start_time": df["start_time"].astype(float),
            "end_time": df["start_time"].astype(float) + df["e2e_ms"].fillna(0) / 1000,
            "fatal": df["platform_status"].eq("timeout") | df["error_type"].isin(FATAL),
            "class": df["class"],
        },
        index=df.index,
    ).sort_values("start_time", kind="stable")
    envs = _environments(frame)
    warm_times = frame.loc[frame["class"] == "warm", "start_time"]
    first_warm = float(warm_times.min()) if len(warm_times) else np.inf
    used: set[str] = set()  # gone environments already explaining a cold start
    retired = [_Queue(_retired_by(envs, r)) for r in recycles]
    crashed, idle = _Gone(envs, fatal=True), _Gone(envs, fatal=False)
    rows = frame[frame["class"].isin(["cold", "proactive"])]
    for index, cls, t, own in zip(
        rows.index, rows["class"], rows["start_time"], rows["env"], strict=True
    ):
        if cls == "proactive":
            causes[index] = "proactive"
            continue
        causes[index] = _cause(t, own, envs, recycles, retired, crashed, idle, used, first_warm)
    return causes


class _Queue:
    """Environments in a fixed order, each handed out once (skipping those already used)."""

    def __init__(self, keys: list[str]):
        self.keys, self.next = keys, 0

    def take(self, used: set[str]) -> str | None:
        while self.next < len(self.keys) and self.keys[self.next] in used:
            self.next += 1
        if self.next == len(self.keys):
            return None
        key = self.keys[self.next]
        used.add(key)
        return key


class _Gone:
    """Environments that served and are gone by a time, ``fatal`` ones (last invocation
    crashed or timed out: gone when it ended) or the others (gone once idle past their
    last request), handed out in the order they were first seen, each once. Cold
    starts come in time order, so each environment enters once: linear in the run."""

    def __init__(self, envs: dict[str, _Env], fatal: bool):
        self.fatal = fatal
        self.ending = sorted(
            (e.last_end, order, key)
            for order, (key, e) in enumerate(envs.items())
            if e.fatal_end == fatal
        )
        self.entered = 0
        self.ready: list[tuple[int, str]] = []  # (first-seen order, key), a heap

    def take(self, t: float, own: str, used: set[str]) -> str | None:
        while self.entered < len(self.ending):
            end, order, key = self.ending[self.entered]
            if end > t or (end == t and not self.fatal):  # idle: gone strictly before t
                break
            heapq.heappush(self.ready, (order, key))
            self.entered += 1
        held = []
        found = None
        while self.ready:
            order, key = heapq.heappop(self.ready)
            if key in used:
                continue  # explained an earlier cold start: gone for good
            if key == own:
                held.append((order, key))
                continue
            found = key
            break
        for item in held:
            heapq.heappush(self.ready, item)
        if found is not None:
            used.add(found)
        return found


def _retired_by(envs: dict[str, _Env], recycle: tuple[float, float]) -> list[str]:
    began = recycle[0]
    return [k for k, e in envs.items() if e.first < began and float(e.starts[-1]) < began]


def _cause(t, own, envs, recycles, retired, crashed, idle, used, first_warm: float) -> str:
    for (began, _), gone in zip(recycles, retired, strict=True):
        if began <= t and gone.take(used) is not None:
            return "recycle"
    if crashed.take(t, own, used) is not None:
        return "after_error"
    if idle.take(t, own, used) is not None:
        return "idle_eviction"
    if t < first_warm:
        return "first"
    alive = (e for k, e in envs.items() if k != own and e.first < t < e.last_end)
    return "unexplained" if any(not e.busy_at(t) for e in alive) else "scale_out"


def counts(causes: pd.Series) -> dict[str, int]:
    found = causes.dropna().value_counts()
    return {cause: int(found[cause]) for cause in CAUSES if cause in found}
