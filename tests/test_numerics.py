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
    full rank and of low rank; formed from the leading components only, the Grams are those of
    weights within ``slack`` of the true ones, and the rest adds up to the exact Grams."""
    from convergent.metrics.ridge import WeightedGrams

    U = torch.as_tensor(np.linalg.qr(rng.standard_normal((50, 7)))[0])
    full = torch.as_tensor(rng.uniform(0.5, 3.0, (17, 50)))
    low = torch.as_tensor(rng.uniform(0.5, 3.0, (17, 3)) @ rng.uniform(0.5, 3.0, (3, 50)))
    for weights in (full, low):
        explicit = torch.stack([(U.T * w) @ U for w in weights])
        grams = WeightedGrams(U, weights, leading=0.0)
        assert torch.allclose(grams.form(grams.leading_count), explicit, rtol=0, atol=1e-12)
        assert grams.complete and not grams.slack.any()
        partial = WeightedGrams(U, weights, leading=0.5)
        first = partial.form(partial.leading_count)
        assert not partial.complete
        k = partial.formed
        kept = partial.P[:, :k] @ partial.Phi[:k]
        assert torch.allclose(partial.slack, (weights - kept).abs().amax(dim=1))
        assert torch.allclose(first, torch.stack([(U.T * w) @ U for w in kept]), rtol=0,
                              atol=1e-12)
        rest = partial.form(len(partial.Phi))
        assert partial.complete and not partial.slack.any()
        assert torch.allclose(first + rest, explicit, rtol=0, atol=1e-12)
        # One α made exact by its own Gram; forming the rest later does not count it twice.
        by_alpha = WeightedGrams(U, weights, leading=0.5)
        first = by_alpha.form(by_alpha.leading_count)
        finished = by_alpha.finish(3)
        assert by_alpha.finished.tolist() == [a == 3 for a in range(17)]
        assert by_alpha.slack[3] == 0 and by_alpha.slack[2] > 0 and not by_alpha.complete
        assert torch.allclose(first[3] + finished, explicit[3], rtol=0, atol=1e-12)
        rest = by_alpha.form(len(by_alpha.Phi))
        assert not rest[3].any()
        assert torch.allclose(first + rest + (torch.arange(17) == 3)[:, None, None] * finished,
                              explicit, rtol=0, atol=1e-12)


@given(st.integers(1, 130), st.integers(0, 2**31))
def test_weighted_gram_from_its_upper_blocks_equals_the_full_product(r, seed):
    from convergent.metrics.ridge import weighted_gram

    rng = np.random.default_rng(seed)
    U, phi = torch.as_tensor(rng.standard_normal((40, r))), torch.as_tensor(
        rng.standard_normal(40))
    G = weighted_gram(U, phi)
    assert torch.equal(G, G.T)
    assert torch.allclose(G, (U.T * phi) @ U, rtol=0, atol=1e-12)


@pytest.mark.parametrize("leading", [1.0, 1e-3, 3e-4, 1e-5])
def test_alpha_from_the_leading_weight_components_is_the_complete_grams_choice(leading, rng):
    """The penalty chosen with only the leading weight components formed (the certified
    shortcut, making the contending α exact one at a time when its bounds cannot decide) is
    the one the complete Grams choose, over many targets, with noise levels that move the
    best α."""
    from convergent.metrics.ridge import ridge_pair

    fell_back = decided = 0
    for _ in range(12):
        X = rng.standard_normal((80, 12)) @ np.diag(np.logspace(0, -4, 12))
        Y = X @ rng.standard_normal((12, 6)) + 10.0 ** rng.uniform(-4, 1) * rng.standard_normal(
            (80, 6))
        X, Y = torch.as_tensor(X - X.mean(0)), torch.as_tensor(Y - Y.mean(0))
        px, py = RidgePredictor.fit(X, leading), RidgePredictor.fit(Y, leading)
        (_, a_xy), (_, a_yx) = ridge_pair(px, py, (X**2).sum(1), (Y**2).sum(1))
        finished = [int(p.grams.finished.sum()) for p in (px, py)]
        fell_back += sum(k > 0 for k in finished)
        decided += sum(k == 0 for k in finished)
        assert not px.grams.complete and not py.grams.complete  # one α at a time, not all
        complete_xy = RidgePredictor.fit(X, 0.0).solve(Y, (Y**2).sum(1))[1]
        complete_yx = RidgePredictor.fit(Y, 0.0).solve(X, (X**2).sum(1))[1]
        assert (a_xy, a_yx) == (complete_xy, complete_yx)
    if leading == 1.0:  # no component formed cannot certify a choice: every fit finished an α
        assert fell_back == 24
    if leading <= 3e-4:  # the default and below: the leading components decide some choices
        assert decided > 0




@given(st.integers(1, 40), st.integers(0, 2**31), st.sampled_from([1e-30, 1.0, 1e30]))
def test_the_float32_middle_term_moves_each_error_by_less_than_its_bound(width, seed, scale):
    """The middle term from a float32 product changes each α's leave-one-out error by no more
    than the bound :meth:`rounded_fitted_dot` gives, a bound far below the errors' size, for
    targets at any scale (the product is scaled by a power of two, so nothing under- or
    overflows in float32)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((60, 8)) @ np.diag(np.logspace(0, -2, 8))
    Y = (X @ rng.standard_normal((8, width)) + rng.standard_normal((60, width))) * scale
    X, Y = torch.as_tensor(X - X.mean(0)), torch.as_tensor(Y - Y.mean(0))
    px, py = RidgePredictor.fit(X, 0.0), RidgePredictor.fit(Y, 0.0)
    right = ((px.U.T @ py.U) * py.s**2).T
    exact = px.fitted_dot(py.U, right)
    rounded, bound = px.rounded_fitted_dot(py, right)
    moved = 2 * (px.shrink * (rounded - exact)).sum(dim=1).abs()
    assert torch.all(moved <= bound)
    assert torch.all(bound <= 1e-4 * (px.weights @ (Y**2).sum(dim=1)))


