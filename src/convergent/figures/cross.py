"""Every layer of one network against every layer of another: heatmaps and the hierarchical
correspondence statistic."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .base import panels, save, select

CROSS_METRICS = ("procrustes", "softmatch")
PAIR = ["model_x", "seed_x", "model_y", "seed_y"]


def score_matrix(rows: pd.DataFrame) -> np.ndarray:
    """Layers of x (rows) × layers of y (columns)."""
    return rows.pivot_table(index="index_x", columns="index_y", values="score").to_numpy()


def counterpart(i: int, n_x: int, n_y: int) -> int:
    """The layer of y at the same normalised depth as layer i of x."""
    return int(round(i / max(n_x - 1, 1) * (n_y - 1)))


def best_match_share(matrix: np.ndarray, tolerance: int = 1) -> float:
    """How often a layer's best match in the other network (its row maximum) is its own
    counterpart at the same normalised depth, within ± ``tolerance`` layers."""
    n_x, n_y = matrix.shape
    hits = [abs(int(np.nanargmax(row)) - counterpart(i, n_x, n_y)) <= tolerance
            for i, row in enumerate(matrix) if np.isfinite(row).any()]
    return float(np.mean(hits)) if hits else float("nan")


def hierarchical_correspondence(alignment: pd.DataFrame, corr: str = "pearson") -> pd.DataFrame:
    """Per model pair and metric: the share of layers whose best match is their counterpart
    (± 1 layer)."""
    cross = select(alignment, "cross", corr)
    rows = [dict(zip(PAIR, key[:4], strict=True), metric=key[4],
                 share=best_match_share(score_matrix(part)))
            for key, part in cross.groupby(PAIR + ["metric"])]
    return pd.DataFrame(rows)


def cross_grids(tables: dict[str, pd.DataFrame], out, corr: str = "pearson") -> list:
    """A layer × layer heatmap per model pair and metric (procrustes, softmatch), with the row
    maxima drawn on the right margin and the column maxima on the top margin; the title gives
    the hierarchical correspondence share."""
    cross = select(tables["alignment"], "cross", corr)
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
