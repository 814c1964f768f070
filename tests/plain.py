"""Deliberately plain reference implementation of the alignment scores in spec/metrics.md.

This module is used by the tests and the benchmark to check the fast implementation. It is
written to be obviously correct, not fast: one function per metric, plain loops over folds,
one helper for the per-column correlation r(A, B), float64 throughout, numpy / scipy /
scikit-learn / POT only (no torch).

Choices made where the spec is silent (the fast implementation must make the same ones):
- Zero variance (Step 0, the test columns in r, the training columns in C) is tested
  exactly, with ``np.ptp(col) == 0``; nothing is thresholded.
- ``permutation`` / ``softmatch``: C is always Pearson over the centred training rows, even
  when ``corr="spearman"``; ``corr`` only chooses the correlation used on the test rows.
- A fold with no usable column / pair scores NaN; the comparison's score is ``np.mean`` of the
  fold scores, so one NaN fold makes the score NaN (never silently skipped).
- Direction scores (``linear``, ``procrustes``) are the mean over folds of that direction's
  fold score; the fold score is the mean of the two directions, so score == mean(score_xy,
  score_yx) when nothing is NaN.
- ``softmatch`` keeps the pairs with ``P[i, j] > 0`` exactly as ``ot.emd`` returns them.
- ``permutation`` with nx != ny is computed by ``softmatch_fold``; the extra key ``"solver"``
  says which computation was used ("softmatch" then, otherwise the metric's own name).
- ``cka`` uses all m rows, centred by their column means; it has no folds (``folds == []``).
"""

import numpy as np
import ot
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold

METRICS = ("linear", "procrustes", "permutation", "softmatch", "cka")
ALPHAS = np.logspace(-8, 8, 17)


def haar_rotation(n, seed):
    """Haar-random orthogonal n x n matrix, exactly as in the spec's rotation test."""
    G = np.random.default_rng(seed).standard_normal((n, n))
    Q, R = np.linalg.qr(G)
    Q = Q * np.sign(np.diag(R))
    return Q


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def pearson(a, b):
    """Pearson correlation of two 1-D vectors (explicit formula, float64)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a - a.mean()
    b = b - b.mean()
    return float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b)))


def pair_corr(a, b, corr):
    """Correlation of two test-row columns, or None if either has zero variance."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    if corr == "spearman":
        a = rankdata(a, method="average")
        b = rankdata(b, method="average")
    return pearson(a, b)


def r(A, B, corr):
    """Mean over columns j of corr(A[:, j], B[:, j]); columns with zero variance are skipped.

    Returns NaN when no column is left.
    """
    values = []
    for j in range(A.shape[1]):
        c = pair_corr(A[:, j], B[:, j], corr)
        if c is not None:
            values.append(c)
    if len(values) == 0:
        return float("nan")
    return float(np.mean(values))


def train_corr_matrix(Xtr, Ytr):
    """C[i, j] = Pearson(Xtr[:, i], Ytr[:, j]) over the training rows (np.corrcoef).

    A column with zero training variance gives 0 for its whole row / column.
    """
    nx = Xtr.shape[1]
    ny = Ytr.shape[1]
    keep_x = [i for i in range(nx) if np.ptp(Xtr[:, i]) != 0]
    keep_y = [j for j in range(ny) if np.ptp(Ytr[:, j]) != 0]
    C = np.zeros((nx, ny))
    if len(keep_x) > 0 and len(keep_y) > 0:
        full = np.corrcoef(Xtr[:, keep_x], Ytr[:, keep_y], rowvar=False)
        C[np.ix_(keep_x, keep_y)] = full[: len(keep_x), len(keep_x) :]
    return C


def train_corr_matrix_loop(Xtr, Ytr):
    """The same C as train_corr_matrix, with a plain double loop (slow; used to check it)."""
    nx = Xtr.shape[1]
    ny = Ytr.shape[1]
    C = np.zeros((nx, ny))
    for i in range(nx):
        if np.ptp(Xtr[:, i]) == 0:
            continue
        for j in range(ny):
            if np.ptp(Ytr[:, j]) == 0:
                continue
            C[i, j] = pearson(Xtr[:, i], Ytr[:, j])
    return C


def drop_constant(Z):
    """Step 0: drop the columns that are exactly constant over all rows."""
    keep = [j for j in range(Z.shape[1]) if np.ptp(Z[:, j]) != 0]
    return Z[:, keep], Z.shape[1] - len(keep)


def centred_fold(X, Y, train, test):
    """Centre X and Y with the training rows' column means; return train/test parts."""
    mx = X[train].mean(axis=0)
    my = Y[train].mean(axis=0)
    return X[train] - mx, X[test] - mx, Y[train] - my, Y[test] - my


# --------------------------------------------------------------------------------------------
# fold scores, one function per metric; each returns (fold_score, score_xy, score_yx)
# --------------------------------------------------------------------------------------------


def linear_fold(Xtr, Xte, Ytr, Yte, corr):
    model_xy = RidgeCV(alphas=ALPHAS, fit_intercept=False).fit(Xtr, Ytr)
    s_xy = r(model_xy.predict(Xte).reshape(len(Xte), -1), Yte, corr)
    model_yx = RidgeCV(alphas=ALPHAS, fit_intercept=False).fit(Ytr, Xtr)
    s_yx = r(model_yx.predict(Yte).reshape(len(Yte), -1), Xte, corr)
    return (s_xy + s_yx) / 2, s_xy, s_yx


