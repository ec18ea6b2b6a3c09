"""The report's "How long idle environments survive": P(cold) against the idle gap."""

from __future__ import annotations

import matplotlib.pyplot as plt

from coldbench.analysis.html import Figure, figure
from coldbench.record.summary import KeepAlive


def plot(curve: KeepAlive) -> Figure:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    below = [p - lo for p, (lo, _) in zip(curve.p_cold, curve.ci95, strict=True)]
    above = [hi - p for p, (_, hi) in zip(curve.p_cold, curve.ci95, strict=True)]
    ax.errorbar(curve.gaps_s, curve.p_cold, yerr=[below, above], fmt="o-", capsize=3)
    if curve.survival_median_s is not None:
        ax.axvline(curve.survival_median_s, color="#d62728", linestyle="--", linewidth=1)
        if curve.survival_median_ci95:
            ax.axvspan(*curve.survival_median_ci95, color="#d62728", alpha=0.1)
    ax.set(xlabel="idle gap before the request (s)", ylabel="P(cold)", ylim=(-0.05, 1.05))
    return figure(
        fig,
        "P(cold | idle gap) with Wilson 95% intervals; dashed: the median idle survival of an "
        "environment, shaded: its 95% interval. A keep-warm ping must come more often than "
        "the gaps where P(cold) starts to rise.",
    )


def rows(curve: KeepAlive) -> list[list]:
    return [
        [gap, n, f"{p:.0%}", f"[{lo:.0%}, {hi:.0%}]"]
        for gap, n, p, (lo, hi) in zip(curve.gaps_s, curve.n, curve.p_cold, curve.ci95, strict=True)
    ]
