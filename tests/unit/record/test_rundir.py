"""run.json as a RunRecord: its life (open, close, collected), old files, idle windows."""

from __future__ import annotations

import json

import pytest

from coldbench.record.errors import RunDirError
from coldbench.record.rundir import Collection, RunRecord, create_run_dir
from coldbench.record.shapes import ShapeParams, build_table
from coldbench.record.target import FunctionSnapshot, Target

TARGET = Target(
    "local",
    "http://127.0.0.1:1/",
    "NONE",
    "us-east-1",
    "f",
    function=FunctionSnapshot(memory_mb=256),
)


def test_open_close_collected_each_leave_a_whole_record(tmp_path):
    run_dir = create_run_dir(root=tmp_path)
    table = build_table(
        ShapeParams("ramp-idle", users=2, spawn_rate=2, hold_s=3, idle_s=4, cycles=2)
    )
    opened = RunRecord.open(run_dir, TARGET, {"users": 2}, table, 1000.0)
    assert RunRecord.read(run_dir) == opened and not opened.completed
    closed = opened.close(rows=12, end_reason="shape-finished", ended_s=1010.0)
    assert closed.completed and closed.ended_ms == 1_010_000
    done = closed.collected(Collection(records=12, expected=12, complete=True))
    again = RunRecord.read(run_dir)
    assert again == done and again.target.function.memory_mb == 256
    assert json.loads((run_dir / "run.json").read_text())["versions"]["coldbench"]
    assert opened.close(rows=3, end_reason="stopped").completed is False


def test_idle_windows_are_the_gaps_that_really_ran(tmp_path):
    table = build_table(
        ShapeParams("ramp-idle", users=2, spawn_rate=2, hold_s=3, idle_s=4, cycles=3)
    )
    record = RunRecord(tmp_path, "r", 0, TARGET, shape_table=tuple(table))
    assert record.idle_windows() == [(4.0, 4.0), (12.0, 4.0)]  # ramp 1 s + hold 3 s
    stopped = RunRecord(tmp_path, "r", 0, TARGET, shape_table=tuple(table), ended_ms=6_000)
    assert stopped.idle_windows() == [(4.0, 2.0)], "a gap cut short, a later one never ran"


def test_a_run_json_of_an_earlier_version_reads_with_defaults(tmp_path):
    (tmp_path / "run.json").write_text(
        json.dumps(
            {
                "run_id": "old",
                "started_ms": 5,
                "completed": True,
                "target": {
                    "kind": "aws",
                    "url": "https://x/",
                    "auth": "AWS_IAM",
                    "region": "eu-west-1",
                    "function_name": "f",
                    "function": {"memory_mb": 1024, "unknown_key": 1},
                },
            }
        )
    )
    record = RunRecord.read(tmp_path)
    assert record.completed and record.target.function.memory_mb == 1024
    assert record.collection is None and record.idle_windows() == []
    (tmp_path / "run.json").write_text("{}")
    with pytest.raises(RunDirError, match="started_ms"):
        RunRecord.read(tmp_path)
