"""The one-screen summary printed after a run or a report."""

from __future__ import annotations

from coldbench.record.summary import Summary


def one_screen(summary: Summary) -> str:
    def ms(cls: str, key: str) -> str:
        value = getattr(summary.of(cls).e2e_ms, key)
        return f"{value:8.1f}" if value is not None else "       -"

    cost = summary.cost_usd
    lines = []
    if summary.platform_missing:
        lines.append(f"WARNING: no platform data: {summary.platform_missing}")
    apart = ", ".join(
        f"{count} {what}"
        for count, what in (
            (summary.throttled, "throttled (429)"),
            (summary.refused, "refused (403/413)"),
            (summary.unanswered, "unanswered"),
        )
        if count
    )
    lines += [
        f"run {summary.run_id}: {summary.requests} requests, {summary.failures} failed "
        f"({summary.failure_rate:.2%}), {summary.throughput_rps:.1f} req/s",
        f"joined with REPORT records: {summary.matched} of the {summary.reached} requests "
        f"that reached the function ({summary.match_rate:.1%})"
        + (f"; never reached it: {apart}" if apart else ""),
        f"{'class':<12}{'count':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}",
    ]
    for cls in ("cold", "proactive", "provisioned", "warm", "unknown"):
        count = summary.of(cls).count
        if count:
            lines.append(f"{cls:<12}{count:>8}{ms(cls, 'p50')} {ms(cls, 'p99')} {ms(cls, 'max')}")
    lines.append(
        f"environments: {summary.environments.get('count', 0)}; cold starts: "
        f"{summary.cold_starts} ({summary.cold_share:.1%} of requests)"
    )
    if cost.per_million_requests is not None:
        lines.append(
            f"cost: ${cost.total:.6f} this run, ${cost.per_million_requests:.2f} per million "
            f"invocations ({cost.invocations} billed)"
        )
    for verdict in summary.slo:
        lines.append(
            f"SLO {verdict.name} < {slo_number(verdict.name, verdict.threshold)}: "
            f"{slo_number(verdict.name, verdict.actual)} {verdict.verdict}"
        )
    if summary.function_errors:
        named = ", ".join(f"{kind} ×{n}" for kind, n in summary.function_errors.items())
        lines.append(f"function errors (REPORT records): {named}")
    profile = summary.init_profile
    if profile is not None:
        costly = [
            m for m in profile.modules if m.phase == "init" and m.parent == profile.handler_module
        ]
        top = ", ".join(f"{m.module} {m.cumulative_ms_p50:,.0f} ms" for m in costly[:3])
        lines.append(
            f"init profile ({profile.profiled_cold_starts} cold starts, profiled: not latencies "
            f"to quote): runtime {profile.runtime_ms_p50 or 0:,.0f} ms, "
            f"{profile.handler_module} {profile.handler_import_ms_p50 or 0:,.0f} ms"
            + (f"; costliest imports: {top}" if top else "")
        )
    lost = summary.lost_telemetry
    if lost.log_events:
        lines.append(
            f"WARNING: {lost.log_events} log events were lost before reaching CloudWatch, "
            f"{lost.report_records} of them REPORT records: in-function figures miss them"
        )
    if summary.cancelled or summary.invocations_without_request:
        lines.append(
            f"in flight when the load stopped: {summary.cancelled} requests (rows 'Cancelled'); "
            f"invocations with no client row: {summary.invocations_without_request}"
        )
    if not summary.completed:
        lines.append("NOTE: the run did not complete; figures cover what was recorded")
    return "\n".join(lines)


def slo_number(name: str, value: float | None) -> str:
    """An SLO's figure as people read it: rates in percent, times in ms, never rounded
    into a different verdict (0.0231 is 2.31%, not 0.02)."""
    if value is None:
        return "n/a"
    if name.endswith("_rate"):
        return f"{value:.2%}" if value >= 0.0001 or value == 0 else f"{value:.2g}"
    return f"{value:,.1f} ms"
