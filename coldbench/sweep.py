"""``coldbench sweep``: the same load over a matrix of configurations, then a comparison.

Locally each configuration gets a fresh local Lambda (so every cell starts cold, and,
with CPU scaling, memory changes speed as on Lambda). On AWS, ``up`` reconfigures the
function per cell; a configuration change retires every environment, so each cell
starts cold there too (a different variant is a different function). An existing
function (``target.kind = "existing"``, with ``--allow-changes``) is swept over memory
sizes only, its own code, architecture and concurrency staying as they are; its
configuration is put back as found at the end.

Configurations are measured in interleaved blocks by default (:mod:`interleave`);
``coldbench compare-live A B …`` does the same for configurations named on the command
line, under ``[load]``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

from coldbench.errors import PipelineError
from coldbench.interleave import PIPELINE, Plan, Runner
from coldbench.pipeline import cost_guard
from coldbench.record.config import Config, replace
from coldbench.record.summary import Summary
from coldbench.targets import existing_changes


def cells(config: Config) -> list[dict]:
    s = config.sweep
    if config.target.kind == "existing":
        return [{"memory_mb": m} for m in s.memory_mb]
    return [
        {"variant": v, "memory_mb": m, "architecture": a, "provisioned_concurrency": p}
        # a built-in variant keeps its own handler when the sweep also has the user's
        | ({"handler": config.function.handler if v == "custom" else ""} if _mixed(s) else {})
        for v, m, a, p in itertools.product(s.variants, s.memory_mb, s.architectures, s.provisioned)
    ]


def _mixed(s) -> bool:
    return "custom" in s.variants and len(s.variants) > 1


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
    config: Config,
    runner: Runner = PIPELINE,
    confirmed: bool = False,
    allow_changes: bool = False,
) -> int:
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
    extra = profiled_cells(config, matrix)
    plan = Plan(config, matrix, load, sweep_config.order, sweep_config.blocks)
    guarded = plan.block_configs() + [replace(config, function=f, load=load) for f in extra]
    cost_guard(guarded, confirmed, f"sweep of {len(matrix) + len(extra)} run(s)")
    with _applying(config) as apply:
        summaries = plan.run(runner, apply, confirmed, allow_changes)
        if extra:  # profiled runs are measured apart: they are never a candidate
            once = Plan(config, extra, load, "sequential", 1)
            summaries += once.run(runner, apply, confirmed, allow_changes)
    _conclude(summaries, plan.order)
    return 0


def _conclude(summaries: list[Summary], order: str) -> None:
    from coldbench.analysis.compare import compare

    page = compare(summaries, order=order)
    rec = _recommendation(page)
    print(
        "cheapest configuration meeting the SLOs: "
        f"{rec['cheapest_meeting_slos'] or 'no clear choice'} ({rec['cheapest_why']})"
    )
    for key, what in (("lowest_warm_p99", "warm p99"), ("lowest_cold_p99", "cold p99")):
        judged = rec[key]
        print(f"lowest {what}: {judged['winner'] or 'no clear winner'} ({judged['why']})")
    print(f"comparison: {page.resolve()}")


def cmd_sweep(config: Config, args) -> int:
    return sweep(
        config,
        confirmed=getattr(args, "yes", False),
        allow_changes=getattr(args, "allow_changes", False),
    )


def cmd_compare_live(config: Config, args) -> int:
    """``coldbench compare-live A B …``: configurations of one function measured in
    interleaved blocks (``sweep.order``, ``sweep.blocks``) under ``[load]``, compared."""
    functions = [parse_configuration(spec) for spec in args.configurations]
    if len(functions) < 2:
        raise PipelineError("compare-live compares two or more configurations (A B …)")
    # Refused naming the key, before anything runs; two that read the same, refused too.
    resolved = [replace(config, function=function).function for function in functions]
    if any(a == b for a, b in itertools.combinations(resolved, 2)):
        raise PipelineError("compare-live: two of the configurations are the same")
    for spec, function in zip(args.configurations, functions, strict=True):
        if config.target.kind == "existing" and set(function) != {"memory_mb"}:
            raise PipelineError(
                f"compare-live {spec!r}: an existing function is compared over memory sizes "
                "only (its code, architecture and concurrency are not changed)"
            )
    if config.target.kind == "existing" and not args.allow_changes:
        raise PipelineError(
            "compare-live changes an existing function's memory size for every block: pass "
            "--allow-changes (its configuration is put back as found afterwards)"
        )
    plan = Plan(config, functions, {}, config.sweep.order, config.sweep.blocks)
    if config.target.on_aws and not args.yes:
        raise PipelineError(
            f"compare-live on AWS runs {len(plan.order_of_blocks)} load tests: pass --yes"
        )
    cost_guard(plan.block_configs(), args.yes, f"compare-live of {len(functions)} configurations")
    with _applying(config) as apply:
        summaries = plan.run(PIPELINE, apply, args.yes, args.allow_changes)
    _conclude(summaries, plan.order)
    return 0


def parse_configuration(spec: str) -> dict[str, Any]:
    """``naive`` (a variant), ``1024`` (memory in MB) or ``memory_mb=1024,architecture=
    arm64`` (any ``[function]`` keys): one configuration of ``compare-live``."""
    if spec.isdigit():
        return {"memory_mb": int(spec)}
    if "=" not in spec:
        return {"variant": spec}
    function: dict[str, Any] = {}
    for pair in spec.split(","):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise PipelineError(f"compare-live {spec!r}: expected KEY=VALUE[,KEY=VALUE]")
        function[key.strip()] = value.strip()
    return function


def _recommendation(page) -> dict:
    return json.loads((page.parent / "compare.json").read_text())["recommendation"]
