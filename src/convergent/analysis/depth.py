"""Alignment against normalised depth under distribution shift."""

from __future__ import annotations

import pandas as pd

from ..errors import InputError
from ..plan.models import IMAGES, matched_ood
from .tables import at_end, select, standard_error


def shift_profile(alignment: pd.DataFrame, corr: str = "pearson") -> pd.DataFrame:
    """Per model and depth, at each model's final checkpoint: the Procrustes score across seeds
    on the OOD sets (``ood``: mean over sets, ``ood_se``: its standard error), on the
    in-distribution subsets of the same sizes (``id_matched``: mean over sets; NaN when the
    ood analysis ran without them), and on the whole in-distribution set (``id``: the seeds
    analysis at that checkpoint, NaN without it). A smaller stimulus set lowers a
    cross-validated score on its own, so ``id_matched`` is the baseline a drop under shift is
    measured from."""
    rows = at_end(select(alignment, "ood", corr, metric="procrustes"))
    matched = rows.stimset.map(matched_ood).notna()
    ood, baseline = rows[~matched], rows[matched]
    if ood.empty:
        raise InputError("the ood analysis has no procrustes rows on an OOD set")
    finals = ood[["model_x", "epoch"]].drop_duplicates()
    seeds = select(alignment, "seeds", corr, metric="procrustes", stimset=IMAGES)
    keys = ["model_x", "depth_x"]
    whole = seeds.merge(finals, on=["model_x", "epoch"]).groupby(keys).score.mean().rename("id")
    sized = (baseline.groupby([*keys, "stimset"]).score.mean().groupby(keys).mean()
             .rename("id_matched"))
    shifted = ood.groupby([*keys, "stimset"]).score.mean().groupby(keys).agg(
        ["mean", standard_error])
    shifted.columns = ["ood", "ood_se"]
    profile = shifted.join([whole, sized], how="left").reset_index()
    return profile[["model_x", "depth_x", "id", "id_matched", "ood", "ood_se"]]


def shift_baseline(profile: pd.DataFrame) -> pd.Series:
    """The in-distribution baseline of a shift profile: the size-matched one where it exists,
    else the whole set's."""
    return profile.id_matched.fillna(profile["id"])
