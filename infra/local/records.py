"""What a pool tells the platform's records: INIT_REPORT, END and REPORT lines, the
``AWS/Lambda`` metrics of every invocation, and the console's account of errors.

A mixin of :class:`~coldbench.infra.local.pool.Pool`: the lifecycle lives there, the
accounting of each finished invocation here.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from coldbench.infra.local.environment import Environment, FunctionSpec, Outcome
from coldbench.infra.local.errorlog import ErrorLog
from coldbench.infra.local.telemetry import Report, Telemetry, billed_ms


class PoolRecords:
    """The records of a pool's invocations (attributes are the pool's)."""

    spec: FunctionSpec
    settings: Any
    telemetry: Telemetry
    envs: dict[str, Environment]
    errors: ErrorLog
    counters: dict[str, int]

    def _init_report(self, env: Environment, phase: str, error_type: str, status: str = "") -> None:
        """``INIT_REPORT`` (Text) or ``platform.initReport`` (JSON): Lambda writes one
        when an init does not succeed (at the default log level, JSON records only
        those), with the phase it ran in."""
        status = status or ("timeout" if error_type == "Sandbox.Timedout" else "error")
        document = env.init_error or _document(
            f"init {status} after {env.init_duration_ms or 0:.0f} ms"
        )
        self.errors.seen("init", error_type, document)
        duration_ms = env.init_duration_ms or 0.0
        record = {
            "initializationType": env.init_type,
            "phase": phase,
            "status": status,
            "metrics": {"durationMs": round(duration_ms, 3)},
        }
        text = f"INIT_REPORT Init Duration: {duration_ms:.2f} ms\tPhase: {phase}\tStatus: {status}"
        if status != "timeout":
            record["errorType"] = error_type
            text += f"\tError Type: {error_type}"
        self.telemetry.platform(env.log_stream, "initReport", record, text, time.time())

    def _finish(
        self,
        env: Environment,
        request_id: str,
        outcome: Outcome,
        duration_ms: float,
        max_used_mb: int | None = None,
    ) -> Outcome:
        if outcome.kind not in ("response", "init_error"):
            self._say_error(outcome)
        init_ms = None
        if env.on_demand and not env.init_reported:
            env.init_reported = True
            init_ms = env.init_duration_ms
        status = {"response": "success", "timeout": "timeout"}.get(outcome.kind, "error")
        report = Report(
            request_id=request_id,
            duration_ms=duration_ms,
            billed_duration_ms=billed_ms(duration_ms, init_ms, env.on_demand),
            memory_size_mb=self.spec.memory_mb,
            max_memory_used_mb=max_used_mb if max_used_mb is not None else env.memory_mb()[0],
            init_duration_ms=init_ms,
            status=status,
            error_type="" if status == "success" else outcome.error_type,
        )
        asyncio.get_running_loop().call_soon(self._record, env, report, time.time())
        self.counters["invocations"] += 1
        return outcome

    def _say_error(self, outcome: Outcome) -> None:
        if outcome.kind == "error":
            self.errors.seen("invocation", outcome.error_type, outcome.body)
            return
        text = _SAID.get(outcome.kind, outcome.kind).format(
            timeout=float(self.spec.timeout_s), memory=self.spec.memory_mb
        )
        self.errors.seen("invocation", outcome.error_type, _document(text))

    def _record(self, env: Environment, report: Report, now: float) -> None:
        """END and REPORT lines and the metrics of one finished invocation. The JSON log
        format has no end record (``platform.end`` belonged to the legacy Logs API)."""
        if not self.telemetry.json_format:
            self.telemetry.log(env.log_stream, f"END RequestId: {report.request_id}", now)
        self.telemetry.report(env.log_stream, report, now)
        self._metrics(env, report, now)

    def _busy(self) -> int:
        return sum(1 for e in self.envs.values() if e.state == "busy")

    def _sample_concurrency(self) -> None:
        """ConcurrentExecutions as CloudWatch defines it, environments processing events:
        sampled when an invocation starts and every watch tick while any is busy, so a
        second's Maximum is its peak (sampled at each end it once read 4 of 10 in flight)."""
        busy = self._busy()
        if busy:
            self.telemetry.metric("ConcurrentExecutions", busy)

    def _metrics(self, env: Environment, report: Report, now: float) -> None:
        values = [
            ("Invocations", 1, "Count"),
            ("Duration", report.duration_ms, "Milliseconds"),
            ("Errors", 0 if report.status == "success" else 1, "Count"),
        ]
        if self.settings.provisioned:
            spill = 1 if env.on_demand else 0
            used = sum(1 for e in self.envs.values() if e.state == "busy" and not e.on_demand)
            values += [
                ("ProvisionedConcurrencyInvocations", 1 - spill, "Count"),
                ("ProvisionedConcurrencySpilloverInvocations", spill, "Count"),
                ("ProvisionedConcurrentExecutions", used, "Count"),
                ("ProvisionedConcurrencyUtilization", used / self.settings.provisioned, "None"),
            ]
        self.telemetry.metrics(values, now)


def _document(message: str) -> bytes:
    return json.dumps({"errorMessage": message}).encode()


_SAID = {
    "timeout": "Task timed out after {timeout:.2f} seconds",
    "crash": "the runtime exited during the invocation",
    "oom": "the environment went over its memory size ({memory} MB)",
    "too_large": "the response is over the 6 MB payload limit",
}
