"""Alignment against normalised depth under distribution shift."""

from __future__ import annotations

import pandas as pd

from ..plan.models import IMAGES
from .tables import at_end, select, standard_error


def shift_profile(alignment: pd.DataFrame, corr: str = "pearson") -> pd.DataFrame:
    """Per model and depth, at each model's final checkpoint: the in-distribution Procrustes
    score across seeds (the seeds analysis at that checkpoint) and the mean (± standard error)
    over the OOD sets."""
    ood = at_end(select(alignment, "ood", corr, metric="procrustes"))
    finals = ood[["model_x", "epoch"]].drop_duplicates()
    seeds = select(alignment, "seeds", corr, metric="procrustes", stimset=IMAGES)
    ind = seeds.merge(finals, on=["model_x", "epoch"])
    ind = ind.groupby(["model_x", "depth_x"]).score.mean().rename("id")
    per_set = ood.groupby(["model_x", "depth_x", "stimset"]).score.mean()
    shifted = per_set.groupby(["model_x", "depth_x"]).agg(["mean", standard_error])
    shifted.columns = ["ood", "ood_se"]
    return pd.concat([ind, shifted], axis=1).dropna().reset_index()
