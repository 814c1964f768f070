"""The numeric core: ranks, devices and dtypes, reproducibility."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import rankdata

from convergent.metrics import METRICS, grid, score
from convergent.metrics.correlation import rank_columns
from convergent.metrics.ridge import RidgePredictor

from conftest import structured_pair


@given(arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 5)),
              elements=st.integers(-3, 3).map(float)))
def test_rank_columns_matches_scipy_average_ranks(A):
    ours = rank_columns(torch.as_tensor(A)).numpy()
    assert np.array_equal(ours, rankdata(A, axis=0, method="average"))


def test_ridge_loo_errors_match_explicit_leave_one_out(rng):
    """The factorised LOO error equals refitting without each row, for every alpha."""
    X = rng.standard_normal((25, 6))
    Y = X @ rng.standard_normal((6, 3)) + rng.standard_normal((25, 3))
    pred = RidgePredictor.fit(torch.as_tensor(X))
    errors, _ = pred.loo_errors(torch.as_tensor(Y), torch.as_tensor((Y**2).sum(1)))
    for alpha, err in zip(pred.alphas.numpy(), errors.numpy(), strict=True):
        explicit = 0.0
        for i in range(25):
            keep = np.arange(25) != i
            B = np.linalg.solve(X[keep].T @ X[keep] + alpha * np.eye(6), X[keep].T @ Y[keep])
            explicit += ((Y[i] - X[i] @ B) ** 2).sum()
        assert err == pytest.approx(explicit, rel=1e-8)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("corr", ["pearson", "spearman"])
def test_float32_within_1e4_of_float64(metric, corr, rng):
    X, Y = structured_pair(rng, 400, 48, 32, dead=2)
    X, Y = X * 10.0 + 3.0, Y  # an offset and scale, as real activations have
    wide = score(X, Y, metric=metric, corr=corr, dtype="float64").score
    narrow = score(X, Y, metric=metric, corr=corr, dtype="float32").score
    assert narrow == pytest.approx(wide, abs=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason="needs a CUDA device; this machine has none (the same code runs on "
                    "the CPU in every other test)")
@pytest.mark.parametrize("metric", METRICS)
def test_gpu_float32_within_1e4_of_cpu_float64(metric, rng):
    X, Y = structured_pair(rng, 600, 64, 48, dead=2)
    cpu = score(X, Y, metric=metric, device="cpu").score
    gpu = score(X, Y, metric=metric, device="cuda")
    assert gpu.score == pytest.approx(cpu, abs=1e-4)


def test_same_settings_same_numbers_other_seed_other_folds(rng):
    latent = rng.standard_normal((120, 3))
    A = [latent @ rng.standard_normal((3, 6)), np.tanh(latent @ rng.standard_normal((3, 5)))]
    B = [latent @ rng.standard_normal((3, 4)) + rng.standard_normal((120, 4))]
    one = grid(A, B, metrics=METRICS, seed=4)
    two = grid(A, B, metrics=METRICS, seed=4)
    assert one.equals(two)
    other = grid(A, B, metrics=["procrustes"], seed=5)
    assert not np.allclose(other.fold_0, one[one.metric == "procrustes"].fold_0)


def test_a_fold_without_defined_columns_is_nan_and_says_so():
    X = np.zeros((10, 1))
    X[0, 0] = 1.0  # varies in one row only: constant in every fold but the one that tests row 0
    Y = np.arange(10.0)[:, None]
    result = score(X, Y, metric="permutation", folds=2)
    assert np.isnan(result.score)
    assert any("NaN" in note for note in result.notes)


@given(st.integers(4, 60), st.integers(2, 6), st.integers(0, 2**31 - 1))
def test_kfold_indices_equal_scikit_learn(m, folds, seed):
    from sklearn.model_selection import KFold

    from convergent.metrics.layer import kfold_indices

    if folds > m:
        return
    ours = kfold_indices(m, folds, seed)
    theirs = list(KFold(folds, shuffle=True, random_state=seed).split(np.zeros((m, 1))))
    assert len(ours) == len(theirs)
    for (a, b), (c, d) in zip(ours, theirs, strict=True):
        assert np.array_equal(a, c) and np.array_equal(b, d)


@pytest.mark.parametrize("shape", [(60, 8, 5), (30, 40, 12), (40, 9, 60)])
def test_ridge_pair_equals_each_direction_fitted_alone(shape, rng):
    """The pair form (one Uₓᵀ U_y product shared by both directions, the target taken from its
    own SVD) gives the coefficients and penalties of fitting each direction on its own rows,
    also with more units than rows, where both layers' SVDs drop a direction."""
    from convergent.metrics.ridge import ridge_pair

    m, nx, ny = shape
    X = rng.standard_normal((m, nx)) @ np.diag(np.logspace(0, -3, nx))
    Y = X[:, :min(nx, ny)] @ rng.standard_normal((min(nx, ny), ny)) + 0.3 * rng.standard_normal(
        (m, ny))
    X, Y = torch.as_tensor(X - X.mean(0)), torch.as_tensor(Y - Y.mean(0))
    px, py = RidgePredictor.fit(X), RidgePredictor.fit(Y)
    (B_xy, a_xy), (B_yx, a_yx) = ridge_pair(px, py, (X**2).sum(1), (Y**2).sum(1))
    alone_xy, alone_yx = px.solve(Y, (Y**2).sum(1)), py.solve(X, (X**2).sum(1))
    assert (a_xy, a_yx) == (alone_xy[1], alone_yx[1])
    assert torch.allclose(B_xy, alone_xy[0], rtol=0, atol=1e-9 * alone_xy[0].abs().max())
    assert torch.allclose(B_yx, alone_yx[0], rtol=0, atol=1e-9 * alone_yx[0].abs().max())


def test_weighted_grams_equal_one_gram_per_weight_row(rng):
    """The low-rank route to Uᵀ diag(c_α) U equals forming each weighted Gram, for weights of
    full rank and of low rank."""
    from convergent.metrics.ridge import weighted_grams

    U = torch.as_tensor(np.linalg.qr(rng.standard_normal((50, 7)))[0])
    full = torch.as_tensor(rng.uniform(0.5, 3.0, (17, 50)))
    low = torch.as_tensor(rng.uniform(0.5, 3.0, (17, 3)) @ rng.uniform(0.5, 3.0, (3, 50)))
    for weights in (full, low):
        explicit = torch.stack([(U.T * w) @ U for w in weights])
        assert torch.allclose(weighted_grams(U, weights), explicit, rtol=0, atol=1e-12)