def zero_pad(Z, n):
    out = np.zeros((Z.shape[0], n))
    out[:, : Z.shape[1]] = Z
    return out


def procrustes_fold(Xtr, Xte, Ytr, Yte, corr):
    nx = Xtr.shape[1]
    ny = Ytr.shape[1]
    n = max(nx, ny)
    Xtr_p, Xte_p = zero_pad(Xtr, n), zero_pad(Xte, n)
    Ytr_p, Yte_p = zero_pad(Ytr, n), zero_pad(Yte, n)
    U, S, Vt = np.linalg.svd(Xtr_p.T @ Ytr_p)
    Q = U @ Vt
    s_xy = r((Xte_p @ Q)[:, :ny], Yte, corr)
    s_yx = r((Yte_p @ Q.T)[:, :nx], Xte, corr)
    return (s_xy + s_yx) / 2, s_xy, s_yx


def permutation_fold(Xtr, Xte, Ytr, Yte, corr):
    """Requires nx == ny (the caller sends nx != ny to softmatch_fold)."""
    C = train_corr_matrix(Xtr, Ytr)
    rows, cols = linear_sum_assignment(C, maximize=True)
    values = []
    for i, j in zip(rows, cols, strict=True):
        c = pair_corr(Xte[:, i], Yte[:, j], corr)
        if c is not None:
            values.append(c)
    if len(values) == 0:
        return float("nan"), None, None
    return float(np.mean(values)), None, None


def softmatch_fold(Xtr, Xte, Ytr, Yte, corr):
    nx = Xtr.shape[1]
    ny = Ytr.shape[1]
    C = train_corr_matrix(Xtr, Ytr)
    P, log = ot.emd(
        np.full(nx, 1.0 / nx), np.full(ny, 1.0 / ny), 1.0 - C, numItermax=10_000_000, log=True
    )
    if log["warning"] is not None:
        raise RuntimeError(f"softmatch: ot.emd did not converge: {log['warning']}")
    total = 0.0
    weight = 0.0
    for i in range(nx):
        for j in range(ny):
            if P[i, j] > 0:
                c = pair_corr(Xte[:, i], Yte[:, j], corr)
                if c is not None:
                    total += P[i, j] * c
                    weight += P[i, j]
    if weight == 0:
        return float("nan"), None, None
    return float(total / weight), None, None


def cka_all_rows(X, Y):
    Xc = X - X.mean(axis=0)
    Yc = Y - Y.mean(axis=0)
    num = np.linalg.norm(Yc.T @ Xc, "fro") ** 2
    den = np.linalg.norm(Xc.T @ Xc, "fro") * np.linalg.norm(Yc.T @ Yc, "fro")
    return float(num / den)


FOLD_FUNCTIONS = {
    "linear": linear_fold,
    "procrustes": procrustes_fold,
    "permutation": permutation_fold,
    "softmatch": softmatch_fold,
}


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------


def plain_score(X, Y, metric, folds=5, seed=0, corr="pearson"):
    """Score X (m x nx) against Y (m x ny) with `metric`, following spec/metrics.md."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    if corr not in ("pearson", "spearman"):
        raise ValueError(f"unknown corr {corr!r}")
    if X.ndim != 2 or Y.ndim != 2:
        raise ValueError("X and Y must be 2-D")
    if X.shape[0] != Y.shape[0]:
        raise ValueError("X and Y have different numbers of rows")
    if not np.all(np.isfinite(X)) or not np.all(np.isfinite(Y)):
        raise ValueError("X or Y contains NaN or inf")
    if folds < 2 or X.shape[0] < 2 * folds:
        raise ValueError("need folds >= 2 and at least 2 * folds rows")

    # Step 0: constant units, once, for every metric.
    X, x_dropped = drop_constant(X)
    Y, y_dropped = drop_constant(Y)
    if X.shape[1] == 0:
        raise ValueError("X has no non-constant units")
    if Y.shape[1] == 0:
        raise ValueError("Y has no non-constant units")
    result = {
        "x_units": X.shape[1],
        "y_units": Y.shape[1],
        "x_dropped": x_dropped,
        "y_dropped": y_dropped,
        "score_xy": None,
        "score_yx": None,
    }

    if metric == "cka":
        result["solver"] = "cka"
        result["score"] = cka_all_rows(X, Y)
        result["folds"] = []
        return result

    fold_function = FOLD_FUNCTIONS[metric]
    result["solver"] = metric
    if metric == "permutation" and X.shape[1] != Y.shape[1]:
        fold_function = softmatch_fold
        result["solver"] = "softmatch"

    fold_scores = []
    xy_scores = []
    yx_scores = []
    kfold = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in kfold.split(X):
        Xtr, Xte, Ytr, Yte = centred_fold(X, Y, train, test)
        s, s_xy, s_yx = fold_function(Xtr, Xte, Ytr, Yte, corr)
        fold_scores.append(s)
        xy_scores.append(s_xy)
        yx_scores.append(s_yx)

    result["score"] = float(np.mean(fold_scores))
    result["folds"] = fold_scores
    if metric in ("linear", "procrustes"):
        result["score_xy"] = float(np.mean(xy_scores))
        result["score_yx"] = float(np.mean(yx_scores))
    return result
