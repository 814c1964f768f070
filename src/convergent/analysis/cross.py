"""Every layer of one network against every layer of another: the score matrix and the
hierarchical correspondence statistic."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from .tables import at_end, select

#: The columns naming one pair of networks.
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


def final_cross(alignment: pd.DataFrame, corr: str = "pearson") -> pd.DataFrame:
    """The cross rows at each pair's final checkpoint (cross-architecture language pairs are
    also scored at every earlier checkpoint: :func:`correspondence_over_training`)."""
    return at_end(select(alignment, "cross", corr))


def hierarchical_correspondence(alignment: pd.DataFrame, corr: str = "pearson") -> pd.DataFrame:
    """Per model pair and metric, at the final checkpoint: the share of layers whose best match
    is their counterpart (± 1 layer)."""
    rows = [dict(zip(PAIR, key[:4], strict=True), metric=key[4],
                 share=best_match_share(score_matrix(part)))
            for key, part in final_cross(alignment, corr).groupby(PAIR + ["metric"])]
    return pd.DataFrame(rows)


def correspondence_over_training(alignment: pd.DataFrame, corr: str = "pearson",
                                 metric: str = "procrustes") -> pd.DataFrame:
    """Per pair of *different* models scored at several checkpoints (the paper's Fig. 8C over
    training): the share of best matches at the same depth at each checkpoint."""
    cross = select(alignment, "cross", corr, metric=metric)
    cross = cross[cross.model_x != cross.model_y]
    several = cross.groupby(PAIR).epoch.transform("nunique") > 1
    cross = cross[several]
    if cross.empty:
        raise InputError("no pair of different models is scored at several checkpoints (the "
                         "cross analysis follows training only for language models of "
                         "different architectures on one axis)")
    rows = [dict(zip(PAIR + ["epoch"], key, strict=True),
                 share=best_match_share(score_matrix(part)))
            for key, part in cross.groupby(PAIR + ["epoch"])]
    return pd.DataFrame(rows)
