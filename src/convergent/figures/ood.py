"""The OOD figure: alignment under distribution shift against accuracy on the shifted sets (the
numbers from :mod:`convergent.analysis.ood`)."""

from __future__ import annotations

import pandas as pd

from ..analysis.ood import depth_correlation, ood_points
from .base import panels, save


def ood_accuracy(tables: dict[str, pd.DataFrame], out, corr: str = "pearson") -> list:
    """Left: Procrustes score across seeds vs accuracy on each OOD set, for the first and the
    penultimate layer. Right: the correlation of the two against depth, a line per model."""
    points = ood_points(tables, corr)
    fig, (left, right) = panels(2)
    for model, part in points.groupby("model_x"):
        last = part.index_x.max()
        for index, marker, name in ((0, "o", "first"), (max(last - 1, 0), "^", "penultimate")):
            layer = part[part.index_x == index]
            left.scatter(layer.accuracy, layer.score, marker=marker, s=14, alpha=0.7,
                         label=f"{model}, {name} layer")
        r = depth_correlation(part)
        right.plot(r.depth_x, r.r, "o-", markersize=3, label=model)
    left.set(xlabel="OOD accuracy", ylabel=f"procrustes across seeds ({corr})")
    left.legend(fontsize=7)
    right.axhline(0, color="#999999", linewidth=0.8)
    right.set(xlabel="normalised depth", ylabel="correlation with OOD accuracy", ylim=(-1.05, 1.05))
    right.legend(fontsize=7)
    for ax in (left, right):
        ax.grid(alpha=0.3)
    save(fig, out)
    return [left, right]
