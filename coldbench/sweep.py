"""``coldbench sweep``: the same load over a matrix of configurations, then a comparison.

Locally each configuration gets a fresh local Lambda (so every cell starts cold, and,
with CPU scaling, memory changes speed as on Lambda). On AWS, ``up`` reconfigures the
function per cell; a configuration change retires every environment, so each cell
starts cold there too (a different variant is a different function).
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable

from coldbench.errors import PipelineError
from coldbench.pipeline import cost_guard, run_once
from coldbench.record.config import Config, replace
from coldbench.record.progress import Progress


def cells(config: Config) -> list[dict]:
    s = config.sweep
    return [
        {"variant": v, "memory_mb": m, "architecture": a, "provisioned_concurrency": p}
        for v, m, a, p in itertools.product(s.variants, s.memory_mb, s.architectures, s.provisioned)
    ]


def sweep(config: Config, run_once: Callable, confirmed: bool = False) -> int:
    from coldbench.analysis.compare import compare

    if config.target.kind == "existing":
        raise PipelineError(
            "a sweep reconfigures the function for every cell: not for an existing function "
            "(measure it with `coldbench run`, or sweep coldbench's own copy with --target aws)"
        )
    matrix = cells(config)
    if config.target.kind == "aws" and not confirmed and len(matrix) > 1:
        raise PipelineError(f"an AWS sweep runs {len(matrix)} load tests: pass --yes to go ahead")
    load = {"cycles": config.sweep.cycles, "hold_s": config.sweep.hold_s}
    planned = [replace(config, function=function, load=load) for function in matrix]
    cost_guard(planned, confirmed, f"sweep of {len(matrix)} run(s)")
    summaries, started = [], time.monotonic()
    progress = Progress("sweep", len(matrix), "runs", width=20, every_s=0)
    for index, function in enumerate(matrix, 1):
        elapsed = time.monotonic() - started
        eta = (
            ""
            if index == 1
            else f", about {elapsed / (index - 1) * (len(matrix) - index + 1) / 60:.0f} min left"
        )
        progress.update(index - 1, f": next {_describe(function)}{eta}")
        progress.close()  # each run prints its own progress below this line
        summary, page, _ = run_once(replace(config, function=function, load=load), confirmed)
        summaries.append(summary)
        print(f"sweep: {_describe(function)} -> {page}", file=sys.stderr)
    page = compare(summaries)
    rec = _recommendation(page)
    print(f"cheapest configuration meeting the SLOs: {rec['cheapest_meeting_slos'] or 'none'}")
    for key, what in (("lowest_warm_p99", "warm p99"), ("lowest_cold_p99", "cold p99")):
        judged = rec[key]
        print(f"lowest {what}: {judged['winner'] or 'no clear winner'} ({judged['why']})")
    print(f"comparison: {page.resolve()}")
    return 0


def cmd_sweep(config: Config, args) -> int:
    return sweep(config, run_once, confirmed=getattr(args, "yes", False))


def _describe(function: dict) -> str:
    text = f"{function['variant']} {function['memory_mb']} MB {function['architecture']}"
    return text + (
        f" PC {function['provisioned_concurrency']}" if function["provisioned_concurrency"] else ""
    )


def _recommendation(page) -> dict:
    import json

    return json.loads((page.parent / "compare.json").read_text())["recommendation"]
