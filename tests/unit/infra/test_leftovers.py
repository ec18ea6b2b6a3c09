"""A SIGKILLed local Lambda's work directory and cgroups are removed by the next one."""

from __future__ import annotations

import os
import subprocess

from coldbench.infra.local import leftovers


def dead_token() -> str:
    """The token of a process that has ended."""
    proc = subprocess.Popen(["sleep", "0"])
    token = leftovers.process_token(proc.pid)
    proc.wait()
    return token


def test_leftovers_of_dead_local_lambdas_go_and_live_ones_stay(tmp_path):
    work, groups = tmp_path / "work", tmp_path / "cgroup"
    dead = work / "coldbench-local-dead"
    mine = work / "coldbench-local-mine"
    for folder in (dead, mine):
        (folder / "code").mkdir(parents=True)
    (dead / "owner").write_text(dead_token())
    leftovers.claim(mine)
    old = work / "coldbench-local-unclaimed"
    old.mkdir()
    os.utime(old, (0, 0))  # from an earlier version, long ago
    stale_group = groups / f"coldbench-{dead_token()}-abcd1234"
    (stale_group / "env1").mkdir(parents=True)
    live_group = groups / f"coldbench-{leftovers.process_token()}-abcd1234"
    live_group.mkdir()

    removed = leftovers.reap(work, (groups,))

    assert not dead.exists() and not old.exists() and not stale_group.exists()
    assert mine.exists() and live_group.exists()
    assert set(removed) == {dead, old, stale_group}


def test_listening_beyond_loopback_is_said_and_a_public_url_loudly(caplog):
    from coldbench.infra.local.stack import warn_if_exposed

    warn_if_exposed("127.0.0.1", "NONE")
    assert not caplog.records
    warn_if_exposed("0.0.0.0", "NONE")
    warn_if_exposed("0.0.0.0", "AWS_IAM")
    first, second = (r.getMessage() for r in caplog.records)
    assert "0.0.0.0" in first and "anyone who reaches it can invoke" in first
    assert "still need a signature" in second
