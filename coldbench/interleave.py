"""Several configurations measured in blocks, in an order that drift cannot fool.

Run configuration A, then B, and anything that changes over time (the platform's load
by hour, a noisy neighbour, a cache warming up) lands on B alone and reads as a
difference between them. Interleaved (``sweep.order = "interleaved"``), each
configuration's load is divided into ``sweep.blocks`` short blocks, run round by round:
a random order of the configurations, then the same order reversed, and again (A B B A
A B B A …), so each configuration's blocks sit, on average, at the same moment. Each
configuration's blocks are then merged into one run (:mod:`coldbench.analysis.blocks`)
whose own intervals resample whole blocks; two configurations are compared round by
round (:mod:`coldbench.analysis.confidence`), so what a round's moment did to both
cancels in their difference. Sequential order runs each configuration whole, one
after another, as one block.
"""

from __future__ import annotations

import math
import random
import secrets
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coldbench import pipeline
from coldbench.analysis.blocks import merge
from coldbench.record.config import Config, replace
from coldbench.record.progress import Progress
from coldbench.record.summary import Summary


@dataclass(frozen=True)
class Runner:
    """What measures a run and what reports one: the pipeline's own, or a test's."""

    measure: Callable[[Config, bool, bool], tuple[Path, int]]
    report: Callable[[Path, Config], tuple[Summary, Path]]


PIPELINE = Runner(pipeline.measure, pipeline.report)


def block_order(configurations: int, rounds: int, rng: random.Random) -> list[int]:
    """Which configuration each block measures: a random order, then that order reversed,
    and again (A B B A A B B A …). Over each pair of rounds every configuration's blocks
    sit at the same moment on average, and their median moment too, so a drift that is
    steady over the comparison lands on each alike."""
    first = rng.sample(range(configurations), configurations)
    return [c for index in range(rounds) for c in (first[::-1] if index % 2 else first)]


def divided(config: Config, load: Mapping[str, Any], blocks: int) -> dict[str, Any]:
    """One block's share of a configuration's load: the cold sampler's samples, the
    cycles, the constant run's time or the idle gaps' repeats divided (rounded up).
    A ``steps`` block climbs all its steps."""
    out = dict(load)
    if blocks == 1:
        return out
    full = replace(config, load=dict(load)).load
    if full.shape == "cold-sampler":
        out["cold_samples"] = math.ceil(full.cold_samples / blocks)
    elif full.shape in ("ramp-idle", "burst"):
        out["cycles"] = math.ceil(full.cycles / blocks)
    elif full.shape == "constant":
        out["run_time_s"] = full.run_time_s / blocks
    elif full.shape == "idle-gaps":
        out["gap_repeats"] = math.ceil(full.gap_repeats / blocks)
    return out


class Plan:
    """Configurations (``[function]`` changes) under one load, in an order of blocks."""

    def __init__(
        self,
        config: Config,
        functions: list[dict[str, Any]],
        load: Mapping[str, Any],
        order: str,
        blocks: int,
        rng: random.Random | None = None,
    ):
        self.config, self.functions, self.load = config, functions, dict(load)
        interleaved = order == "interleaved" and len(functions) > 1 and blocks > 1
        self.order = "interleaved" if interleaved else "sequential"
        self.blocks = blocks if interleaved else 1
        self.order_of_blocks = (
            block_order(len(functions), self.blocks, rng or random.Random())
            if interleaved
            else list(range(len(functions)))
        )

    def config_of(self, index: int) -> Config:
        """The configuration as reported: its function, the whole load."""
        return replace(self.config, function=self.functions[index], load=self.load)

    def block_config(self, index: int) -> Config:
        block_load = divided(self.config, self.load, self.blocks)
        return replace(self.config, function=self.functions[index], load=block_load)

    def block_configs(self) -> list[Config]:
        """Every block's configuration, in order (what the cost guard adds up)."""
        return [self.block_config(i) for i in self.order_of_blocks]

    def run(
        self,
        runner: Runner,
        apply: Callable[[dict], None],
        confirmed: bool,
        allow_changes: bool,
    ) -> list[Summary]:
        """Measure every block in order, merge each configuration's, report each."""
        runs: dict[int, list[tuple[int, Path]]] = {i: [] for i in range(len(self.functions))}
        configs = {i: self.block_config(i) for i in runs}
        total, started = len(self.order_of_blocks), time.monotonic()
        progress = Progress("blocks", total, "runs", width=20, every_s=0)
        for position, index in enumerate(self.order_of_blocks):
            function = self.functions[index]
            elapsed = time.monotonic() - started
            eta = (
                f", about {elapsed / position * (total - position) / 60:.0f} min left"
                if position
                else ""
            )
            progress.update(position, f": next {describe(function)}{eta}")
            progress.close()  # each run prints its own progress below this line
            apply(function)
            run_dir, _ = runner.measure(configs[index], confirmed, allow_changes)
            runs[index].append((position, run_dir))
        summaries = []
        plan = secrets.token_hex(4)
        width = len(self.functions)
        for index, blocks in runs.items():
            run_dir = blocks[0][1]
            if self.blocks > 1:
                positions, dirs = zip(*blocks, strict=True)
                rounds = [p // width for p in positions]
                merged = merge(dirs, positions, self.order, run_dir.parent, rounds, plan)
                run_dir = merged.run_dir
            summary, page = runner.report(run_dir, self.config_of(index))
            summaries.append(summary)
            what = f" ({len(blocks)} blocks, {self.order})" if self.blocks > 1 else ""
            print(f"sweep: {describe(self.functions[index])}{what} -> {page}", file=sys.stderr)
        return summaries


def describe(function: Mapping[str, Any]) -> str:
    parts = [str(function.get("variant", ""))]
    if "memory_mb" in function:
        parts.append(f"{function['memory_mb']} MB")
    parts.append(str(function.get("architecture", "")))
    if function.get("provisioned_concurrency"):
        parts.append(f"PC {function['provisioned_concurrency']}")
    if function.get("profile_init"):
        parts.append("(init profiled)")
    known = {"variant", "memory_mb", "architecture", "provisioned_concurrency", "profile_init"}
    parts += [f"{k}={v}" for k, v in function.items() if k not in known and k != "handler"]
    return " ".join(p for p in parts if p) or "as configured"
