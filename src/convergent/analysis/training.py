"""Alignment over training against the networks' task accuracy."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..errors import InputError
from .tables import as_tables, layer_group, select


def training_curve(tables: Mapping[str, pd.DataFrame], corr: str = "pearson") -> pd.DataFrame:
    """Per model, epoch and layer group: the mean Procrustes score across seed pairs and the mean
    test accuracy of the seeds involved (from the ``alignment`` and ``training`` tables)."""
    tables = as_tables(tables)
    rows = select(tables["alignment"], "training", corr, metric="procrustes")
    rows = rows.assign(group=layer_group(rows.depth_x))
    score = rows.groupby(["model_x", "epoch", "group"], observed=True).score.mean()
    test = tables["training"][tables["training"].split == "test"]
    if test.empty:
        raise InputError("the training table has no test-split accuracy")
    accuracy = test.groupby(["model", "epoch"]).accuracy.mean().rename_axis(["model_x", "epoch"])
    return score.reset_index().join(accuracy, on=["model_x", "epoch"])


def first_epoch_share(curve: pd.DataFrame) -> pd.DataFrame:
    """Per model and layer group: the score after epoch 1 as a share of the final score."""
    def share(part):
        by_epoch = part.set_index("epoch").score
        return by_epoch.get(1, float("nan")) / by_epoch.loc[by_epoch.index.max()]
    return (curve.groupby(["model_x", "group"], observed=True)[["epoch", "score"]].apply(share)
            .rename("share").reset_index())
