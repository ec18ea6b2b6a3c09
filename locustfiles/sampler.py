"""The cold-start sampler's rounds: recycle, burst, check, repeat.

Waiting out keep-alives to see cold starts takes minutes locally and idle hours on AWS;
the sampler provokes them. Each round retires every environment (:func:`recycle`:
locally the pool's recycle, on AWS the configuration nonce, waiting for the update),
then starts ``users`` users at once: their first requests find no idle environment, so
each makes one cold start; the users keep sending warm requests for the rest of the
burst. Rounds go on until ``cold_samples`` cold starts are counted (from the probe's
headers, as the live table counts them) or, with ``cold_ci_target``, until the cold p50's
95% interval is within that share of it. No time is read here: :meth:`Sampler.tick`
is given the clock and what the runner reports, so it is tested without waiting.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from coldbench.record.shapes import SAMPLER_BURST_S, ShapeParams, sampler_rounds

MAX_ROUNDS_FACTOR = 3  # rounds beyond the plan before giving up (bursts that reuse)
BURST_TIMEOUT_S = 60.0  # the longest a burst waits for its users' first answers


def median_interval(values: Sequence[float]) -> tuple[float, float] | None:
    """A distribution-free 95% interval of the median (order statistics at the binomial
    bounds): enough to decide when to stop sampling."""
    n = len(values)
    if n < 6:
        return None
    data = np.sort(np.asarray(values, dtype=float))
    half = 1.96 * math.sqrt(n) / 2
    lo = max(math.floor(n / 2 - half) - 1, 0)
    hi = min(math.ceil(n / 2 + half), n - 1)
    return float(data[lo]), float(data[hi])


@dataclass
class Sampler:
    params: ShapeParams
    recycle: Callable[[], object]  # starts a recycle; returns what `done` is asked about
    done: Callable[[object], bool]
    say: Callable[[str], None] = lambda line: None
    state: str = "start"
    round: int = 0
    since: float = 0.0
    pending: object = None
    reason: str = ""
    cold_at_burst: int = 0

    @property
    def max_rounds(self) -> int:
        return sampler_rounds(self.params) * MAX_ROUNDS_FACTOR

    def tick(
        self, now: float, users_running: int, cold: Sequence[float]
    ) -> tuple[int, float] | None:
        """Users and spawn rate for now, or None when sampling is done."""
        users = self.params.users
        if self.state == "burst":
            if not self._burst_over(now - self.since, cold):
                return users, float(users)
            self.say(self._progress(cold))
            if self._finished(cold):
                self.state = "done"
                return None
            self.state = "start"
        if self.state == "start":
            if users_running:  # stop the burst's users before retiring their environments
                return 0, float(max(users, 1))
            self.pending, self.state = self.recycle(), "recycle"
        if self.state == "recycle":
            try:
                ready = self.done(self.pending)
            except Exception as exc:  # a recycle that failed ends the sampling, saying why
                self.state, self.reason = "done", f"recycle failed: {exc}"
                return None
            if not ready:
                return 0, float(max(users, 1))
            self.round += 1
            self.state, self.since, self.cold_at_burst = "burst", now, len(cold)
            return users, float(users)
        return None

    def _burst_over(self, elapsed: float, cold: Sequence[float]) -> bool:
        """A burst lasts :data:`SAMPLER_BURST_S`, and longer while its users' first (cold)
        answers are still coming: until each user's has arrived, or twice the slowest
        cold start seen so far (plus 2 s) has passed, at most :data:`BURST_TIMEOUT_S`."""
        if elapsed < SAMPLER_BURST_S:
            return False
        if len(cold) - self.cold_at_burst >= self.params.users:
            return True
        limit = 2 * max(cold) / 1000 + 2 if cold else BURST_TIMEOUT_S
        return elapsed >= min(max(limit, SAMPLER_BURST_S), BURST_TIMEOUT_S)

    def _finished(self, cold: Sequence[float]) -> bool:
        p = self.params
        if len(cold) >= p.cold_samples:
            self.reason = f"{len(cold)} cold starts (asked for {p.cold_samples})"
            return True
        if p.cold_ci_target > 0:
            found = median_interval(cold)
            median = float(np.median(cold)) if cold else 0.0
            if (
                found
                and median > 0
                and max(median - found[0], found[1] - median) <= (p.cold_ci_target * median)
            ):
                self.reason = (
                    f"cold p50 {median:.0f} ms known to ±{p.cold_ci_target:.0%} "
                    f"after {len(cold)} cold starts"
                )
                return True
        if self.round >= self.max_rounds:
            self.reason = (
                f"gave up after {self.round} rounds with {len(cold)} cold starts: the bursts "
                "are not making new environments (does the function answer with the "
                "probe's headers?)"
            )
            return True
        return False

    def _progress(self, cold: Sequence[float]) -> str:
        line = (
            f"cold-sampler: round {self.round}: {len(cold)}/{self.params.cold_samples} cold starts"
        )
        found = median_interval(cold)
        if found:
            line += f", p50 {float(np.median(cold)):.0f} ms [{found[0]:.0f}, {found[1]:.0f}]"
        return line
