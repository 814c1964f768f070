"""Invariances that follow from the contract's per-unit scoring, as properties (hypothesis),
and the ones that do not hold, shown to fail."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convergent.metrics import haar_rotation, rotation_test, score

from plain import haar_rotation as plain_haar

TOL = 1e-7
seeds = st.integers(0, 2**32 - 1)
widths = st.integers(2, 12)
metrics_with_folds = st.sampled_from(["linear", "procrustes", "permutation", "softmatch"])
corrs = st.sampled_from(["pearson", "spearman"])


def pair(seed, nx, ny, m=90):
    """Two partly related layers with generic (non-degenerate) units."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((m, 4))
    X = latent @ rng.standard_normal((4, nx)) + 0.7 * rng.standard_normal((m, nx))
    Y = np.tanh(latent @ rng.standard_normal((4, ny))) + 0.7 * rng.standard_normal((m, ny))
    return X, Y, rng


def orthogonal(rng, n):
    return haar_rotation(n, int(rng.integers(2**31)))


def signed_permutation(rng, n):
    return np.eye(n)[rng.permutation(n)] * rng.choice([-1.0, 1.0], size=n)


@given(seeds, widths, widths, corrs)
def test_xy_direction_of_linear_and_procrustes_ignores_rotating_x(seed, nx, ny, corr):
    X, Y, rng = pair(seed, nx, ny)
    Q = orthogonal(rng, nx)
    for metric in ("linear", "procrustes"):
        before = score(X, Y, metric=metric, corr=corr).score_xy
        after = score(X @ Q, Y, metric=metric, corr=corr).score_xy
        assert after == pytest.approx(before, abs=TOL)


@given(seeds, widths, widths, corrs)
def test_procrustes_ignores_signed_permutations_and_scale(seed, nx, ny, corr):
    X, Y, rng = pair(seed, nx, ny)
    base = score(X, Y, metric="procrustes", corr=corr)
    Xt = 3.7 * X @ signed_permutation(rng, nx)
    Yt = 0.2 * Y @ signed_permutation(rng, ny)
    moved = score(Xt, Yt, metric="procrustes", corr=corr)
    assert moved.score_xy == pytest.approx(base.score_xy, abs=TOL)
    assert moved.score_yx == pytest.approx(base.score_yx, abs=TOL)


@given(seeds, widths, widths, corrs, st.sampled_from(["permutation", "softmatch"]))
def test_matching_ignores_unit_order_and_positive_affine_maps(seed, nx, ny, corr, metric):
    X, Y, rng = pair(seed, nx, ny)
    base = score(X, Y, metric=metric, corr=corr).score
    Xt = X[:, rng.permutation(nx)] * rng.uniform(0.1, 10, nx) + rng.normal(0, 5, nx)
    Yt = Y[:, rng.permutation(ny)] * rng.uniform(0.1, 10, ny) + rng.normal(0, 5, ny)
    assert score(Xt, Yt, metric=metric, corr=corr).score == pytest.approx(base, abs=TOL)


@given(seeds, widths, widths)
def test_cka_ignores_rotations_and_scale(seed, nx, ny):
    X, Y, rng = pair(seed, nx, ny)
    base = score(X, Y, metric="cka").score
    moved = score(5.0 * X @ orthogonal(rng, nx), 0.3 * Y @ orthogonal(rng, ny), metric="cka")
    assert moved.score == pytest.approx(base, abs=TOL)


@given(seeds, widths, metrics_with_folds | st.just("cka"), corrs)
def test_a_layer_against_itself_scores_one(seed, n, metric, corr):
    X, _, _ = pair(seed, n, 2, m=12 * n)  # every test fold has more stimuli than units
    assert score(X, X, metric=metric, corr=corr).score == pytest.approx(1.0, abs=1e-6)


