"""Alignment under distribution shift against the networks' accuracy on the shifted sets."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from ..plan.models import matched_ood
from .tables import as_tables, at_end, select


def ood_points(tables: Mapping[str, pd.DataFrame], corr: str = "pearson") -> pd.DataFrame:
    """One row per model, seed pair, OOD set and layer: Procrustes score and the mean accuracy
    of the two networks on that set, at each model's final checkpoint (from the ``alignment``
    and ``accuracy`` tables); sets without an accuracy are left out."""
    tables = as_tables(tables)
    ood = at_end(select(tables["alignment"], "ood", corr, metric="procrustes"))
    ood = ood[ood.stimset.map(matched_ood).isna()]  # the matched baselines have no accuracy
    accuracy = tables["accuracy"].set_index(["model", "seed", "epoch", "stimset"]).accuracy
    keys_x = pd.MultiIndex.from_frame(ood[["model_x", "seed_x", "epoch", "stimset"]])
    keys_y = pd.MultiIndex.from_frame(ood[["model_y", "seed_y", "epoch", "stimset"]])
    both = (accuracy.reindex(keys_x).to_numpy() + accuracy.reindex(keys_y).to_numpy()) / 2
    points = ood.assign(accuracy=both).dropna(subset=["accuracy", "score"])
    if points.empty:
        raise InputError("no OOD set has an accuracy at the models' final checkpoints (a "
                         "model without a classifier for the set's classes, e.g. MoCo or "
                         "weights trained on other labels, has none)")
    return points


def depth_correlation(points: pd.DataFrame) -> pd.DataFrame:
    """Per model and layer: Pearson correlation of score and OOD accuracy over sets and pairs
    (NaN with fewer than three points or no spread)."""
    def corr(part):
        if len(part) < 3 or part.score.std() == 0 or part.accuracy.std() == 0:
            return float("nan")
        return float(np.corrcoef(part.score, part.accuracy)[0, 1])
    return (points.groupby(["model_x", "index_x", "depth_x"])[["score", "accuracy"]]
            .apply(corr).rename("r").reset_index())
