"""The study's two tested claims, per model and layer, with Holm-corrected decisions
(shared/spec/metrics.md, "Chance and significance"):

- *above chance*: the permutation score of corresponding layers across seeds exceeds the
  stimulus-shuffle null (the ``null_*`` columns of the seeds analysis);
- *privileged basis*: the native permutation score exceeds the scores after K Haar rotations
  (the ``null_*`` columns of the rotation analysis's ``permutation_rotated`` rows).

Each (seed pair, layer) has the engine's empirical ``p_value`` = (1 + #{draws ≥ score}) /
(K + 1). Its resolution is 1 / (K + 1): with K = 20 draws and 17 layers, Holm's first threshold
0.05 / 17 lies below every attainable p, so no layer could ever be declared significant. The
decisions therefore use a parametric p beside it (a departure from the contract, which names
only the empirical p): the score against a normal null whose mean and spread are estimated
from the K draws, i.e. the one-sided Student t prediction test

    t = (score − null_mean) / (null_sd · √(1 + 1/K)),  p_param = P(T_{K−1} ≥ t).

A layer's p over several seed pairs is the largest of its pairs' (an intersection-union test:
the claim must hold for every pair, which needs no independence between pairs that share a
network). Holm's step-down procedure then runs over the layers of each model at each end of its
training axis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import stdtr  # Student t's tail; scipy.stats would cost a figure job 1 s

from ..errors import InputError
from .tables import at_own_end, select

#: The family-wise error rate of the decisions.
ALPHA = 0.05
#: The columns of a per-layer test table.
TEST_COLUMNS = ["model", "end", "layer", "index", "depth", "score", "null_mean", "null_sd",
                "null_draws", "pairs", "p_value", "p_param", "holm"]


def holm(p_values, alpha: float = ALPHA) -> np.ndarray:
    """Holm's step-down decisions: reject the k-th smallest of m p-values while it is at most
    alpha / (m − k) (k = 0, 1, …), and none after the first that is not. NaN is never
    rejected."""
    p = np.asarray(p_values, dtype=float)
    reject = np.zeros(len(p), dtype=bool)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    for k, index in enumerate(order):
        if p[index] > alpha / (len(order) - k):
            break
        reject[index] = True
    return reject


def parametric_p(score, null_mean, null_sd, draws) -> np.ndarray:
    """One-sided p of ``score`` against a normal null estimated from ``draws`` draws (Student
    t prediction test, K − 1 degrees of freedom); NaN with fewer than two draws. A null without
    spread gives 0 below the score and 1 otherwise."""
    score, mean, sd, k = (np.asarray(v, dtype=float) for v in (score, null_mean, null_sd, draws))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (score - mean) / (sd * np.sqrt(1 + 1 / k))
        p = stdtr(np.maximum(k - 1, 1), -t)  # = scipy.stats.t.sf(t, k − 1)
    p = np.where(sd == 0, np.where(score > mean, 0.0, 1.0), p)
    return np.where((k >= 2) & np.isfinite(score) & np.isfinite(mean), p, np.nan)


def _tested(rows: pd.DataFrame, what: str) -> pd.DataFrame:
    if "p_value" not in rows.columns or rows.p_value.isna().all():
        raise InputError(f"{what} has no test columns: the alignment ran without draws "
                         "(align.null_draws for the seeds analysis, align.rotations > 1 for the "
                         "rotation analysis)")
    return rows.dropna(subset=["p_value"])


def _per_layer(rows: pd.DataFrame, end: str) -> pd.DataFrame:
    """Seed pairs folded into one test per model and layer; Holm within each model."""
    rows = rows.assign(p_param=parametric_p(rows.score, rows.null_mean, rows.null_sd,
                                            rows.null_draws))
    keys = ["model_x", "layer_x", "index_x", "depth_x"]
    layers = rows.groupby(keys).agg(
        score=("score", "mean"), null_mean=("null_mean", "mean"), null_sd=("null_sd", "mean"),
        null_draws=("null_draws", "min"), pairs=("score", "size"), p_value=("p_value", "max"),
        p_param=("p_param", "max")).reset_index()
    layers["holm"] = False
    for _, part in layers.groupby("model_x"):
        layers.loc[part.index, "holm"] = holm(part.p_param)
    layers = layers.rename(columns={"model_x": "model", "layer_x": "layer", "index_x": "index",
                                    "depth_x": "depth"}).assign(end=end)
    return layers[TEST_COLUMNS].sort_values(["model", "index"]).reset_index(drop=True)


def chance_test(alignment: pd.DataFrame, end: str = "trained", corr: str = "pearson",
                metric: str = "permutation") -> pd.DataFrame:
    """Per model and layer at one end of its axis: the ``metric`` score across seeds (mean over
    seed pairs) against its stimulus-shuffle null (columns :data:`TEST_COLUMNS`)."""
    rows = at_own_end(select(alignment, "seeds", corr, metric=metric), end)
    return _per_layer(_tested(rows, f"the seeds analysis ({metric})"), end)


def rotation_test(alignment: pd.DataFrame, end: str = "trained",
                  corr: str = "pearson") -> pd.DataFrame:
    """Per model and layer at one end of its axis: the native permutation score (``score``)
    against its K Haar rotations (``null_mean`` ± ``null_sd``: the rotated mean and spread);
    small p: the unit basis is privileged."""
    rows = at_own_end(select(alignment, "rotation", corr), end)
    native = rows[rows.metric == "permutation"]
    rotated = _tested(rows[rows.metric == "permutation_rotated"], "the rotation analysis")
    keys = ["model_x", "seed_x", "seed_y", "index_x"]
    both = rotated.drop(columns="score").merge(
        native[keys + ["score"]], on=keys, validate="one_to_one")
    return _per_layer(both, end)


def claim_counts(tests: pd.DataFrame) -> pd.DataFrame:
    """Per model (and end): how many layers are significant (Holm) of how many tested."""
    return (tests.groupby(["model", "end"]).holm.agg(significant="sum", layers="size")
            .reset_index())
