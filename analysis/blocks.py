"""A configuration measured in blocks: merge its blocks' runs into one run, and say which
block each request belongs to.

An interleaved comparison (``sweep.order = "interleaved"``, ``coldbench compare-live``)
measures each configuration in short blocks, run in an order that interleaves them
(A B B A …), so that drift over time lands on every configuration alike. Each block is
an ordinary run directory; once all have run, each configuration's blocks are merged
into one run directory: every block's request files side by side, its platform records,
init records, profiles and metrics appended, and a ``run.json`` listing the blocks
(:class:`~coldbench.record.rundir.Block`). The merged run is analysed like any other;
its intervals resample whole blocks (:mod:`confidence`).

The start of every block but the first is recorded as a recycle: between two blocks
of a configuration, the others ran (locally on their own local Lambdas, on AWS after a
configuration change), so the environments of the earlier block are gone for a reason
that is not idleness.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path

import pandas as pd

from coldbench.analysis.errors import NoDataError
from coldbench.record.rundir import Block, Collection, RunRecord, create_run_dir

_APPENDED = ("platform.jsonl", "init.jsonl", "init_profile.jsonl")


def merge(
    block_dirs: Sequence[Path],
    positions: Sequence[int],
    order: str,
    root: Path,
    rounds: Sequence[int] | None = None,
    plan: str = "",
) -> RunRecord:
    """One run directory under ``root`` holding every block of one configuration.

    ``positions`` gives each block's place in the whole comparison's order, ``rounds``
    its round (by default its position), ``plan`` names the comparison.

    Raises:
        NoDataError: no blocks, or a block without recorded requests.
    """
    if not block_dirs:
        raise NoDataError("a configuration with no blocks cannot be merged")
    records = sorted(
        (RunRecord.read(d) for d in block_dirs), key=lambda r: r.started_ms
    )  # time order, whatever order they were given in
    where = {d.name: p for d, p in zip(block_dirs, positions, strict=True)}
    round_of = dict(zip(where, rounds if rounds is not None else positions, strict=True))
    out = create_run_dir(root=root)
    for record in records:
        _copy_block(record, out, where[record.run_id])
    blocks = tuple(
        Block(
            record.run_id,
            where[record.run_id],
            record.started_ms / 1000,
            (record.ended_ms or record.started_ms) / 1000,
            round_of[record.run_id],
        )
        for record in records
    )
    recycles = [r for record in records for r in record.recycles]
    recycles += [(before.ended_s, after.started_s) for before, after in pairwise(blocks)]
    first = records[0]
    unfinished = [r.end_reason for r in records if not r.completed]
    merged = dataclasses.replace(
        first,
        run_dir=out,
        run_id=out.name,
        shape_table=(),  # each block played the shape; the merged run has no one table
        completed=not unfinished,
        ended_ms=max(r.ended_ms or r.started_ms for r in records),
        rows=sum(r.rows for r in records),
        end_reason=unfinished[0] if unfinished else first.end_reason,
        collection=_merged_collection([r.collection for r in records]),
        recycles=tuple(sorted(recycles)),
        order=order,
        blocks=blocks,
        plan=plan,
    )
    return merged.write()


def _copy_block(record: RunRecord, out: Path, position: int) -> None:
    requests = sorted(record.run_dir.glob("requests*.csv"))
    if not requests:
        raise NoDataError(f"block {record.run_dir} has no requests.csv")
    for path in requests:
        # requests.csv -> requests-b3.csv; requests-w1.csv -> requests-b3-w1.csv
        shutil.copyfile(path, out / f"requests-b{position}{path.name[len('requests') :]}")
    for name in _APPENDED:
        source = record.run_dir / name
        if source.exists():
            with (out / name).open("ab") as sink, source.open("rb") as f:
                shutil.copyfileobj(f, sink)
    metrics = record.run_dir / "metrics.csv"
    if metrics.exists() and metrics.stat().st_size:
        target = out / "metrics.csv"
        frame = pd.read_csv(metrics)
        frame.to_csv(target, mode="a", header=not target.exists(), index=False)


def _merged_collection(collections: Sequence[Collection | None]) -> Collection | None:
    found = [c for c in collections if c is not None]
    if not found:
        return None
    dropped: Counter[str] = Counter()
    for c in found:
        dropped.update(c.logs_dropped)
    return Collection(
        records=sum(c.records for c in found),
        expected=sum(c.expected for c in found),
        skipped_events=sum(c.skipped_events for c in found),
        logs_dropped=dict(dropped),
        other_records=sum(c.other_records for c in found),
        without_request=sum(c.without_request for c in found),
        metrics_invocations=sum(c.metrics_invocations for c in found),
        metrics_complete=all(c.metrics_complete for c in found),
        complete=len(found) == len(collections) and all(c.complete for c in found),
        error="; ".join(c.error for c in found if c.error),
        collected_ms=max(c.collected_ms for c in found),
    )


def label_sql(blocks: Sequence[Block]) -> tuple[str, ...]:
    """SQL giving each request row its ``block`` (the block's position in the
    comparison's order) and ``round``: those of the last block that had started when
    the request was sent (the first block for a request sent before any). Empty when
    the run has no blocks."""
    if not blocks:
        return ()
    ordered = sorted(blocks, key=lambda b: b.started_s)

    def case(value: Callable[[Block], int]) -> str:
        # latest block first; times as DOUBLE parsed from their exact repr
        whens = " ".join(
            f"WHEN start_time >= '{b.started_s!r}'::DOUBLE THEN {value(b)}"
            for b in reversed(ordered[1:])
        )
        return f"CASE {whens} ELSE {value(ordered[0])} END" if whens else str(value(ordered[0]))

    return (
        f"({case(lambda b: b.position)})::BIGINT AS block",
        f"({case(lambda b: b.round)})::BIGINT AS round",
    )