def _ridge_choices(rng, count):
    """``count`` predictor–target problems whose noise levels move the best α, with the
    penalties ridge_pair chooses and those of the complete Grams and exact products."""
    from convergent.metrics.ridge import ridge_pair

    for _ in range(count):
        X = rng.standard_normal((80, 12)) @ np.diag(np.logspace(0, -4, 12))
        Y = X @ rng.standard_normal((12, 6)) + 10.0 ** rng.uniform(-4, 1) * rng.standard_normal(
            (80, 6))
        X, Y = torch.as_tensor(X - X.mean(0)), torch.as_tensor(Y - Y.mean(0))
        px, py = RidgePredictor.fit(X, 0.0), RidgePredictor.fit(Y, 0.0)
        (_, a_xy), (_, a_yx) = ridge_pair(px, py, (X**2).sum(1), (Y**2).sum(1))
        exact_xy = RidgePredictor.fit(X, 0.0).solve(Y, (Y**2).sum(1))[1]
        exact_yx = RidgePredictor.fit(Y, 0.0).solve(X, (X**2).sum(1))[1]
        yield (a_xy, a_yx), (exact_xy, exact_yx)


@pytest.mark.parametrize("fast", ["float32", "bfloat16"])
def test_alpha_from_a_rounded_product_is_the_exact_products_choice(fast, monkeypatch, rng):
    """With the middle term's product formed in a low precision first, the penalty chosen is
    the exact product's: where the bound cannot decide, the product is formed again exactly.
    In float32 the noisier targets' choices need no second product; in bfloat16 (8 bits, whose
    errors would move some choices) most need one, and the choices are still exact."""
    import convergent.metrics.ridge as ridge

    monkeypatch.setattr(ridge, "FAST_PRODUCT", {
        "float32": (torch.float32, 2.0**-24), "bfloat16": (torch.bfloat16, 2.0**-8)}[fast])
    exact_products = []
    plain = RidgePredictor.fitted_dot
    monkeypatch.setattr(RidgePredictor, "fitted_dot", lambda self, left, right: (
        exact_products.append(1), plain(self, left, right))[1])
    for chosen, exact in _ridge_choices(rng, 12):
        assert chosen == exact
    choices, formed_again = 24, len(exact_products) - 24  # solve() forms one product each
    if fast == "float32":  # the low-noise targets need the second product, the others not
        assert 0 < formed_again < choices
    else:
        assert formed_again > choices / 2


