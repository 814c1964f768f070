"""Alignment against normalised depth under distribution shift."""

from __future__ import annotations

import pandas as pd

from .tables import final_epoch, select, standard_error


def shift_profile(alignment: pd.DataFrame, corr: str = "pearson") -> pd.DataFrame:
    """Per model and depth, at the final epoch: the in-distribution Procrustes score across seeds
    (the seeds analysis) and the mean (± standard error) over the OOD sets."""
    ood = select(alignment, "ood", corr, metric="procrustes")
    final = final_epoch(ood)
    ind = select(alignment, "seeds", corr, metric="procrustes", epoch=final, stimset="test")
    ind = ind.groupby(["model_x", "depth_x"]).score.mean().rename("id")
    per_set = ood.groupby(["model_x", "depth_x", "stimset"]).score.mean()
    shifted = per_set.groupby(["model_x", "depth_x"]).agg(["mean", standard_error])
    shifted.columns = ["ood", "ood_se"]
    return pd.concat([ind, shifted], axis=1).dropna().reset_index()
