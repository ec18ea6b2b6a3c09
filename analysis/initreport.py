"""The report's "Where init time goes": a nested bar chart and the table behind it.

The chart reads at a glance: the runtime's bootstrap, the handler module's import and,
nested under it as Python imported them, the costliest modules by cumulative median;
the handler module's own top-level work (its self time: clients made, files read) is a
bar of its own.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from coldbench.analysis.html import Figure, figure, fmt
from coldbench.record.summary import InitProfile, ModuleTime

TOP = 20  # modules in the chart
TABLE_ROWS = 40  # init-phase modules in the table
HEADER = [
    "module",
    "imported by",
    "phase",
    "self p50 ms",
    "cumulative p50 ms",
    "cumulative p90 ms",
    "share of init",
    "cold starts",
]


def nested(modules: list[ModuleTime], top: int = TOP) -> list[tuple[ModuleTime, int]]:
    """The ``top`` costliest init-phase modules in tree order, each with its depth in the
    tree they form (a module whose parent is not shown hangs under its nearest ancestor
    that is)."""
    init = [m for m in modules if m.phase == "init"]
    parent_of = {m.module: m.parent for m in init}
    chosen = {m.module: m for m in sorted(init, key=lambda m: -m.cumulative_ms_p50)[:top]}

    def shown_parent(module: str) -> str:
        parent, seen = parent_of.get(module, ""), set()
        while parent and parent not in chosen and parent not in seen:
            seen.add(parent)
            parent = parent_of.get(parent, "")
        return parent if parent in chosen else ""

    children: dict[str, list[ModuleTime]] = {}
    for m in chosen.values():
        children.setdefault(shown_parent(m.module), []).append(m)
    ordered: list[tuple[ModuleTime, int]] = []

    def walk(parent: str, depth: int) -> None:
        for m in sorted(children.get(parent, []), key=lambda m: -m.cumulative_ms_p50):
            ordered.append((m, depth))
            walk(m.module, depth + 1)

    walk("", 0)
    return ordered


def plot(profile: InitProfile) -> Figure:
    bars: list[tuple[str, float, str]] = [
        ("runtime bootstrap", profile.runtime_ms_p50 or 0.0, "#7f7f7f"),
        (
            f"{profile.handler_module}: top-level work",
            profile.handler_self_ms_p50 or 0.0,
            "#ff7f0e",
        ),
    ]
    for m, depth in nested(list(profile.modules)):
        color = "#d62728" if m.module == profile.handler_module else "#1f77b4"
        bars.append(("  " * depth + m.module, m.cumulative_ms_p50, color))
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(bars) + 1.2))
    labels = [b[0] for b in bars]
    ax.barh(range(len(bars)), [b[1] for b in bars], color=[b[2] for b in bars])
    ax.set_yticks(range(len(bars)), labels, fontsize=8, fontfamily="monospace")
    # Left-aligned, so the indentation shows the nesting (monospace: 0.6 em per char).
    width = max(len(label) for label in labels) * 8 * 0.6 + 4
    for tick in ax.get_yticklabels():
        tick.set_horizontalalignment("left")
    ax.yaxis.set_tick_params(pad=width)
    ax.invert_yaxis()
    ax.set_xlabel("median ms per cold start (cumulative: with what it imported)")
    if profile.init_ms_p50:
        ax.axvline(profile.init_ms_p50, color="#333", linestyle=":", linewidth=1)
        ax.text(profile.init_ms_p50, -0.6, "Init Duration p50 ", fontsize=8, ha="right")
    fig.tight_layout()
    return figure(
        fig,
        f"Where init time goes, median of {profile.profiled_cold_starts} profiled cold starts: "
        "the runtime's bootstrap, the handler module's own top-level work, and the costliest "
        "imports nested under what imported them (red: the handler module, all it imports).",
    )


def rows(profile: InitProfile) -> list[list]:
    init = [m for m in profile.modules if m.phase == "init"][:TABLE_ROWS]
    lazy = [m for m in profile.modules if m.phase == "invoke"]
    return [
        [
            m.module,
            m.parent or "-",
            m.phase,
            m.self_ms_p50,
            m.cumulative_ms_p50,
            m.cumulative_ms_p90,
            "-" if m.share_of_init is None else f"{m.share_of_init:.1%}",
            m.seen_in,
        ]
        for m in [*init, *lazy]
    ]


def lazy_roots(profile: InitProfile) -> list[str]:
    """What was imported after init (on an invocation), top-level only, costliest first."""
    lazy = [m for m in profile.modules if m.phase == "invoke"]
    names = {m.module for m in lazy}
    return [f"{m.module} ({fmt(m.cumulative_ms_p50)} ms)" for m in lazy if m.parent not in names]
