"""What the local Lambda benchmarks share: the configuration they run it with, CPU time
read from /proc, and a value sampled each second."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from coldbench.record.config import Config, build_config


def full_speed_config() -> Config:
    """The probe at full CPU (the baselines run at full CPU too), no concurrency cap, no
    signature to check, environments kept for the whole run."""
    return build_config(
        {
            "url": {"auth": "NONE"},
            "local": {
                "cpu_scaling": "off",
                "keep_alive_min_s": 600,
                "keep_alive_max_s": 600,
                "max_environments": 64,
            },
            "function": {"reserved_concurrency": 0},
        }
    )


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU of a process (all its threads, live and ended) or of one of its
    threads, from /proc; 0 once it is gone."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def sampled_each_second(read: Callable[[], int]) -> Iterator[list[int]]:
    """The values ``read`` returns once a second, on a thread of its own, for the
    ``with`` block (a telemetry backlog, say)."""
    values: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            values.append(read())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield values
    finally:
        done.set()
        thread.join()
