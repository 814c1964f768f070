"""Privileged axes: permutation alignment before and after a random rotation."""

from __future__ import annotations

import pandas as pd

from .tables import at_end, select


def rotation_pairs(alignment: pd.DataFrame, corr: str = "pearson") -> pd.DataFrame:
    """One row per model, seed pair and layer: native and rotated permutation scores and the
    change in % ((native − rotated) / rotated × 100)."""
    rows = at_end(select(alignment, "rotation", corr))
    keys = ["model_x", "seed_x", "seed_y", "index_x", "depth_x"]
    wide = rows.pivot_table(index=keys, columns="metric", values="score").reset_index()
    wide = wide.rename(columns={"permutation": "native", "permutation_rotated": "rotated"})
    return wide.assign(change_pct=(wide.native - wide.rotated) / wide.rotated * 100)


def rotation_table(alignment: pd.DataFrame, corr: str = "pearson") -> pd.DataFrame:
    """Per architecture: min and max over layers (of the seed-pair means) of the native and
    rotated scores and of the change in %."""
    per_layer = rotation_pairs(alignment, corr).groupby(["model_x", "index_x"])[
        ["native", "rotated", "change_pct"]].mean()
    table = per_layer.groupby("model_x").agg(["min", "max"])
    table.columns = [f"{a}_{b}" for a, b in table.columns]
    return table.reset_index().rename(columns={"model_x": "model"})