@given(seeds, widths, corrs)
def test_permutation_equals_softmatch_at_equal_widths(seed, n, corr):
    X, Y, _ = pair(seed, n, n)
    perm = score(X, Y, metric="permutation", corr=corr)
    soft = score(X, Y, metric="softmatch", corr=corr)
    assert perm.solver == "linear_sum_assignment" and soft.solver == "emd"
    assert perm.score == pytest.approx(soft.score, abs=1e-9)


def sparse_code(seed, n=16, m=400):
    """Two noisy views of a sparse, non-negative code: each unit is a privileged axis."""
    rng = np.random.default_rng(seed)
    code = np.maximum(rng.standard_normal((m, n)) - 1.0, 0) * rng.exponential(1.0, (m, n))
    X = code + 0.05 * rng.standard_normal((m, n))
    Y = code[:, rng.permutation(n)] + 0.05 * rng.standard_normal((m, n))
    return X, Y


@given(seeds, seeds)
def test_rotation_lowers_permutation_score_of_a_privileged_basis(seed, rotation_seed):
    X, Y = sparse_code(seed)
    test = rotation_test(X, Y, rotation_seed=rotation_seed)
    assert test["native"].score > 0.9
    assert test["rotated"].score < test["native"].score - 0.3
    assert test["change_pct"] == pytest.approx(
        (test["native"].score - test["rotated"].score) / test["rotated"].score * 100)


def test_not_invariant_permutation_under_rotation():
    """Permutation is not rotation invariant: that is what the rotation test measures."""
    X, Y = sparse_code(3)
    Q = haar_rotation(X.shape[1], 9)
    assert abs(score(X @ Q, Y, metric="permutation").score
               - score(X, Y, metric="permutation").score) > 0.3


def test_not_invariant_procrustes_under_unit_scaling():
    """Procrustes allows rotations only: rescaling single units changes it."""
    X, Y, rng = pair(5, 8, 8)
    D = np.diag(np.geomspace(0.05, 20, 8))
    assert abs(score(X @ D, Y, metric="procrustes").score_xy
               - score(X, Y, metric="procrustes").score_xy) > 0.01


def test_not_invariant_linear_yx_direction_under_rotating_x():
    """Rotating X changes the per-unit targets of the Y→X direction."""
    X, Y, rng = pair(8, 8, 5)
    Q = haar_rotation(8, 1)
    assert abs(score(X @ Q, Y, metric="linear").score_yx
               - score(X, Y, metric="linear").score_yx) > 1e-3


@given(st.integers(1, 40), seeds)
def test_haar_rotation_is_orthogonal_and_matches_the_contract(n, seed):
    Q = haar_rotation(n, seed)
    assert np.allclose(Q.T @ Q, np.eye(n), atol=1e-12)
    assert np.array_equal(Q, plain_haar(n, seed))


def test_rank_deficient_procrustes_is_reproducible():
    """With fewer training stimuli than units Q is not unique; our choice (the non-null
    directions only) is the same in float32 as in float64 and for a re-run."""
    X, Y, _ = pair(2, 60, 50, m=40)
    a = score(X, Y, metric="procrustes").score
    assert score(X, Y, metric="procrustes").score == a
    assert score(X, Y, metric="procrustes", dtype="float32").score == pytest.approx(a, abs=1e-4)


@pytest.mark.parametrize("metric", ["linear", "procrustes"])
def test_a_unit_constant_on_the_training_rows_is_left_out_of_that_fold(metric):
    """A unit active on one stimulus only is constant over the training rows of the fold that
    tests that stimulus: it is not mapped there, so that fold scores as if it were absent."""
    from sklearn.model_selection import KFold

    X, Y, rng = pair(21, 9, 7, m=80)
    Y[:, 3] = 0.0
    Y[17, 3] = 2.5
    fold = next(f for f, (_, te) in enumerate(KFold(5, shuffle=True, random_state=0).split(Y))
                if 17 in te)
    with_unit = score(X, Y, metric=metric).fold_scores[fold]
    without = score(X, np.delete(Y, 3, axis=1), metric=metric).fold_scores[fold]
    assert with_unit == pytest.approx(without, abs=1e-10)
