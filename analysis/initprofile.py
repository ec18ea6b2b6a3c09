"""Where init time goes: Python's import-time report, per cold start and aggregated.

With ``function.profile_init`` every environment runs with ``PYTHONPROFILEIMPORTTIME``,
whose lines (``import time: SELF | CUMULATIVE | <indent>module``, microseconds, each
module printed after the modules it imported, two spaces deeper per level) reach the
function's log stream, as do the init shim's markers (``coldbench-init {...}``: the
handler module's import time at the end of init, and the first invocation). One log
stream is one environment, so one cold start: :func:`parse_stream` turns its lines into
rows, a parent for every module and a phase (``init`` before the first invocation,
``invoke`` after: imported lazily); :func:`aggregate` joins them with the stream's Init
Duration and takes medians over cold starts.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from coldbench.record.summary import InitProfile, ModuleTime

_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)")
MARKER = "coldbench-init "
MAX_MODULES = {"init": 250, "invoke": 50}  # in summary.json: the costliest per phase


def parse_stream(log_stream: str, messages: Iterable[str]) -> list[dict]:
    """Rows of one environment's profile, in the order its lines were written.

    ``kind`` is ``import`` (a module: ``self_us``, ``cumulative_us``, ``depth``,
    ``parent``, ``phase``) or ``handler`` (the shim's measure of the handler module's
    import, ``cumulative_us``, and its name in ``module``).
    """
    rows: list[dict] = []
    pending: dict[int, list[dict]] = defaultdict(list)  # printed, parent not yet seen
    phase = "init"
    for message in messages:
        for line in message.splitlines():
            if line.startswith(MARKER):
                marker = _marker(line)
                if marker.get("event") == "first-invoke":
                    phase = "invoke"
                elif marker.get("event") == "init-end":
                    rows.append(
                        _row(log_stream, "handler", str(marker.get("module", "")), "", 0, phase)
                        | {"self_us": 0, "cumulative_us": int(marker.get("import_us", 0))}
                    )
                continue
            found = _LINE.search(line)
            if found is None:
                continue
            self_us, cumulative_us, indent, module = found.groups()
            depth = len(indent) // 2
            row = _row(log_stream, "import", module, "", depth, phase)
            row.update(self_us=int(self_us), cumulative_us=int(cumulative_us))
            for child in pending.pop(depth + 1, []):
                child["parent"] = module
            pending[depth].append(row)
            rows.append(row)
    return rows


def _row(log_stream: str, kind: str, module: str, parent: str, depth: int, phase: str) -> dict:
    return {
        "log_stream": log_stream,
        "kind": kind,
        "module": module,
        "parent": parent,
        "depth": depth,
        "phase": phase,
    }


def _marker(line: str) -> dict:
    try:
        found = json.loads(line[len(MARKER) :])
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def parse_events(events: Iterable[tuple[str, str]]) -> list[dict]:
    """Rows of every stream, from (log stream, message) pairs in each stream's order."""
    by_stream: dict[str, list[str]] = defaultdict(list)
    for stream, message in events:
        by_stream[stream].append(message)
    return [row for stream, lines in by_stream.items() for row in parse_stream(stream, lines)]


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def aggregate(rows: list[Mapping], init_ms: Mapping[str, float]) -> InitProfile | None:
    """Medians over the profiled cold starts (streams with the shim's marker), joined with
    each stream's Init Duration (``init_ms``, by log stream: this run's cold starts; a
    stream of an earlier run in the collection window is not counted)."""
    handler = {
        r["log_stream"]: r for r in rows if r["kind"] == "handler" and r["log_stream"] in init_ms
    }
    if not handler:
        return None
    streams = sorted(handler)
    imports: dict[tuple[str, str], list[Mapping]] = defaultdict(list)
    for row in rows:
        if row["kind"] == "import" and row["log_stream"] in handler:
            imports[(row["module"], row["phase"])].append(row)
    name = str(handler[streams[0]]["module"])
    inits = [init_ms[s] for s in streams]
    imported = [handler[s]["cumulative_us"] / 1000 for s in streams]
    runtime = [init_ms[s] - handler[s]["cumulative_us"] / 1000 for s in streams]
    init_p50 = _p(inits, 50)
    own = imports.get((name, "init"), [])
    modules = []
    for (module, phase), found in imports.items():
        cumulative = [r["cumulative_us"] / 1000 for r in found]
        median = _p(cumulative, 50)
        modules.append(
            ModuleTime(
                module=module,
                parent=Counter(r["parent"] for r in found).most_common(1)[0][0],
                depth=Counter(r["depth"] for r in found).most_common(1)[0][0],
                phase=phase,
                self_ms_p50=_p([r["self_us"] / 1000 for r in found], 50),
                cumulative_ms_p50=median,
                cumulative_ms_p90=_p(cumulative, 90),
                share_of_init=median / init_p50 if phase == "init" and init_p50 > 0 else None,
                seen_in=len({r["log_stream"] for r in found}),
            )
        )
    modules.sort(key=lambda m: (m.phase != "init", -m.cumulative_ms_p50, m.module))
    kept = [
        m
        for phase, limit in MAX_MODULES.items()
        for m in [m for m in modules if m.phase == phase][:limit]
    ]
    return InitProfile(
        profiled_cold_starts=len(streams),
        init_ms_p50=init_p50,
        handler_module=name,
        handler_import_ms_p50=_p(imported, 50),
        handler_self_ms_p50=_p([r["self_us"] / 1000 for r in own], 50),
        runtime_ms_p50=_p(runtime, 50),
        modules=tuple(kept),
    )


def differences(baseline: InitProfile, run: InitProfile, top: int = 30) -> list[dict]:
    """Per module, what changed between two profiled runs' init: its cumulative median in
    each (0 where it was not imported during init) and the phase it had in ``run``
    (``invoke``: it left init for the first invocation; ``absent``: not imported at all)."""

    def init_of(profile: InitProfile) -> dict[str, float]:
        return {m.module: m.cumulative_ms_p50 for m in profile.modules if m.phase == "init"}

    def phase_in(profile: InitProfile, module: str) -> str:
        phases = {m.phase for m in profile.modules if m.module == module}
        return "init" if "init" in phases else "invoke" if "invoke" in phases else "absent"

    before, after = init_of(baseline), init_of(run)
    found: list[dict[str, Any]] = []
    for module in set(before) | set(after):
        was, now = before.get(module, 0.0), after.get(module, 0.0)
        if max(was, now) < 1.0:
            continue  # below a millisecond either way: noise at this resolution
        found.append(
            {
                "module": module,
                "baseline_ms": was,
                "run_ms": now,
                "diff_ms": now - was,
                "baseline_phase": phase_in(baseline, module),
                "run_phase": phase_in(run, module),
            }
        )
    found.sort(key=lambda d: (-abs(float(d["diff_ms"])), str(d["module"])))
    return found[:top]
