"""Ending an environment ends everything its function started, as ending a Lambda
sandbox does; a child's memory counts against the function's memory size."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from coldbench.infra.recycle import recycle
from tests.functional.test_local_lambda import get, reports, wait_idle


def running_sleeps(tag: str) -> list[int]:
    """PIDs of live ``sleep <tag>`` processes (zombies are gone already)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if cmdline[:2] == [b"sleep", tag.encode()] and state != "Z":
            found.append(int(entry.name))
    return found


def gone(tag: str, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while running_sleeps(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not running_sleeps(tag)


def new_tag() -> str:
    return f"{600 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"


@pytest.mark.parametrize("detach", ["0", "1"], ids=["child", "setsid-child"])
def test_children_end_with_their_environment(local_stack, detach):
    """A child (even one in its own session) once outlived its environment for good,
    and the pool never forgot the environment, its listener or cgroup."""
    with local_stack() as stack:
        tag = new_tag()
        assert get(stack, f"/?mode=spawn&tag={tag}&detach={detach}").status_code == 200
        assert running_sleeps(tag), "the child runs while its environment lives"
        wait_idle(stack)
        recycle(stack.target)
        assert gone(tag), "the child outlived its environment"
        deadline = time.monotonic() + 10
        while stack.pool.status()["environments"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stack.pool.status()["environments"] == 0, "the environment was forgotten"


def test_a_runtime_that_exits_is_an_exit_error_at_once_though_a_child_holds_its_pipes(
    local_stack,
):
    """Popen then os._exit(1) was reported only at the timeout, as Sandbox.Timedout."""
    with local_stack(function={"timeout_s": 10}) as stack:
        tag = new_tag()
        started = time.monotonic()
        failed = get(stack, f"/?mode=spawn&tag={tag}&then=exit")
        assert failed.status_code == 502
        assert time.monotonic() - started < 5, "not at the 10 s timeout"
        record = reports(stack, 1)[failed.headers["x-amzn-RequestId"]]
        assert record["error_type"] == "Runtime.ExitError"
        assert gone(tag)


def test_a_childs_memory_counts_against_the_memory_size(local_stack):
    """A child with 185 MB resident under a 128 MB function was not stopped."""
    with local_stack(function={"memory_mb": 128, "timeout_s": 20}) as stack:
        started = time.monotonic()
        answer = get(stack, "/?mode=childhog&mb=185")
        assert answer.status_code == 502
        assert time.monotonic() - started < 15, "stopped, not left to the child's own end"
        record = reports(stack, 1)[answer.headers["x-amzn-RequestId"]]
        assert record["error_type"] == "Runtime.OutOfMemory"
        assert record["max_memory_used_mb"] > 128