def _conditioned(rng, m, n, kappa):
    """An m × n matrix with singular values from 1 down to 1/kappa, random singular vectors."""
    U = np.linalg.qr(rng.standard_normal((m, min(m, n))))[0]
    V = np.linalg.qr(rng.standard_normal((n, min(m, n))))[0]
    return torch.as_tensor((U * np.logspace(0, -np.log10(kappa), min(m, n))) @ V.T)


@given(st.integers(2, 40), st.floats(0, 8), st.integers(0, 2**31))
def test_thin_svd_factors_x_by_either_route(n, log_kappa, seed):
    """Whichever route it takes, thin_svd returns orthonormal U, descending s and V that
    rebuild X, spanning what LAPACK's SVD spans; the Gram route is taken exactly when
    ε κ² ≤ 1e-10, and then U is orthonormal to that bound."""
    from convergent.metrics.ridge import GRAM_ROUTE_ERROR, thin_svd

    rng = np.random.default_rng(seed)
    X = _conditioned(rng, 60, n, 10.0**log_kappa)
    U, s, V, gram = thin_svd(X)
    eps = torch.finfo(X.dtype).eps
    squared = eps * 10.0 ** (2 * log_kappa) / GRAM_ROUTE_ERROR  # ε κ² against the bound
    if abs(squared - 1) > 0.05:  # away from the border, where rounding may go either way
        assert gram == (squared < 1)
    tol = 10 * GRAM_ROUTE_ERROR if gram else 1e-12
    assert torch.all(s[:-1] >= s[1:])
    assert torch.allclose(U.T @ U, torch.eye(len(s), dtype=X.dtype), rtol=0, atol=tol)
    assert torch.allclose((U * s) @ V.T, X, rtol=0, atol=1e-12)
    Ul, sl, _ = torch.linalg.svd(X, full_matrices=False)
    kept = sl > sl[0] * 60 * eps
    assert torch.allclose(U @ U.T, Ul[:, kept] @ Ul[:, kept].T, rtol=0, atol=tol)


def test_thin_svd_takes_lapacks_route_for_wide_or_ill_conditioned_x(rng):
    from convergent.metrics.ridge import thin_svd

    assert thin_svd(_conditioned(rng, 50, 10, 10.0))[3]
    assert not thin_svd(_conditioned(rng, 50, 10, 10.0), try_gram=False)[3]
    assert not thin_svd(_conditioned(rng, 50, 10, 1e6))[3]
    assert not thin_svd(_conditioned(rng, 10, 50, 10.0))[3]


def test_a_layer_that_cannot_take_the_gram_route_stops_trying_after_one_fold(rng):
    """Conditioning is the layer's: once its fold 0 is too ill-conditioned for the Gram route,
    its other folds go straight to the SVD; a well-conditioned layer takes it in all."""
    from convergent.metrics.backend import resolve_backend
    from convergent.metrics.layer import Layer, make_splits

    backend = resolve_backend("cpu", "float64")
    splits = make_splits(200, 4, 0, backend)
    good = Layer("good", rng.standard_normal((200, 8)), splits, "pearson", backend)
    bad_data = rng.standard_normal((200, 8)) * np.logspace(0, -7, 8)
    bad = Layer("bad", bad_data, splits, "pearson", backend)
    assert [f.ridge.gram_route for f in good.folds] == [True] * 4
    assert [f.ridge.gram_route for f in bad.folds] == [False] * 4
    # Whichever fold is asked for first, fold 0 decides (so the routes do not depend on order).
    late = Layer("late", bad_data, splits, "pearson", backend)
    assert late.folds[2].ridge.gram_route is False and "ridge" in late.folds[0].__dict__


