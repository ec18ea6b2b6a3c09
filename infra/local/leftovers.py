"""What a local Lambda killed without a chance to clean up leaves, found and removed.

Each local Lambda names its work directory's ``owner`` file and its cgroups after its
process (pid and start time, so a reused pid is not taken for it). The next one to
start removes what belongs to processes that no longer run.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

log = logging.getLogger(__name__)
UNCLAIMED_S = 3600.0  # a work directory without an owner file this old is a leftover
CGROUP_ROOTS = (Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup"))


def process_token(pid: int | None = None) -> str:
    """``<pid>-<start time in clock ticks since boot>``: names one process for good."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}-{_start_time(pid)}"


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def alive(token: str) -> bool:
    pid, _, started = token.partition("-")
    return pid.isdigit() and bool(started) and _start_time(int(pid)) == started.split("-")[0]


def claim(work_dir: Path) -> None:
    (work_dir / "owner").write_text(process_token())


def reap(work_root: Path, cgroup_roots: tuple[Path, ...] = CGROUP_ROOTS) -> list[Path]:
    """Remove work directories and cgroups of local Lambdas that no longer run."""
    removed = []
    for work_dir in work_root.glob("coldbench-local*"):
        owner = work_dir / "owner"
        try:
            token = owner.read_text().strip()
        except OSError:  # being created this instant, or left by an earlier version
            token = "" if _older_than(work_dir, UNCLAIMED_S) else process_token()
        if not alive(token):
            shutil.rmtree(work_dir, ignore_errors=True)
            removed.append(work_dir)
    for root in cgroup_roots:
        for group in root.glob("coldbench-*"):
            token = group.name.removeprefix("coldbench-")
            legacy = "-" not in token  # named by an earlier version: removed once empty
            if group.is_dir() and (legacy or not alive(token)):
                for child in group.iterdir():
                    if child.is_dir():
                        _rmdir(child)
                if _rmdir(group):
                    removed.append(group)
    if removed:
        log.info("removed %d leftovers of local Lambdas that were killed", len(removed))
    return removed


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


def _rmdir(path: Path) -> bool:
    try:
        path.rmdir()
    except OSError:
        return False
    return True
