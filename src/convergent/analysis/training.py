"""Alignment over training: against each model's own training time and its task accuracy.

Every model has its own axis (design.md: epochs of a network trained here, a user's checkpoint
labels, Pythia's steps), described by the ``models`` table. Training *time* puts the axes side
by side: epochs for vision models, training tokens for language models (Pythia: step × tokens
per step; the tiny GPT-NeoX: the tokens its training log counts).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from ..plan.models import IMAGES, SENTENCES
from .tables import as_tables, layer_group, select


def _accuracy(tables) -> pd.Series:
    """Mean test accuracy per (model, epoch): the training log's test split (MoCo: kNN
    accuracy), else the extraction's accuracy on the in-distribution set (models not trained
    here)."""
    training = tables.get("training", pd.DataFrame())
    parts = []
    if "split" in training:
        test = training[training.split == "test"]
        parts.append(test.groupby(["model", "epoch"]).accuracy.mean())
    accuracy, models = tables.get("accuracy", pd.DataFrame()), tables.get("models")
    if not accuracy.empty and models is not None:
        own = accuracy.merge(_stimsets(models), on=["model", "stimset"])
        parts.append(own.groupby(["model", "epoch"]).accuracy.mean())
    if not parts:
        return pd.Series(dtype=float, name="accuracy")
    merged = pd.concat(parts)
    return merged[~merged.index.duplicated()].rename_axis(["model_x", "epoch"]).rename(
        "accuracy")


def _stimsets(models: pd.DataFrame) -> pd.DataFrame:
    """Each model's in-distribution stimulus set."""
    stimset = np.where(models.modality == "language", SENTENCES, IMAGES)
    return pd.DataFrame({"model": models.model, "stimset": stimset})


def _time(curve: pd.DataFrame, tables) -> pd.DataFrame:
    """``time`` and ``time_unit`` of every row: tokens for language models, else epochs."""
    models = tables.get("models")
    time = curve.epoch.astype(float)
    unit = pd.Series("epochs", index=curve.index)
    if models is None:
        return curve.assign(time=time, time_unit=unit)
    info = models.set_index("model")
    steps = curve.model_x.map(info.axis) == "step"
    # a float map even when no model counts steps (an empty map keeps model_x's string dtype)
    tokens = curve.model_x[steps].map(info.tokens_per_step).astype(float)
    time[steps] = curve.epoch[steps] * tokens
    unit[steps] = "tokens"
    training = tables.get("training", pd.DataFrame())
    if "tokens" in training:
        counted = training.dropna(subset=["tokens"]).groupby(["model", "epoch"]).tokens.first()
        keys = pd.MultiIndex.from_frame(curve[["model_x", "epoch"]])
        found = pd.Series(counted.reindex(keys).to_numpy(), index=curve.index)
        time[found.notna()] = found[found.notna()]
        unit[found.notna()] = "tokens"
    return curve.assign(time=time, time_unit=unit)


def training_curve(tables: Mapping[str, pd.DataFrame], corr: str = "pearson") -> pd.DataFrame:
    """Per model, checkpoint and layer group (thirds of the depth): the mean Procrustes score
    across seed pairs, the mean test accuracy (NaN where none is known), and the training
    ``time`` in ``time_unit`` (see the module docstring)."""
    tables = as_tables(tables)
    rows = select(tables["alignment"], "training", corr, metric="procrustes")
    rows = rows.assign(group=layer_group(rows.depth_x))
    score = rows.groupby(["model_x", "epoch", "group"], observed=True).score.mean()
    curve = score.reset_index().join(_accuracy(tables), on=["model_x", "epoch"])
    return _time(curve, tables)


def axis_of(tables: Mapping[str, pd.DataFrame], model: str) -> str:
    """``epoch`` or ``step``: what a model's checkpoint labels count (epochs when the
    ``models`` table does not say)."""
    models = tables.get("models")
    if models is None or model not in set(models.model):
        return "epoch"
    return str(models.set_index("model").axis[model])


def first_epoch_share(curve: pd.DataFrame, tables: Mapping[str, pd.DataFrame] | None = None
                      ) -> pd.DataFrame:
    """Per model and layer group: the score after epoch 1 as a share of the score at the model's
    final checkpoint (NaN where the axis has no epoch 1, or counts steps)."""
    def share(part):
        by_epoch = part.set_index("epoch").score
        return by_epoch.get(1, float("nan")) / by_epoch.loc[by_epoch.index.max()]
    axes = {m: axis_of(tables or {}, m) for m in curve.model_x.unique()}
    epochs = curve[curve.model_x.map(axes) == "epoch"]
    if epochs.empty:
        raise InputError("no model's training axis counts epochs")
    return (epochs.groupby(["model_x", "group"], observed=True)[["epoch", "score"]]
            .apply(share).rename("share").reset_index())


def epoch_changes(curve: pd.DataFrame) -> pd.DataFrame:
    """Per model and checkpoint after the first: the change of the Procrustes score (mean over
    layer groups) since the previous checkpoint, with the accuracy at that checkpoint."""
    mean = curve.groupby(["model_x", "epoch"]).agg(score=("score", "mean"),
                                                   accuracy=("accuracy", "first"))
    change = mean.groupby(level="model_x").score.diff().rename("change")
    return mean.join(change).dropna(subset=["change"]).reset_index()


__all__ = ["axis_of", "epoch_changes", "first_epoch_share", "training_curve"]
