"""Networks against recorded responses (the study's appendix A8): each region's score with every
layer of every network, the inter-subject score of the region as its ceiling, and the best layer
per region (the hierarchical correspondence: early regions with early layers)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..errors import InputError
from ..plan.models import RESPONSES
from .tables import as_tables, select


def recorded_models(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """The recorded-responses models of the ``models`` table."""
    models = as_tables(tables)["models"]
    found = sorted(models[models.family == RESPONSES].model)
    if not found:
        raise InputError("the config has no recorded responses (source: responses)")
    return found


def layer_scores(tables: Mapping[str, pd.DataFrame], corr: str = "pearson",
                 metric: str = "procrustes") -> pd.DataFrame:
    """One row per recorded model, region, network and layer: the score (cross analysis,
    network layers as x, regions as y), with the layer's name and normalised depth."""
    tables = as_tables(tables)
    recorded = recorded_models(tables)
    cross = select(tables["alignment"], "cross", corr, metric=metric)
    rows = cross[cross.model_y.isin(recorded) & ~cross.model_x.isin(recorded)]
    if rows.empty:
        raise InputError(f"no network was compared with {', '.join(recorded)} by {metric}")
    keys = ["model_y", "index_y", "layer_y", "model_x", "index_x", "layer_x", "depth_x"]
    return rows.groupby(keys).score.mean().reset_index()


def ceilings(tables: Mapping[str, pd.DataFrame], corr: str = "pearson",
             metric: str = "procrustes") -> pd.DataFrame:
    """Per recorded model and region: the mean and standard deviation over subject pairs of the
    region's score with itself in another subject (the noise ceiling), and the pair count; a
    model with one subject has no rows."""
    tables = as_tables(tables)
    recorded = recorded_models(tables)
    alignment = tables["alignment"]
    seeds = alignment[(alignment.analysis == "seeds") & (alignment["corr"] == corr)
                      & (alignment.metric == metric) & alignment.model_x.isin(recorded)]
    stats = seeds.groupby(["model_x", "index_x", "layer_x"]).score.agg(["mean", "std", "size"])
    return stats.rename(columns={"mean": "ceiling", "std": "ceiling_sd", "size": "pairs"}
                        ).reset_index().rename(columns={"model_x": "model_y", "index_x": "index_y",
                                                        "layer_x": "layer_y"})


def best_layers(tables: Mapping[str, pd.DataFrame], corr: str = "pearson",
                metric: str = "procrustes") -> pd.DataFrame:
    """Per recorded model and region (in hierarchy order): the network layer with the best
    score, its depth, and the score relative to the region's inter-subject ceiling (NaN with one
    subject)."""
    scores = layer_scores(tables, corr, metric)
    best = scores.loc[scores.groupby(["model_y", "index_y"]).score.idxmax()]
    best = best.merge(ceilings(tables, corr, metric), how="left",
                      on=["model_y", "index_y", "layer_y"])
    return best.assign(relative=best.score / best.ceiling).sort_values(
        ["model_y", "index_y"]).reset_index(drop=True)
