"""The engine agrees with the deliberately plain implementation of the spec (tests/plain.py),
pair by pair and over a grid."""

import numpy as np
import pytest

from convergent.metrics import METRICS, grid, score

from conftest import structured_pair
from plain import plain_score

TOL = 1e-6


def assert_agrees(X, Y, metric, corr="pearson", folds=5, seed=0):
    fast = score(X, Y, metric=metric, folds=folds, seed=seed, corr=corr)
    ref = plain_score(X, Y, metric, folds=folds, seed=seed, corr=corr)
    assert fast.score == pytest.approx(ref["score"], abs=TOL)
    assert np.allclose(fast.fold_scores, ref["folds"], atol=TOL, rtol=0)
    for side in ("score_xy", "score_yx"):
        if ref[side] is None:
            assert getattr(fast, side) is None
        else:
            assert getattr(fast, side) == pytest.approx(ref[side], abs=TOL)
    assert (fast.x_units, fast.y_units) == (ref["x_units"], ref["y_units"])
    assert (fast.x_dropped, fast.y_dropped) == (ref["x_dropped"], ref["y_dropped"])
    return fast, ref


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("corr", ["pearson", "spearman"])
def test_random_data(metric, corr, rng):
    X, Y = rng.standard_normal((150, 12)), rng.standard_normal((150, 9))
    Y[:, :4] += X[:, :4]
    assert_agrees(X, Y, metric, corr)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("corr", ["pearson", "spearman"])
@pytest.mark.parametrize("shape", [(240, 20, 35, 3), (200, 30, 30, 2), (60, 40, 25, 1)])
def test_structured_unequal_widths_dead_units(metric, corr, shape, rng):
    m, nx, ny, dead = shape
    X, Y = structured_pair(rng, m, nx, ny, dead)
    fast, _ = assert_agrees(X, Y, metric, corr, folds=4, seed=7)
    assert fast.x_dropped >= dead and fast.y_dropped >= dead


@pytest.mark.parametrize("metric", ["linear", "permutation", "softmatch"])
def test_more_units_than_training_rows(metric, rng):
    """m_train < n: ridge in its interpolating regime. (Procrustes is not unique there: see
    test_invariances.test_rank_deficient_procrustes_is_reproducible.)"""
    X, Y = structured_pair(rng, 50, 70, 45)
    assert_agrees(X, Y, metric, folds=5)


def test_ties_with_spearman(rng):
    X = rng.integers(0, 3, size=(120, 8)).astype(float)
    Y = X[:, ::-1] + rng.integers(0, 2, size=(120, 8))
    for metric in METRICS:
        assert_agrees(X, Y, metric, "spearman")


def test_permutation_with_unequal_widths_is_softmatch(rng):
    X, Y = structured_pair(rng, 200, 16, 11)
    perm, ref = assert_agrees(X, Y, "permutation")
    assert "softmatch" in perm.solver and ref["solver"] == "softmatch"
    assert perm.score == score(X, Y, metric="softmatch").score


@pytest.mark.parametrize("pairs", ["all", "diagonal"])
def test_grid_equals_per_pair(pairs, rng):
    latent = rng.standard_normal((160, 5))
    A = {f"a{i}": np.maximum(latent @ rng.standard_normal((5, w)), 0) for i, w in
         enumerate((6, 10, 14))}
    B = {f"b{i}": np.tanh(latent @ rng.standard_normal((5, w))) for i, w in enumerate((8, 10, 5))}
    A["a1"][:, 2] = 1.0  # a dead unit
    table = grid(A, B, metrics=METRICS, pairs=pairs, folds=4, seed=3, rotate=11)
    expected_pairs = 9 if pairs == "all" else 3
    assert len(table) == expected_pairs * (len(METRICS) + 1)
    for row in table.itertuples():
        X, Y = A[row.layer_x], B[row.layer_y]
        if row.metric == "permutation_rotated":
            continue
        single = score(X, Y, metric=row.metric, folds=4, seed=3)
        assert row.score == pytest.approx(single.score, abs=1e-12)
        folds = [getattr(row, f"fold_{k}") for k in range(4)]
        if row.metric == "cka":
            assert np.isnan(folds).all()
        else:
            assert np.allclose(folds, single.fold_scores, atol=1e-12)
        assert (row.x_units, row.y_units, row.x_dropped) == (
            single.x_units, single.y_units, single.x_dropped)
    if pairs == "diagonal":
        assert list(table.index_x) == list(table.index_y)


def test_grid_equals_plain_implementation_to_1e9(rng):
    """Every metric of a float64 grid (layers shared by several pairs, so every per-layer
    factorisation is reused) equals the plain per-pair implementation to 1e-9, fold by fold."""
    latent = rng.standard_normal((180, 6))
    A = [np.maximum(latent @ rng.standard_normal((6, w)) + 0.3 * rng.standard_normal((180, w)),
                    0) for w in (7, 12)]
    B = [np.tanh(latent @ rng.standard_normal((6, w))) + 0.1 * rng.standard_normal((180, w))
         for w in (12, 5)]
    table = grid(A, B, metrics=METRICS, folds=4, seed=2, dtype="float64")
    for row in table.itertuples():
        ref = plain_score(A[row.index_x], B[row.index_y], row.metric, folds=4, seed=2)
        assert row.score == pytest.approx(ref["score"], abs=1e-9, rel=0)
        if row.metric != "cka":
            folds = [getattr(row, f"fold_{k}") for k in range(4)]
            assert np.allclose(folds, ref["folds"], atol=1e-9, rtol=0)
