"""Privileged axes: permutation alignment before and after random rotations, in trained networks
and in their untrained initialisations (the control: how much of a privileged basis training
makes)."""

from __future__ import annotations

import pandas as pd

from ..errors import InputError
from .claims import rotation_test
from .tables import at_own_end, select

ENDS = ("trained", "untrained")
#: The columns of the rotation table (``rotation.csv``).
ROTATION_COLUMNS = ["model", "end", "layer", "index", "depth", "native", "rotated",
                    "rotated_sd", "change_pct", "pairs", "p_value", "p_param", "holm"]
#: What the rotation table takes from the per-layer test.
_TESTED = ["model", "index", "null_sd", "pairs", "p_value", "p_param", "holm"]


def rotation_pairs(alignment: pd.DataFrame, corr: str = "pearson",
                   end: str = "trained") -> pd.DataFrame:
    """One row per model, seed pair and layer at one end of the model's axis: native and
    rotated permutation scores (the mean over the Haar draws) and the change in %
    ((native − rotated) / rotated × 100)."""
    rows = at_own_end(select(alignment, "rotation", corr), end)
    keys = ["model_x", "seed_x", "seed_y", "layer_x", "index_x", "depth_x"]
    wide = rows.pivot_table(index=keys, columns="metric", values="score").reset_index()
    wide = wide.rename(columns={"permutation": "native", "permutation_rotated": "rotated"})
    return wide.assign(change_pct=(wide.native - wide.rotated) / wide.rotated * 100)


def _layer_means(pairs: pd.DataFrame, end: str) -> pd.DataFrame:
    means = (pairs.groupby(["model_x", "layer_x", "index_x", "depth_x"])
             [["native", "rotated", "change_pct"]].mean().reset_index())
    return means.rename(columns={"model_x": "model", "layer_x": "layer", "index_x": "index",
                                 "depth_x": "depth"}).assign(end=end)


def rotation_table(alignment: pd.DataFrame, corr: str = "pearson") -> pd.DataFrame:
    """Per model, end of its axis and layer (columns :data:`ROTATION_COLUMNS`): the native
    score, the rotated mean ± sd over the Haar draws (means over seed pairs), the change in %,
    and the test of native against rotated (:func:`convergent.analysis.claims.rotation_test`:
    empirical and parametric p, Holm decision at 0.05). Without draws (``align.rotations``
    1) the test columns are NaN."""
    parts = []
    for end in ENDS:
        pairs = rotation_pairs(alignment, corr, end)
        if pairs.empty:
            continue
        layers = _layer_means(pairs, end)
        try:
            test = rotation_test(alignment, end, corr)[_TESTED]
        except InputError:  # one draw: no spread and no p
            test = pd.DataFrame(columns=_TESTED)
        layers = layers.merge(test.rename(columns={"null_sd": "rotated_sd"}),
                              on=["model", "index"], how="left")
        parts.append(layers)
    if not parts:
        raise InputError("the rotation analysis has no rows")
    table = pd.concat(parts, ignore_index=True)
    table["holm"] = table.holm.astype("boolean")
    # trained before untrained, as ENDS lists them
    order = table.end.map({end: k for k, end in enumerate(ENDS)})
    return (table.assign(order=order).sort_values(["model", "order", "index"])[ROTATION_COLUMNS]
            .reset_index(drop=True))


def rotation_ranges(alignment: pd.DataFrame, corr: str = "pearson") -> pd.DataFrame:
    """Per architecture, trained (the paper's Table 1): min and max over layers (of the
    seed-pair means) of the native and rotated scores and of the change in %."""
    per_layer = rotation_pairs(alignment, corr).groupby(["model_x", "index_x"])[
        ["native", "rotated", "change_pct"]].mean()
    table = per_layer.groupby("model_x").agg(["min", "max"])
    table.columns = [f"{a}_{b}" for a, b in table.columns]
    return table.reset_index().rename(columns={"model_x": "model"})

