r"""Ridge regression X→Y with the penalty chosen by efficient leave-one-out error, for one
predictor layer against many target layers.

This is what ``RidgeCV(alphas=np.logspace(-8, 8, 17), fit_intercept=False)`` computes, reorganised
so that everything that depends on the predictor alone is done once per (layer, fold), and what
depends on the pair is shared by its two directions.

With the thin SVD of the centred training rows X = U S Vᵀ (rank r), the shrinkage of direction k
under penalty α is F_αk = s_k² / (s_k² + α), the hat matrix is U diag(F_α) Uᵀ, and row i's
leverage complement is

    d_αi = 1 − h_αi = (1 − ‖U_i‖²) + Σ_k U_ik² (1 − F_αk).

The leave-one-out residual of row i is (Y_i − Ŷ_αi) / d_αi, so with c_αi = d_αi⁻², W = UᵀY and
Ŷ_α = U diag(F_α) W the summed squared LOO error is

    E(α) = Σ_i c_αi ‖Y_i‖² − 2 Σ_k F_αk [cᵀ_α (U ∘ Y Wᵀ)]_k + Σ_kl N_αkl (WWᵀ)_kl,

with N_α = (F_α F_αᵀ) ∘ Uᵀ diag(c_α) U. The predictor supplies U, S, V, c_α and N_α (per layer
and fold); a target needs only W = UᵀY, Y Wᵀ, WWᵀ and its row norms (per pair).

Both directions of a pair share one product. With the target's own SVD Y = U_y S_y V_yᵀ and
K = Uᵀ U_y (r × r_y), the x→y terms are W = K S_y V_yᵀ, Y Wᵀ = U_y (S_y² Kᵀ), WWᵀ = K S_y² Kᵀ,
and the y→x terms the same with K transposed. A pair therefore costs three m × r × r_y products
(K and the two Y Wᵀ) instead of four, and everything else is r-sized. (Directions below the SVD
cut-off are left out of Y = U_y S_y V_yᵀ; they are rounding, see :meth:`RidgePredictor.fit`.)

The per-layer N_α costs one weighted Gram Uᵀ diag(c_α) U per α. The 17 rows c_α are numerically
of low rank (they all tend to 1 for large α and to (1 − ‖U_i‖²)⁻² for small α), so we factor
c = P Φ by an SVD, keep the components above rounding (relative 17 ε), and form the weighted
Grams of Φ's rows only: usually 11–13 instead of 17.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .contract import RIDGE_ALPHAS


@dataclass
class RidgePredictor:
    """The predictor-side factors of one layer's training rows.

    Attributes
    ----------
    U : (m, r) left singular vectors; s : (r,) singular values; V : (n, r) right singular vectors.
    alphas : (A,) the penalties searched.
    shrink : (A, r) F_αk = s_k² / (s_k² + α).
    weights : (A, m) c_αi = (1 − h_αi)⁻².
    N : (A, r·r) (F_α F_αᵀ) ∘ Uᵀ diag(c_α) U, flattened.
    nonzero : (n,) bool, the columns of X that are not exactly zero (a unit constant over the
        training rows is exactly zero once centred).
    """

    U: torch.Tensor
    s: torch.Tensor
    V: torch.Tensor
    alphas: torch.Tensor
    shrink: torch.Tensor
    weights: torch.Tensor
    N: torch.Tensor
    nonzero: torch.Tensor

    @classmethod
    def fit(cls, X: torch.Tensor) -> RidgePredictor:
        """Factor the centred training rows X (m × n)."""
        U, s, Vh = torch.linalg.svd(X, full_matrices=False)
        # Directions below the usual pseudo-inverse cut-off carry only rounding (centring alone
        # removes one direction when m ≤ n); keeping them would amplify that rounding by 1/s.
        keep = s > s[0] * max(X.shape) * torch.finfo(X.dtype).eps
        U, s, V = U[:, keep], s[keep], Vh[keep].T
        alphas = torch.as_tensor(RIDGE_ALPHAS, dtype=X.dtype, device=X.device)
        s2 = s**2
        shrink = s2 / (s2 + alphas[:, None])
        # 1 − h computed as a sum of non-negative parts, not as 1 − h, to keep tiny values exact.
        U2 = U**2
        outside = (1 - U2.sum(dim=1)).clamp_min(0)
        complement = outside + (1 - shrink) @ U2.T
        weights = complement**-2
        grams = weighted_grams(U, weights)  # (A, r, r): Uᵀ diag(c_α) U
        N = (grams * shrink[:, :, None] * shrink[:, None, :]).reshape(len(alphas), -1)
        return cls(U, s, V, alphas, shrink, weights, N, (X != 0).any(dim=0))

    def errors(self, W: torch.Tensor, fitted: torch.Tensor, gram: torch.Tensor,
               row_ss: torch.Tensor) -> torch.Tensor:
        """Summed squared leave-one-out error for every α (A,), from the target's W = UᵀY
        (r × q), Y Wᵀ (m × r), W Wᵀ (r × r) and squared row norms (m,)."""
        fitted_dot = self.weights @ (self.U * fitted)  # (A, r)
        quadratic = self.N @ gram.reshape(-1)
        return self.weights @ row_ss - 2 * (self.shrink * fitted_dot).sum(dim=1) + quadratic

    def loo_errors(self, Y: torch.Tensor, row_ss: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed squared leave-one-out error for every α, and W = UᵀY, for any target Y
        (m × q) with squared row norms row_ss (m,)."""
        W = self.U.T @ Y
        return self.errors(W, Y @ W.T, W @ W.T, row_ss), W

    def coefficients(self, errors: torch.Tensor, W: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Coefficients B = V diag(s / (s² + α)) W (n × q) at the α with the lowest LOO error
        (the first of equals, as scikit-learn picks), and that α."""
        alpha = self.alphas[int(torch.argmin(errors))]
        return self.V @ ((self.s / (self.s**2 + alpha))[:, None] * W), float(alpha)

    def solve(self, Y: torch.Tensor, row_ss: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Coefficients B (n × q) fitted to the target Y (m × q), and the α chosen."""
        return self.coefficients(*self.loo_errors(Y, row_ss))


def weighted_grams(U: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Uᵀ diag(c_α) U for every row c_α of ``weights`` (A × m), as an (A, r, r) tensor.

    The rows of ``weights`` are factored as P Φ (SVD, components below 17 ε of the largest
    dropped: an error of the size of the rounding in c itself), so only rank(Φ) weighted Grams
    of U, each m · r² multiply-adds, are formed instead of A."""
    P, sigma, Phi = torch.linalg.svd(weights, full_matrices=False)
    rank = int((sigma > sigma[0] * len(sigma) * torch.finfo(sigma.dtype).eps).sum())
    P, Phi = P[:, :rank] * sigma[:rank], Phi[:rank]
    basis = torch.stack([(U.T * phi) @ U for phi in Phi])  # (rank, r, r)
    r = U.shape[1]
    return (P @ basis.reshape(rank, -1)).reshape(len(P), r, r)


def ridge_pair(x: RidgePredictor, y: RidgePredictor, x_row_ss: torch.Tensor,
               y_row_ss: torch.Tensor) -> tuple[tuple[torch.Tensor, float],
                                                tuple[torch.Tensor, float]]:
    """Ridge x→y and y→x on the same training rows, from the two layers' factors.

    Parameters
    ----------
    x, y : RidgePredictor
        The factors of the two layers' centred training rows (same rows, same order).
    x_row_ss, y_row_ss : (m,)
        Their squared row norms.

    Returns
    -------
    ((B_xy, alpha_xy), (B_yx, alpha_yx))
        B_xy (n_x × n_y) maps x to y, B_yx (n_y × n_x) maps y to x.
    """
    K = x.U.T @ y.U  # (r_x, r_y): the one product of both directions' W
    # Uₓᵀ Y = K S_y V_yᵀ. A target column that is exactly zero gives an exactly zero column of
    # W (and of B) when formed as Uₓᵀ Y; V_y leaves rounding there, which the fold score would
    # take for a prediction, so it is zeroed.
    W_xy = (K * y.s) @ y.V.T * y.nonzero
    W_yx = (K.T * x.s) @ x.V.T * x.nonzero
    ks_y, ks_x = K * y.s, K.T * x.s
    errors_xy = x.errors(W_xy, y.U @ (ks_y * y.s).T, ks_y @ ks_y.T, y_row_ss)
    errors_yx = y.errors(W_yx, x.U @ (ks_x * x.s).T, ks_x @ ks_x.T, x_row_ss)
    return x.coefficients(errors_xy, W_xy), y.coefficients(errors_yx, W_yx)
