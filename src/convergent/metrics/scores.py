"""One fold's score of each metric for one pair of prepared layers (contract: "The metrics").

The fold functions take the two :class:`Layer` objects, their shared :class:`PairMoments` and a
fold index. The asymmetric metrics return (x→y, y→x) test correlations (``linear`` also the two
ridge penalties it chose); ``softmatch`` and ``permutation`` return one symmetric fold score;
``cka_score`` scores all rows at once and has no folds.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import SolverError
from .contract import EMD_MAX_ITER
from .correlation import columnwise_r, mean_defined, pearson_r_of_map
from .layer import Layer, LayerFold
from .pair import PairMoments
from .ridge import ridge_pair


def mapped_r(src: LayerFold, dst: LayerFold, B: torch.Tensor, cross: torch.Tensor) -> float:
    """r(src_test · B, dst_test), where ``cross`` is the test-centred src/dst cross product."""
    if src.layer.corr == "pearson":
        return pearson_r_of_map(B, cross, src.test_gram, dst.test_ss, dst.test_units.ok)
    return columnwise_r(src.test @ B, dst.test_units, "spearman")


def linear_fold(x: Layer, y: Layer, pair: PairMoments, f: int) -> tuple[float, float, list[float]]:
    """Ridge X→Y and Y→X fitted on the training rows, each scored on the test rows.
    Returns both direction scores and the two chosen penalties."""
    fx, fy = x.folds[f], y.folds[f]
    (B_xy, alpha_xy), (B_yx, alpha_yx) = ridge_pair(
        fx.ridge, fy.ridge, fx.train_row_ss, fy.train_row_ss, lambda: pair.train(f))
    cross = pair.test(f)
    return mapped_r(fx, fy, B_xy, cross), mapped_r(fy, fx, B_yx, cross.T), [alpha_xy, alpha_yx]


def procrustes_fold(x: Layer, y: Layer, pair: PairMoments, f: int) -> tuple[float, float]:
    """Orthogonal Procrustes on the training rows, scored in both directions on the test rows.

    Zero-padding the narrower side to n = max(nx, ny) and taking Q = U Vᵀ from svd(XᵀY) gives a
    Q whose first min(nx, ny) rows (or columns) are U Vᵀ of the thin SVD of the unpadded nx × ny
    cross product; only that block ever multiplies non-zero data, so it is all we form.

    When the cross product is rank-deficient (fewer training stimuli than units), U Vᵀ is not
    unique: the singular vectors of zero singular values are whatever the LAPACK build returns.
    We keep only the directions above the pseudo-inverse cut-off, so Q is the same on every
    device and build; with full rank (the normal case) this is exactly U Vᵀ.
    """
    U, s, Vh = torch.linalg.svd(pair.train(f), full_matrices=False)
    keep = s > s[0] * max(U.shape[0], Vh.shape[1]) * torch.finfo(s.dtype).eps
    fx, fy = x.folds[f], y.folds[f]
    # A unit constant over the training rows is not mapped (and its prediction is left out).
    Q = (U[:, keep] @ Vh[keep]) * torch.outer(fx.train_ok, fy.train_ok)
    cross = pair.test(f)
    return mapped_r(fx, fy, Q, cross), mapped_r(fy, fx, Q.T, cross.T)


def train_correlations(x: Layer, y: Layer, pair: PairMoments, f: int) -> np.ndarray:
    """Pearson correlation of every x unit with every y unit over the training rows; a unit that
    is constant there correlates 0 with everything."""
    fx, fy = x.folds[f], y.folds[f]
    sd = torch.outer(fx.train_sd, fy.train_sd)
    C = torch.where(sd > 0, pair.train(f) / torch.where(sd > 0, sd, torch.ones_like(sd)), 0.0)
    return C.clamp(-1.0, 1.0).cpu().numpy().astype(np.float64)


def test_r_of_pairs(x: Layer, y: Layer, f: int, i: np.ndarray, j: np.ndarray):
    """Test correlation of x unit i[k] with y unit j[k], and whether it is defined."""
    ux, uy = x.folds[f].test_units, y.folds[f].test_units
    ii = torch.as_tensor(i, device=ux.unit.device)
    jj = torch.as_tensor(j, device=uy.unit.device)
    r = (ux.unit[:, ii] * uy.unit[:, jj]).sum(dim=0)
    return r, ux.ok[ii] & uy.ok[jj]


def transport_plan(C: np.ndarray) -> np.ndarray:
    """Exact optimal transport between uniform marginals with cost 1 − C (POT's network simplex)."""
    import ot  # imported here: POT's import pulls in scikit-learn and takes a second

    nx, ny = C.shape
    a, b = np.full(nx, 1.0 / nx), np.full(ny, 1.0 / ny)
    plan, log = ot.emd(a, b, 1.0 - C, numItermax=EMD_MAX_ITER, log=True)
    if log.get("warning") is not None or log.get("result_code", 1) != 1:
        raise SolverError(
            f"the optimal transport plan did not converge ({log.get('warning')}) for a "
            f"{nx} × {ny} unit matching"
        )
    return plan


def softmatch_fold(x: Layer, y: Layer, pair: PairMoments, f: int) -> float:
    """Σ P_ij r_ij over the plan's support, renormalised over the pairs with a defined r_ij."""
    plan = transport_plan(train_correlations(x, y, pair, f))
    i, j = np.nonzero(plan > 0)
    r, ok = test_r_of_pairs(x, y, f, i, j)
    weight = torch.as_tensor(plan[i, j], dtype=r.dtype, device=r.device)
    if not bool(ok.any()):
        return float("nan")
    return float((weight[ok] * r[ok]).sum() / weight[ok].sum())


def permutation_fold(x: Layer, y: Layer, pair: PairMoments, f: int) -> float:
    """One-to-one matching of units maximising the summed training correlation, scored as the
    mean test correlation of the matched pairs. Needs equal widths (see :func:`fold_scores`)."""
    from scipy.optimize import linear_sum_assignment  # a slow import most jobs never need

    rows, cols = linear_sum_assignment(train_correlations(x, y, pair, f), maximize=True)
    r, ok = test_r_of_pairs(x, y, f, rows, cols)
    return mean_defined(r, ok)


def cka_score(x: Layer, y: Layer, pair: PairMoments) -> float:
    """Linear CKA on all rows: ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F), with X and Y centred."""
    return float(torch.linalg.matrix_norm(pair.all_rows) ** 2 / (x.gram_norm * y.gram_norm))
