"""Merging a configuration's blocks into one run: every row kept, each request labelled
with its block, block boundaries recorded as recycles, collection totals added up."""

from __future__ import annotations

import dataclasses

import duckdb
import pytest

from coldbench.analysis import blocks
from coldbench.analysis.errors import NoDataError
from coldbench.analysis.summary import analyse
from coldbench.analysis.synthetic import generate
from coldbench.record.config import build_config
from coldbench.record.rundir import Block, Collection, RunRecord

EPOCH = 1_800_000_000.0


def _block(tmp_path, name: str, start: float, requests: int):
    run_dir = generate(tmp_path / "runs" / name, requests, seconds=10, env_every=25, start=start)
    record = RunRecord.read(run_dir)
    collection = Collection(records=requests, expected=requests, complete=True, collected_ms=5)
    dataclasses.replace(record, collection=collection, started_ms=int(start * 1000)).write()
    return run_dir


def test_blocks_merge_into_one_run_that_knows_them(tmp_path):
    # given out of time order: the merge orders them by when they ran
    dirs = [
        _block(tmp_path, "c", EPOCH + 40, 120),
        _block(tmp_path, "a", EPOCH, 100),
        _block(tmp_path, "b", EPOCH + 20, 80),
    ]
    merged = blocks.merge(dirs, [5, 0, 2], "interleaved", root=tmp_path / "runs")
    assert [b.position for b in merged.blocks] == [0, 2, 5]
    assert merged.order == "interleaved" and merged.rows == 300 and merged.completed
    assert merged.collection is not None and merged.collection.records == 300
    assert merged.collection.complete
    # the boundaries between blocks: the other configurations ran there
    assert merged.recycles == ((EPOCH + 10, EPOCH + 20), (EPOCH + 30, EPOCH + 40))
    assert len(list(merged.run_dir.glob("requests*.csv"))) == 3

    result = analyse(merged.run_dir, build_config({}), reports_root=tmp_path / "reports")
    assert result.summary.requests == 300 and result.summary.matched == 300
    assert result.summary.blocks == 3 and result.summary.order == "interleaved"
    assert result.joined.groupby("block").size().to_dict() == {0: 100, 2: 80, 5: 120}
    # a block's first cold start follows another configuration's turn: a recycle
    causes = result.joined[result.joined["class"] == "cold"]
    later = causes[causes["block"] != 0].groupby("block")["cold_cause"].first()
    assert set(later) == {"recycle"}
    assert RunRecord.read(merged.run_dir).blocks == merged.blocks


def test_a_block_that_recorded_nothing_is_refused(tmp_path):
    good = _block(tmp_path, "a", EPOCH, 50)
    empty = _block(tmp_path, "b", EPOCH + 20, 50)
    (empty / "requests.csv").unlink()
    with pytest.raises(NoDataError, match=r"no requests\.csv"):
        blocks.merge([good, empty], [0, 1], "interleaved", root=tmp_path / "out")


def test_a_request_belongs_to_the_last_block_started_when_it_was_sent():
    """Labels are SQL over the joined rows: a request sent at a block's very start (to
    the last bit of its float) is that block's; one sent before any block, the first's."""
    starts = (EPOCH + 0.1234567, EPOCH + 20.000001)
    given = [Block("b", 1, starts[1], starts[1] + 9, 2), Block("a", 4, starts[0], EPOCH + 9, 1)]
    times = [EPOCH - 1, starts[0], starts[1] - 1e-6, starts[1], EPOCH + 99]
    values = ", ".join(f"({t!r}::DOUBLE)" for t in times)
    found = duckdb.execute(
        f"SELECT {', '.join(blocks.label_sql(given))} FROM (VALUES {values}) v(start_time)"
    ).fetchall()
    assert found == [(4, 1), (4, 1), (4, 1), (1, 2), (1, 2)]
    assert blocks.label_sql([]) == ()
