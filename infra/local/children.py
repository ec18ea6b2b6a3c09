"""How asyncio learns that an environment's process ended: through a pidfd, as 3.12+ does.

Python 3.11's default child watcher starts a thread per child, and starting it blocks
the event loop on every cold start, time that every request in flight during a burst of
cold starts waits out. 3.11's own ``PidfdChildWatcher`` is bound to one loop, and tests
run several local Lambdas, each on its own loop, so this is 3.12's loop-agnostic
watcher: each child is watched on the loop that started it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

log = logging.getLogger(__name__)


if sys.version_info < (3, 12):  # the class asyncio deprecates from 3.12 on

    class _PidfdWatcher(asyncio.AbstractChildWatcher):
        def __enter__(self):
            return self

        def __exit__(self, *exc_info) -> None:
            pass

        def is_active(self) -> bool:
            return True

        def close(self) -> None:
            pass

        def attach_loop(self, loop) -> None:
            pass

        def add_child_handler(self, pid, callback, *args) -> None:  # type: ignore[override]
            loop = asyncio.get_running_loop()
            pidfd = os.pidfd_open(pid)
            loop._add_reader(pidfd, self._reap, loop, pid, pidfd, callback, args)  # type: ignore[attr-defined]

        def _reap(self, loop, pid, pidfd, callback, args) -> None:
            loop._remove_reader(pidfd)
            try:
                _, status = os.waitpid(pid, 0)
                returncode = os.waitstatus_to_exitcode(status)
            except ChildProcessError:  # reaped elsewhere
                log.warning("exit status of child %d already read; reporting 255", pid)
                returncode = 255
            os.close(pidfd)
            callback(pid, returncode, *args)

        def remove_child_handler(self, pid) -> bool:
            return True  # asyncio never calls it


def watch_children_with_pidfd() -> None:
    """Install the pidfd watcher on Python 3.11 (3.12+ uses pidfds on its own).

    Without pidfds (Linux < 5.3, a seccomp policy) asyncio's default watcher stays.
    """
    if sys.version_info >= (3, 12):
        return
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return
    if not isinstance(asyncio.get_child_watcher(), _PidfdWatcher):
        asyncio.set_child_watcher(_PidfdWatcher())
