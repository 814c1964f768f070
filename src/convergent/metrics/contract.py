"""The constants and the result type fixed by the metric contract (``shared/spec/metrics.md``)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

#: The alignment metrics, in the order tables list them.
METRICS = ("linear", "procrustes", "permutation", "softmatch", "cka")
#: Metrics that fit a map in each direction and report both direction scores.
ASYMMETRIC = frozenset({"linear", "procrustes"})
#: How a fold compares held-out columns.
CORRS = ("pearson", "spearman")
#: The ridge penalties searched by ``linear``: 1e-8, 1e-7, ..., 1e8 (``np.logspace(-8, 8, 17)``).
RIDGE_ALPHAS = np.logspace(-8, 8, 17)
#: Iteration cap of the exact transport solver (the contract asks for at least 1e7).
EMD_MAX_ITER = 10_000_000
#: Name under which the rotation test's rotated permutation scores are tabled.
ROTATED = "permutation_rotated"


@dataclass(frozen=True)
class AlignmentResult:
    """The outcome of one comparison of two layers under one metric.

    Attributes
    ----------
    metric : str
        The metric asked for.
    score : float
        Mean of the fold scores (for ``cka``, the single all-rows score). A fold with no unit
        left to compare scores NaN, which makes the comparison NaN; ``notes`` says which fold.
    fold_scores : tuple of float
        One score per fold, in ``KFold`` order; NaN where a fold had no column to compare.
        Empty for ``cka``, which uses no folds.
    score_xy, score_yx : float or None
        Mean over folds of the X→Y and Y→X direction scores (asymmetric metrics only).
    corr : {"pearson", "spearman"}
    n_folds, seed : int
        The ``KFold`` settings used.
    x_units, y_units : int
        Units (columns) used after dropping constant ones.
    x_dropped, y_dropped : int
        Constant units dropped on each side (Step 0).
    solver : str
        The solver actually used, e.g. ``"emd (unequal widths)"`` when ``permutation`` falls back
        to soft matching.
    notes : tuple of str
        Anything the reader of the score must know (undefined folds, chosen ridge penalties).
    """

    metric: str
    score: float
    fold_scores: tuple[float, ...]
    score_xy: float | None
    score_yx: float | None
    corr: str
    n_folds: int
    seed: int
    x_units: int
    y_units: int
    x_dropped: int
    y_dropped: int
    solver: str
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict:
        """The CLI's JSON object: NaN becomes null and ``folds`` is the list of fold scores."""
        out = asdict(self)
        out["folds"] = [_json_float(v) for v in out.pop("fold_scores")]
        for key in ("score", "score_xy", "score_yx"):
            out[key] = _json_float(out[key])
        out["notes"] = list(self.notes)
        return out


def _json_float(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    return float(value)
