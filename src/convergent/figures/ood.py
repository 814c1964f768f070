"""Alignment under distribution shift against accuracy on the shifted sets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from .base import final_epoch, panels, save, select


def ood_points(tables: dict[str, pd.DataFrame], corr: str = "pearson") -> pd.DataFrame:
    """One row per model, seed pair, OOD set and layer: Procrustes score and the mean accuracy
    of the two networks on that set."""
    ood = select(tables["alignment"], "ood", corr, metric="procrustes")
    epoch = final_epoch(ood)
    accuracy = tables["accuracy"]
    accuracy = accuracy[accuracy.epoch == epoch].set_index(["model", "seed", "stimset"]).accuracy
    if accuracy.empty:
        raise InputError(f"the accuracy table has no rows at epoch {epoch}")
    keys_x = pd.MultiIndex.from_frame(ood[["model_x", "seed_x", "stimset"]])
    keys_y = pd.MultiIndex.from_frame(ood[["model_y", "seed_y", "stimset"]])
    both = (accuracy.reindex(keys_x).to_numpy() + accuracy.reindex(keys_y).to_numpy()) / 2
    return ood.assign(accuracy=both).dropna(subset=["accuracy", "score"])


def depth_correlation(points: pd.DataFrame) -> pd.DataFrame:
    """Per model and layer: Pearson correlation of score and OOD accuracy over sets and pairs."""
    def corr(part):
        if len(part) < 3 or part.score.std() == 0 or part.accuracy.std() == 0:
            return float("nan")
        return float(np.corrcoef(part.score, part.accuracy)[0, 1])
    return (points.groupby(["model_x", "index_x", "depth_x"])[["score", "accuracy"]]
            .apply(corr).rename("r").reset_index())


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
