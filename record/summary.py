"""The summary of a run: the contract behind ``summary.json``, the report and comparisons.

Typed and immutable, so adding a figure changes one type rather than every reader's
``.get()`` chain. :meth:`Summary.to_dict` writes the JSON (NaN and infinities as null);
:meth:`Summary.from_dict` reads it back, so a report can be compared months later.
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from coldbench.record.target import FunctionSnapshot

CLASSES = ("cold", "proactive", "provisioned", "warm", "unknown")


@dataclass(frozen=True)
class Distribution:
    """Exact statistics of one measure (linear-interpolation percentiles)."""

    count: int = 0
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    p999: float | None = None
    max: float | None = None
    mean: float | None = None
    # 95% bootstrap intervals of p50, p90, p99 and the mean: [lo, hi], or None where
    # the count cannot support the figure (a p99 from fewer than 100 values).
    ci95: Mapping[str, tuple[float, float] | None] = field(default_factory=dict)

    def interval(self, stat: str) -> tuple[float, float] | None:
        found = self.ci95.get(stat)
        return None if found is None else (float(found[0]), float(found[1]))


@dataclass(frozen=True)
class ClassStats:
    """Requests of one class (or phase) and the four measures of them."""

    count: int = 0
    failures: int = 0
    e2e_ms: Distribution = Distribution()
    duration_ms: Distribution = Distribution()
    init_ms: Distribution = Distribution()
    outside_ms: Distribution = Distribution()


@dataclass(frozen=True)
class SloVerdict:
    """``ok`` is None when the run cannot tell (the figure needs platform data it lacks)."""

    name: str
    threshold: float
    actual: float | None
    ok: bool | None

    @property
    def verdict(self) -> str:
        return "UNKNOWN" if self.ok is None else "PASS" if self.ok else "FAIL"


@dataclass(frozen=True)
class Cost:
    """USD for the run; ``per_million_requests`` divides the total by ``invocations``,
    the invocations billed (those with a REPORT record), not by every request sent."""

    total: float = 0.0
    compute: float = 0.0
    provisioned: float = 0.0
    requests: float = 0.0
    per_million_requests: float | None = None
    gb_seconds: float = 0.0
    invocations: int = 0


@dataclass(frozen=True)
class Unmatched:
    """Requests without a REPORT record: counted and sampled, never dropped."""

    count: int = 0
    with_request_id: int = 0
    sample: tuple[str, ...] = ()


@dataclass(frozen=True)
class LostTelemetry:
    """What the platform said it lost before CloudWatch (``platform.logsDropped``)."""

    log_events: int = 0
    report_records: int = 0


@dataclass(frozen=True)
class ModuleTime:
    """One module's import in a profiled run, medians over the cold starts that did it."""

    module: str  # as Python prints it; the handler module by its own name
    parent: str  # the module whose import imported it ("" at the top)
    depth: int
    phase: str  # init | invoke (imported lazily, after init)
    self_ms_p50: float
    cumulative_ms_p50: float
    cumulative_ms_p90: float
    share_of_init: float | None  # cumulative median / Init Duration median (init phase)
    seen_in: int  # profiled cold starts that imported it in this phase


