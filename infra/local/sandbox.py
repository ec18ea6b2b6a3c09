"""An environment is everything its runtime started: found, measured, and ended together.

On Lambda, ending a sandbox ends every process in it, and a child's memory counts
against the function's. Locally an environment's processes are its runtime's process
group, the processes that carry its marker variable (a child that left the group with
``setsid`` or a double fork still has it), and, with CPU scaling, its cgroup. Its end is
the runtime process's exit, seen through a pidfd: not the closing of pipes a child
may hold open for as long as it likes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

MARKER = "_COLDBENCH_ENVIRONMENT"  # set in each environment; its children inherit it


def signal_group(pid: int, sig: int) -> None:
    """Signal the environment's process group (its runtime was started as the leader)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def kill_stragglers(env_id: str, procs_file: Path | None) -> int:
    """SIGKILL whatever of the environment outlived its group: processes in its cgroup,
    and those carrying its marker. Returns how many were found."""
    pids: set[int] = set()
    if procs_file is not None:
        with contextlib.suppress(OSError):
            pids |= {int(p) for p in procs_file.read_text().split()}
    needle = f"{MARKER}={env_id}\0".encode()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as f:
                    if needle in f.read():
                        pids.add(int(entry.name))
            except OSError:
                continue
    pids.discard(os.getpid())
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def children_of(pid: int) -> list[int]:
    """Every descendant still under ``pid`` (the kernel's per-task children lists)."""
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        try:
            with open(f"/proc/{parent}/task/{parent}/children", "rb") as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            continue
        found += kids
        queue += kids
    return found


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, ValueError, IndexError):
        return 0


def exited(pid: int) -> asyncio.Future:
    """A future done when process ``pid`` exits (a pidfd readable), whatever pipes its
    children still hold open."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        done.set_result(None)
        return done

    def ready() -> None:
        loop.remove_reader(fd)
        os.close(fd)
        if not done.done():
            done.set_result(None)

    loop.add_reader(fd, ready)
    return done
