"""``coldbench sweep``: the same load over a matrix of configurations, then a comparison.

Locally each configuration gets a fresh local Lambda (so every cell starts cold, and,
with CPU scaling, memory changes speed as on Lambda). On AWS, ``up`` reconfigures the
function per cell; a configuration change retires every environment, so each cell
starts cold there too (a different variant is a different function). An existing
function (``target.kind = "existing"``, with ``--allow-changes``) is swept over memory
sizes only, its own code, architecture and concurrency staying as they are; its
configuration is put back as found at the end.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import time
from collections.abc import Callable, Iterator

from coldbench.errors import PipelineError
from coldbench.pipeline import cost_guard, existing_changes, run_once
from coldbench.record.config import Config, replace
from coldbench.record.progress import Progress


def cells(config: Config) -> list[dict]:
    s = config.sweep
    if config.target.kind == "existing":
        return [{"memory_mb": m} for m in s.memory_mb]
    return [
        {"variant": v, "memory_mb": m, "architecture": a, "provisioned_concurrency": p}
        for v, m, a, p in itertools.product(s.variants, s.memory_mb, s.architectures, s.provisioned)
    ]


def profiled_cells(config: Config, matrix: list[dict]) -> list[dict]:
    """``sweep.profile_init``: one more run per variant (its first cell's configuration)
    with init profiled; never for an existing function (profiling means new code)."""
    if not config.sweep.profile_init or config.target.kind == "existing":
        return []
    first: dict[str, dict] = {}
    for cell in matrix:
        first.setdefault(cell["variant"], cell)
    return [{**cell, "profile_init": True} for cell in first.values()]


def _check_existing(config: Config, allow_changes: bool) -> None:
    if not allow_changes:
        raise PipelineError(
            "a sweep changes an existing function's memory size for every cell: pass "
            "--allow-changes (its configuration is put back as found afterwards)"
        )
    s = config.sweep
    if len(s.architectures) > 1 or any(s.provisioned):
        raise PipelineError(
            "an existing function is swept over sweep.memory_mb only: its code, "
            "architecture and provisioned concurrency are not changed (set "
            "sweep.architectures to one value and sweep.provisioned = [0])"
        )


@contextlib.contextmanager
def _applying(config: Config) -> Iterator[Callable[[dict], None]]:
    """What puts a cell's configuration in place: nothing for coldbench's own targets
    (each run's ``up`` does it), a restorable change for an existing function."""
    if config.target.kind != "existing":
        yield lambda function: None
        return
    with existing_changes(config) as apply:
        yield lambda function: apply({"MemorySize": function["memory_mb"]})


def sweep(
    config: Config, run_once: Callable, confirmed: bool = False, allow_changes: bool = False
) -> int:
    from coldbench.analysis.compare import compare

    if config.target.kind == "existing":
        _check_existing(config, allow_changes)
    matrix = cells(config)
    if config.target.on_aws and not confirmed and len(matrix) > 1:
        raise PipelineError(f"an AWS sweep runs {len(matrix)} load tests: pass --yes to go ahead")
    sweep_config = config.sweep
    load = {
        "shape": sweep_config.shape,
        "cold_samples": sweep_config.cold_samples,
        "cycles": sweep_config.cycles,
        "hold_s": sweep_config.hold_s,
    }
    everything = matrix + profiled_cells(config, matrix)
    planned = [replace(config, function=function, load=load) for function in everything]
    cost_guard(planned, confirmed, f"sweep of {len(everything)} run(s)")
    with _applying(config) as apply:
        summaries = _runs(config, matrix, load, run_once, apply, confirmed, allow_changes)
        extra = profiled_cells(config, matrix)
        if extra:
            summaries += _runs(config, extra, load, run_once, apply, confirmed, allow_changes)
    page = compare(summaries)
    rec = _recommendation(page)
    print(
        "cheapest configuration meeting the SLOs: "
        f"{rec['cheapest_meeting_slos'] or 'no clear choice'} ({rec['cheapest_why']})"
    )
    for key, what in (("lowest_warm_p99", "warm p99"), ("lowest_cold_p99", "cold p99")):
        judged = rec[key]
        print(f"lowest {what}: {judged['winner'] or 'no clear winner'} ({judged['why']})")
    print(f"comparison: {page.resolve()}")
    return 0


def _runs(
    config: Config,
    matrix: list[dict],
    load: dict,
    run_once: Callable,
    apply: Callable[[dict], None],
    confirmed: bool,
    allow_changes: bool,
) -> list:
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
        apply(function)
        cell = replace(config, function=function, load=load)
        summary, page, _ = run_once(cell, confirmed, allow_changes)
        summaries.append(summary)
        print(f"sweep: {_describe(function)} -> {page}", file=sys.stderr)
    return summaries


def cmd_sweep(config: Config, args) -> int:
    return sweep(
        config,
        run_once,
        confirmed=getattr(args, "yes", False),
        allow_changes=getattr(args, "allow_changes", False),
    )


def _describe(function: dict) -> str:
    text = f"{function.get('variant', 'existing')} {function['memory_mb']} MB"
    text += f" {function['architecture']}" if "architecture" in function else ""
    pc = function.get("provisioned_concurrency")
    text += f" PC {pc}" if pc else ""
    return text + (" (init profiled)" if function.get("profile_init") else "")


def _recommendation(page) -> dict:
    import json

    return json.loads((page.parent / "compare.json").read_text())["recommendation"]