def test_training_gram_from_the_all_rows_gram_is_the_direct_product(rng):
    """A fold's training Gram formed from the all-rows Gram less the test rows' equals XᵀX of
    its centred training rows, including a unit constant over one fold's training rows (its
    row and column are exactly zero there) and a layer far from centred."""
    from convergent.metrics.backend import resolve_backend
    from convergent.metrics.layer import Layer, make_splits

    backend = resolve_backend("cpu", "float64")
    splits = make_splits(120, 4, 0, backend)
    data = rng.standard_normal((120, 9)) * np.logspace(0, -2, 9) + 50.0
    data[:, 4] = 3.0
    data[splits[1][1].numpy(), 4] = rng.standard_normal(len(splits[1][1]))
    layer = Layer("l", data, splits, "pearson", backend)
    for fold in layer.folds:
        direct = fold.train.T @ fold.train
        assert torch.allclose(fold.train_gram, direct, rtol=0, atol=1e-12 * direct.abs().max())
    assert not layer.folds[1].train_ok[4] and not layer.folds[1].train_gram[4].any()


def test_all_rows_products_from_the_test_folds_are_the_direct_products(rng):
    """The all-rows Gram and cross product, summed over the test folds (which partition the
    rows), equal the direct products over all rows, for an uneven split (103 rows, 4 folds)."""
    from convergent.metrics.backend import resolve_backend
    from convergent.metrics.layer import Layer, make_splits
    from convergent.metrics.pair import PairMoments

    backend = resolve_backend("cpu", "float64")
    splits = make_splits(103, 4, 0, backend)
    x = Layer("x", rng.standard_normal((103, 7)) + 5.0, splits, "pearson", backend)
    y = Layer("y", rng.standard_normal((103, 5)) * 3.0, splits, "pearson", backend)
    for summed, direct in ((x.gram, x.data.T @ x.data),
                           (PairMoments(x, y).all_rows, x.data.T @ y.data)):
        assert torch.allclose(summed, direct, rtol=0, atol=1e-12 * direct.abs().max())


def test_the_gram_route_moves_no_linear_score(monkeypatch, rng):
    """Scores and chosen penalties with the Gram route equal those of LAPACK's SVD alone."""
    import convergent.metrics.ridge as ridge

    X, Y = structured_pair(rng, 300, 24, 16, dead=0)
    fast = [score(X, Y, metric="linear"), score(Y, X[:, :12], metric="linear")]
    for data in (X, Y):  # both layers are conditioned well enough for the Gram route
        assert ridge.thin_svd(torch.as_tensor(data - data.mean(0)))[3]
    monkeypatch.setattr(ridge, "GRAM_ROUTE_ERROR", 0.0)
    slow = [score(X, Y, metric="linear"), score(Y, X[:, :12], metric="linear")]
    for a, b in zip(fast, slow, strict=True):
        assert a.score == pytest.approx(b.score, rel=0, abs=1e-12)
        assert a.notes == b.notes  # the penalties chosen, fold by fold


def test_k_from_the_training_cross_product_gives_the_same_ridge_pair(rng):
    """Between two layers on the Gram route, K from the training cross product (the pair's
    shared moments) gives the penalties and coefficients of K = Uₓᵀ U_y."""
    from convergent.metrics.ridge import ridge_pair

    X, Y = structured_pair(rng, 200, 20, 14, dead=0)
    X, Y = torch.as_tensor(X - X.mean(0)), torch.as_tensor(Y - Y.mean(0))
    px, py = RidgePredictor.fit(X), RidgePredictor.fit(Y)
    assert px.gram_route and py.gram_route
    shared = ridge_pair(px, py, (X**2).sum(1), (Y**2).sum(1), lambda: X.T @ Y)
    direct = ridge_pair(px, py, (X**2).sum(1), (Y**2).sum(1))
    for (B_shared, a_shared), (B_direct, a_direct) in zip(shared, direct, strict=True):
        assert a_shared == a_direct
        assert torch.allclose(B_shared, B_direct, rtol=0, atol=1e-10 * B_direct.abs().max())
