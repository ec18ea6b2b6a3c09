"""The one-screen summary printed after a run or a report."""

from __future__ import annotations

from coldbench.record.summary import Summary


def one_screen(summary: Summary) -> str:
    def ms(cls: str, key: str) -> str:
        value = getattr(summary.of(cls).e2e_ms, key)
        return f"{value:8.1f}" if value is not None else "       -"

    cost = summary.cost_usd
    lines = [
        f"run {summary.run_id}: {summary.requests} requests, {summary.failures} failed "
        f"({summary.failure_rate:.2%}), {summary.throughput_rps:.1f} req/s",
        f"joined with REPORT records: {summary.matched} ({summary.match_rate:.1%})",
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
            f"cost: ${cost.total:.6f} this run, ${cost.per_million_requests:.2f} per million requests"
        )
    for verdict in summary.slo:
        shown = "n/a" if verdict.actual is None else f"{verdict.actual:.4g}"
        lines.append(
            f"SLO {verdict.name} < {verdict.threshold:g}: {shown} {'PASS' if verdict.ok else 'FAIL'}"
        )
    lost = summary.lost_telemetry
    if lost.log_events:
        lines.append(
            f"WARNING: {lost.log_events} log events were lost before reaching CloudWatch, "
            f"{lost.report_records} of them REPORT records: in-function figures miss them"
        )
    if not summary.completed:
        lines.append("NOTE: the run did not complete; figures cover what was recorded")
    return "\n".join(lines)
