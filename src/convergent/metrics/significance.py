"""Chance and significance (contract: "Chance and significance"): the stimulus-shuffle null and
the rotation test over K Haar draws, each summarised as ``null_mean``, ``null_sd`` and a
one-sided ``p_value``.

Both reuse the prepared layers: a shuffle permutes the rows of an already prepared y layer (the
folds stay those of the rows' positions, so train and test sets keep their sizes), and a
rotation turns an already prepared x layer. What each draw costs is then the pair's own work:
cross products and the SVD for procrustes, the assignment for permutation, the transport plan
for softmatch; for linear also the ridge factorisation of the shuffled side, so a linear null
costs about K pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .contract import AlignmentResult
from .layer import Layer

#: The columns a test adds to a row.
NULL_COLUMNS = ["null_mean", "null_sd", "null_draws", "p_value"]


def shuffled(layer: Layer, permutation: np.ndarray) -> Layer:
    """``layer`` with its rows (stimuli) permuted; its folds stay those of the positions."""
    rows = layer.backend.tensor(permutation).long()
    moved = Layer(f"{layer.name}@shuffled", layer.data[rows], layer.splits, layer.corr,
                  layer.backend, layer.seed)
    moved.dropped = layer.dropped
    return moved


def permutations(m: int, draws: int, seed: int) -> list[np.ndarray]:
    """``draws`` seeded permutations of m rows (draw k from the seed sequence [seed, k])."""
    return [np.random.default_rng([seed, k]).permutation(m) for k in range(draws)]


def summary(observed: float, null: list[float]) -> dict[str, float]:
    """``null_mean``, ``null_sd`` (NaN for one draw), ``null_draws`` (K) and ``p_value`` =
    (1 + #{null ≥ observed}) / (K + 1) of one observed score against K null scores."""
    values = np.asarray(null, dtype=float)
    exceed = int(np.sum(values >= observed)) if np.isfinite(observed) else len(values)
    return {"null_mean": float(values.mean()),
            "null_sd": float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
            "null_draws": len(values),
            "p_value": (1 + exceed) / (len(values) + 1)}


def shuffle_null(x: Layer, y: Layer, observed: float, draws: int, seed: int,
                 compare: Callable[[Layer, Layer], AlignmentResult]) -> dict[str, float]:
    """The stimulus-shuffle null of one pair: ``compare`` against y with its rows permuted,
    ``draws`` times."""
    null = [compare(x, shuffled(y, p)).score for p in permutations(x.m, draws, seed)]
    return summary(observed, null)


def mean_result(results: list[AlignmentResult]) -> AlignmentResult:
    """Several draws as one result: the mean score and the mean of each fold's score."""
    first = results[0]
    if len(results) == 1:
        return first
    folds = tuple(float(np.mean(f)) for f in zip(*(r.fold_scores for r in results),
                                                    strict=True))
    return replace(first, score=float(np.mean([r.score for r in results])), fold_scores=folds)