@dataclass(frozen=True)
class InitProfile:
    """Where init time goes (``function.profile_init``): medians over profiled cold starts."""

    profiled_cold_starts: int = 0
    init_ms_p50: float | None = None
    handler_module: str = ""
    handler_import_ms_p50: float | None = None  # the handler module's import, cumulative
    handler_self_ms_p50: float | None = None  # its own top-level work
    runtime_ms_p50: float | None = None  # Init Duration minus the handler module's import
    modules: tuple[ModuleTime, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InitProfile:
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        values["modules"] = tuple(ModuleTime(**m) for m in data.get("modules", ()))
        return cls(**values)


@dataclass(frozen=True)
class KeepAlive:
    """How long idle environments survive (an ``idle-gaps`` run): P(cold | idle gap)."""

    gaps_s: tuple[float, ...] = ()
    n: tuple[int, ...] = ()
    p_cold: tuple[float, ...] = ()
    ci95: tuple[tuple[float, float], ...] = ()  # Wilson 95% per gap
    survival_median_s: float | None = None  # None: more than half outlive the longest gap
    survival_median_ci95: tuple[float, float] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeepAlive:
        interval = data.get("survival_median_ci95")
        return cls(
            gaps_s=tuple(data.get("gaps_s", ())),
            n=tuple(data.get("n", ())),
            p_cold=tuple(data.get("p_cold", ())),
            ci95=tuple((float(a), float(b)) for a, b in data.get("ci95", ())),
            survival_median_s=data.get("survival_median_s"),
            survival_median_ci95=(
                (float(interval[0]), float("inf") if interval[1] is None else float(interval[1]))
                if interval
                else None
            ),
        )


@dataclass(frozen=True)
class Summary:
    run_id: str
    completed: bool
    requests: int
    failures: int
    failure_rate: float
    throughput_rps: float
    duration_s: float
    matched: int
    match_rate: float  # matched / reached: requests that never reached the function
    unmatched: Unmatched  # apart (throttled, refused, unanswered) are not lost telemetry
    lost_telemetry: LostTelemetry
    inconsistent_rows: int
    probe_report_disagreements: int
    cold_starts: int
    cold_share: float
    classes: Mapping[str, ClassStats]
    phases: Mapping[str, ClassStats]
    errors: Mapping[str, int]
    cost_usd: Cost
    slo: tuple[SloVerdict, ...]
    max_memory_used_mb: float | None = None
    memory_size_mb: int | None = None
    reached: int = 0  # requests that reached the function
    throttled: int = 0  # HTTP 429
    refused: int = 0  # HTTP 403 and 413: refused before the function
    unanswered: int = 0  # no HTTP answer at all
    platform_missing: str = ""  # why the run has no platform data ("" when it has)
    suppressed_inits: int = 0  # cold starts whose init ran past 10 s and ran again
    cancelled: int = 0  # requests still waiting when the load stopped
    invocations_without_request: int = 0  # the run's REPORTs no recorded request matches
    # Requests whose REPORT record names an error type (the platform's view of what the
    # function did wrong, where the client saw only a 502), by type.
    function_errors: Mapping[str, int] = field(default_factory=dict)
    init_profile: InitProfile | None = None  # with function.profile_init
    # Why the cold starts happened (first, scale_out, idle_eviction, recycle, after_error,
    # proactive, unexplained): counts of the joined data's `cold_cause`.
    cold_causes: Mapping[str, int] = field(default_factory=dict)
    keep_alive: KeepAlive | None = None  # an idle-gaps run's keep-alive curve
    # A configuration measured in blocks: the order they ran in (interleaved with the
    # other configurations', or sequential) and how many; intervals resample whole blocks.
    order: str = ""
    blocks: int = 0
    plan: str = ""  # the interleaved comparison it was part of: compared round by round
    # Requests recorded by each Locust process ("local" when it ran alone): a
    # distributed run's evidence that every worker's rows arrived.
    workers: Mapping[str, int] = field(default_factory=dict)
    # Records of other stages, carried as written in run.json.
    environments: Mapping[str, Any] = field(default_factory=dict)
    collection: Mapping[str, Any] = field(default_factory=dict)
    target: Mapping[str, Any] = field(default_factory=dict)
    load: Mapping[str, Any] = field(default_factory=dict)

    @property
    def slo_ok(self) -> bool:
        """Every SLO passed; one that cannot be told is not a pass."""
        return all(verdict.ok is True for verdict in self.slo)

    def of(self, cls: str) -> ClassStats:
        """The statistics of a class, empty when the run had none of it."""
        return self.classes.get(cls) or ClassStats()

    @property
    def function(self) -> FunctionSnapshot:
        """The target's function configuration snapshot."""
        return FunctionSnapshot.from_dict(self.target.get("function") or {})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: nested dicts and lists, NaN and infinities as None."""
        data = _plain(dataclasses.asdict(self))
        data["slo_ok"] = self.slo_ok
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Summary:
        def stats(groups: Mapping[str, Any]) -> dict[str, ClassStats]:
            return {str(name): _class_stats(value) for name, value in groups.items()}

        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values.update(
            unmatched=Unmatched(
                **{
                    **data.get("unmatched", {}),
                    "sample": tuple(data.get("unmatched", {}).get("sample", ())),
                }
            ),
            lost_telemetry=LostTelemetry(**data.get("lost_telemetry", {})),
            classes=stats(data.get("classes", {})),
            phases=stats(data.get("phases", {})),
            cost_usd=Cost(**data.get("cost_usd", {})),
            slo=tuple(SloVerdict(**v) for v in data.get("slo", ())),
            init_profile=InitProfile.from_dict(data["init_profile"])
            if data.get("init_profile")
            else None,
            keep_alive=KeepAlive.from_dict(data["keep_alive"]) if data.get("keep_alive") else None,
        )
        return cls(**values)


def _class_stats(value: Mapping[str, Any]) -> ClassStats:
    measures = {
        name: Distribution(**value[name])
        for name in ("e2e_ms", "duration_ms", "init_ms", "outside_ms")
        if name in value
    }
    return ClassStats(count=value.get("count", 0), failures=value.get("failures", 0), **measures)


def finite(value: Any) -> Any:
    """JSON-safe numbers: NaN and infinities become None; numpy scalars plain Python."""
    if hasattr(value, "item") and not isinstance(value, list | tuple | dict):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping | types.MappingProxyType):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return finite(value)
