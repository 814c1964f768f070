"""Every layer of one network against every layer of another, as heatmaps with the
hierarchical correspondence share in the title."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis.cross import (
    PAIR,
    best_match_share,
    correspondence_over_training,
    final_cross,
    score_matrix,
)
from .base import panels, save

CROSS_METRICS = ("procrustes", "softmatch")


def cross_grids(tables: dict[str, pd.DataFrame], out, corr: str = "pearson") -> list:
    """A layer × layer heatmap per model pair and metric (procrustes, softmatch), with the row
    maxima drawn on the right margin and the column maxima on the top margin; the title gives
    the hierarchical correspondence share."""
    cross = final_cross(tables["alignment"], corr)
    cross = cross[cross.metric.isin(CROSS_METRICS)]
    groups = list(cross.groupby(PAIR + ["metric"]))
    fig, axes = panels(len(groups), width=4.4, height=4.2)
    fig.subplots_adjust(wspace=0.6, top=0.78)
    for ax, (key, part) in zip(axes, groups, strict=True):
        matrix = score_matrix(part)
        image = ax.imshow(matrix, origin="lower", vmin=0, vmax=1, cmap="viridis", aspect="auto")
        right = ax.inset_axes([1.02, 0, 0.15, 1], sharey=ax)
        right.plot(np.nanmax(matrix, axis=1), np.arange(matrix.shape[0]), color="#333333")
        right.set(xlim=(0, 1), xticks=[0, 1])
        right.tick_params(labelleft=False, labelsize=6)
        top = ax.inset_axes([0, 1.02, 1, 0.15], sharex=ax)
        top.plot(np.arange(matrix.shape[1]), np.nanmax(matrix, axis=0), color="#333333")
        top.set(ylim=(0, 1), yticks=[0, 1])
        top.tick_params(labelbottom=False, labelsize=6)
        mx, sx, my, sy, metric = key
        share = best_match_share(matrix)
        top.set_title(f"{mx}-s{sx} vs {my}-s{sy}, {metric}\nbest match at counterpart: "
                      f"{share:.0%}", fontsize=8)
        ax.set(xlabel=f"{my} layer", ylabel=f"{mx} layer")
    fig.colorbar(image, ax=axes, shrink=0.6, label=f"score ({corr})")
    save(fig, out, tight=False)
    return axes


def cross_training(tables: dict[str, pd.DataFrame], out, corr: str = "pearson") -> list:
    """The share of layers whose best Procrustes match in the other model is at the same depth
    (± 1 layer), at every checkpoint, a line per pair of different models (the paper's Fig. 8C
    followed over training); x is the checkpoint on the pair's axis (log)."""
    shares = correspondence_over_training(tables["alignment"], corr)
    fig, axes = panels(1, width=5.5)
    for key, part in shares.groupby(PAIR):
        mx, sx, my, sy = key
        axes[0].plot(part.epoch, part.share, "o-", markersize=3, label=f"{mx}-s{sx} vs {my}-s{sy}")
    positive = shares.epoch[shares.epoch > 0]
    axes[0].set_xscale("symlog", linthresh=positive.min() if len(positive) else 1.0)
    axes[0].set(xlabel="checkpoint (log)", ylabel="best match at the same depth",
                ylim=(-0.05, 1.05))
    axes[0].grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    save(fig, out)
    return axes
