"""Load shapes as data: a table of stages, and one LoadTestShape that plays any table.

A stage is (duration, users, spawn rate, phase). The table is built from the shape's
parameters by a pure function, so it can be tested without Locust, and the phase of
any moment is known from the table alone (the recorder tags each request with it).

Shapes:

- ``ramp-idle`` (default): ramp to N users at rate R, hold, drop to zero for an idle gap
  longer than the keep-alive so the next ramp meets cold environments; K cycles.
- ``burst``: zero to N users at once (N simultaneous cold starts), hold, idle; K cycles.
- ``steps``: add ``step_users`` every ``step_s`` up to N users.
- ``constant``: N users for ``run_time_s``.
- ``idle-gaps``: each user warms an environment, then sends one request after each
  idle gap of ``gaps_s`` (every gap ``gap_repeats`` times, in a random order): the
  keep-alive curve, P(cold | idle gap).
- ``cold-sampler``: rounds of recycle (every environment retired), then a burst of N
  users at once (N new environments: one cold start each) followed by a few warm
  requests, until ``cold_samples`` cold starts are recorded. The rounds are decided as
  the run goes (the locustfile counts cold starts); the table is the plan, for progress
  and the cost guard, and tags every request ``sampler``.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

from coldbench.record.config import Config, LoadConfig

_DEFAULT_IDLE_S = Config().idle_gap_s()  # the default [load] gap, resolved


@dataclass(frozen=True)
class Stage:
    duration_s: float
    users: int
    spawn_rate: float
    phase: str


@dataclass(frozen=True)
class ShapeParams:
    """A shape's parameters; the defaults are ``[load]``'s own, the gap as resolved."""

    shape: str = LoadConfig.shape
    users: int = LoadConfig.users
    spawn_rate: float = LoadConfig.spawn_rate
    hold_s: float = LoadConfig.hold_s
    idle_s: float = _DEFAULT_IDLE_S
    cycles: int = LoadConfig.cycles
    step_users: int = LoadConfig.step_users
    step_s: float = LoadConfig.step_s
    run_time_s: float = LoadConfig.run_time_s
    cold_samples: int = LoadConfig.cold_samples
    cold_ci_target: float = LoadConfig.cold_ci_target
    gaps_s: tuple[float, ...] = LoadConfig.gaps_s
    gap_repeats: int = LoadConfig.gap_repeats

    @classmethod
    def of(cls, config: Config) -> ShapeParams:
        """The shape ``config`` describes (its idle gap resolved for the target)."""
        load = config.load
        return cls(
            shape=load.shape,
            users=load.users,
            spawn_rate=load.spawn_rate,
            hold_s=load.hold_s,
            idle_s=config.idle_gap_s(),
            cycles=load.cycles,
            step_users=load.step_users,
            step_s=load.step_s,
            run_time_s=load.run_time_s,
            cold_samples=load.cold_samples,
            cold_ci_target=load.cold_ci_target,
            gaps_s=load.gaps_s,
            gap_repeats=load.gap_repeats,
        )


def build_table(p: ShapeParams) -> list[Stage]:
    """The stages of a shape, in order."""
    if p.shape in ("ramp-idle", "burst"):
        burst = p.shape == "burst"
        rate = float(p.users) if burst else p.spawn_rate
        ramp_s = 0.0 if burst else p.users / p.spawn_rate
        stages: list[Stage] = []
        for cycle in range(1, p.cycles + 1):
            if ramp_s > 0:
                stages.append(Stage(ramp_s, p.users, rate, f"c{cycle}-ramp"))
            stages.append(Stage(p.hold_s, p.users, rate, f"c{cycle}-hold"))
            if cycle < p.cycles:
                stages.append(Stage(p.idle_s, 0, max(rate, 100.0), f"c{cycle}-idle"))
        return stages
    if p.shape == "steps":
        count = max(1, math.ceil(p.users / p.step_users))
        return [
            Stage(p.step_s, min(p.users, p.step_users * i), p.spawn_rate, f"step{i}")
            for i in range(1, count + 1)
        ]
    if p.shape == "constant":
        return [Stage(p.run_time_s, p.users, p.spawn_rate, "constant")]
    if p.shape == "idle-gaps":
        return [Stage(idle_gaps_seconds(p), p.users, p.spawn_rate, "idle-gaps")]
    if p.shape == "cold-sampler":
        rounds = sampler_rounds(p)
        one = [
            Stage(SAMPLER_RECYCLE_S, 0, float(p.users), "sampler"),
            Stage(SAMPLER_BURST_S, p.users, float(p.users), "sampler"),
        ]
        return one * rounds
    raise ValueError(f"unknown shape {p.shape!r}")


SAMPLER_RECYCLE_S = 2.0  # planned per recycle (on AWS it takes as long as the update)
SAMPLER_BURST_S = 2.5  # each burst: every user's first request (cold), then warm ones


GAP_SLACK_S = 0.5  # per request of an idle-gaps schedule: its own time, a cold start


def idle_gaps_seconds(p: ShapeParams) -> float:
    """How long an idle-gaps run lasts: every user's whole schedule (each gap
    ``gap_repeats`` times), the ramp, and slack for each request."""
    requests = len(p.gaps_s) * p.gap_repeats + 1
    return p.users / p.spawn_rate + sum(p.gaps_s) * p.gap_repeats + requests * GAP_SLACK_S + 5


def sampler_rounds(p: ShapeParams) -> int:
    """Rounds the cold sampler plans: each burst of N users gives N cold starts."""
    return max(1, math.ceil(p.cold_samples / p.users))


def total_seconds(table: list[Stage]) -> float:
    return sum(stage.duration_s for stage in table)


def planned_seconds(config: Config) -> float:
    """How long the configured load runs: the progress bar's and the cost guard's length."""
    return total_seconds(build_table(ShapeParams.of(config)))


def stage_at(table: list[Stage], elapsed_s: float) -> Stage | None:
    """The stage running ``elapsed_s`` after the start; None once the table is done."""
    if elapsed_s < 0:
        return None
    for stage in table:
        if elapsed_s < stage.duration_s:
            return stage
        elapsed_s -= stage.duration_s
    return None


def phase_at(table: list[Stage], elapsed_s: float) -> str:
    """The phase of a moment; requests still finishing after the end are ``tail``."""
    stage = stage_at(table, elapsed_s)
    if stage is not None:
        return stage.phase
    return "tail" if elapsed_s >= 0 else "before"


def phase_clock(table: list[Stage], start_epoch_s: float) -> Callable[[float], str]:
    """:func:`phase_at` for epoch times, by bisection over the stage ends (it runs for
    every recorded request)."""
    ends = list(itertools.accumulate(stage.duration_s for stage in table))
    phases = [stage.phase for stage in table]

    def phase_of(epoch_s: float) -> str:
        elapsed_s = epoch_s - start_epoch_s
        if elapsed_s < 0:
            return "before"
        index = bisect.bisect_right(ends, elapsed_s)
        return phases[index] if index < len(phases) else "tail"

    return phase_of
