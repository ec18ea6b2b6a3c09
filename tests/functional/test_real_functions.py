"""Realistic functions against the local Lambda, compared with what really happened."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from coldbench.analysis.cloudwatch import logs_client
from tests.functional.test_local_lambda import get, reports, wait_idle


def events(stack) -> list[str]:
    logs = logs_client(stack.target)
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=stack.log_group)
    return [e["message"] for page in pages for e in page["events"]]


def test_a_logged_traceback_is_one_event_and_the_next_line_its_own(local_stack):
    """Read from a pipe, the traceback's last line was glued to the next invocation's
    first line; Lambda gives the runtime a framed channel where a record is one frame."""
    with local_stack(function={"log_format": "Text"}) as stack:
        ids = [get(stack, "/?mode=logexc&tag=first").headers["x-amzn-RequestId"]]
        wait_idle(stack)
        ids.append(get(stack, "/?mode=printline&tag=next").headers["x-amzn-RequestId"])
        reports(stack, 2)
        time.sleep(1.0)
        messages = events(stack)
        (traceback,) = [m for m in messages if "Traceback" in m]
        assert "handled first" in traceback and traceback.rstrip().endswith(
            "ValueError: logged on purpose"
        ), "the whole record, newlines and all, is one event"
        assert "line next" in messages, "print output stays its own line"
        assert not any("line next" in m and "Traceback" in m for m in messages)


def test_each_environment_starts_with_its_own_empty_tmp(local_stack):
    """A download cached in /tmp at init was found by later environments and runs:
    cold starts looked 13x shorter than they are."""
    for _ in range(2):  # a second local Lambda (a second run) sees nothing either
        with local_stack() as stack:
            with ThreadPoolExecutor(3) as pool:
                seen = list(pool.map(lambda _: get(stack, "/?mode=tmp&s=0.3").json(), range(3)))
            assert all(s["seen"] == [] for s in seen), seen
            wait_idle(stack)
            assert len(get(stack, "/?mode=tmp").json()["seen"]) == 1, "its own file stays"
            isolation = stack.target.function.tmp_isolation
            assert isolation == ("private tmpfs" if stack.pool.spec.private_tmp else "TMPDIR only")
