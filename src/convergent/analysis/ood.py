"""Alignment under distribution shift against the networks' accuracy on the shifted sets."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from .tables import as_tables, final_epoch, select


def ood_points(tables: Mapping[str, pd.DataFrame], corr: str = "pearson") -> pd.DataFrame:
    """One row per model, seed pair, OOD set and layer: Procrustes score and the mean accuracy
    of the two networks on that set (from the ``alignment`` and ``accuracy`` tables)."""
    tables = as_tables(tables)
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
    """Per model and layer: Pearson correlation of score and OOD accuracy over sets and pairs
    (NaN with fewer than three points or no spread)."""
    def corr(part):
        if len(part) < 3 or part.score.std() == 0 or part.accuracy.std() == 0:
            return float("nan")
        return float(np.corrcoef(part.score, part.accuracy)[0, 1])
    return (points.groupby(["model_x", "index_x", "depth_x"])[["score", "accuracy"]]
            .apply(corr).rename("r").reset_index())
