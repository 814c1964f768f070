r"""Ridge regression X→Y with the penalty chosen by efficient leave-one-out error, for one
predictor layer against many target layers.

This is what ``RidgeCV(alphas=np.logspace(-8, 8, 17), fit_intercept=False)`` computes, reorganised
so that everything that depends on the predictor alone is done once per (layer, fold).

With the thin SVD of the centred training rows X = U S Vᵀ (rank r), the shrinkage of direction k
under penalty α is F_αk = s_k² / (s_k² + α), the hat matrix is U diag(F_α) Uᵀ, and row i's
leverage complement is

    d_αi = 1 − h_αi = (1 − ‖U_i‖²) + Σ_k U_ik² (1 − F_αk).

The leave-one-out residual of row i is (Y_i − Ŷ_αi) / d_αi, so with c_αi = d_αi⁻², W = UᵀY and
Ŷ_α = U diag(F_α) W the summed squared LOO error is

    E(α) = Σ_i c_αi ‖Y_i‖² − 2 Σ_k F_αk [cᵀ_α (U ∘ Y Wᵀ)]_k + Σ_kl N_αkl (WWᵀ)_kl,

with N_α = (F_α F_αᵀ) ∘ Uᵀ diag(c_α) U. The predictor supplies U, S, V, c_α and N_α (per layer);
each target needs only W = UᵀY, Y Wᵀ, WWᵀ and its row norms (per pair), so the per-pair work
is two m × r × q products plus small contractions over α.
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
    """

    U: torch.Tensor
    s: torch.Tensor
    V: torch.Tensor
    alphas: torch.Tensor
    shrink: torch.Tensor
    weights: torch.Tensor
    N: torch.Tensor

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
        outside = (1 - (U**2).sum(dim=1)).clamp_min(0)
        complement = outside + (1 - shrink) @ (U**2).T
        weights = complement**-2
        N = torch.empty((len(alphas), U.shape[1] ** 2), dtype=X.dtype, device=X.device)
        for a, (w, f) in enumerate(zip(weights, shrink, strict=True)):
            N[a] = (((U.T * w) @ U) * torch.outer(f, f)).reshape(-1)
        return cls(U, s, V, alphas, shrink, weights, N)

    def loo_errors(self, Y: torch.Tensor, row_ss: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed squared leave-one-out error for every α, and W = UᵀY.

        Parameters
        ----------
        Y : (m, q) the target's centred training rows; row_ss : (m,) their squared row norms.
        """
        W = self.U.T @ Y
        fitted_dot = self.weights @ (self.U * (Y @ W.T))  # (A, r)
        quadratic = self.N @ (W @ W.T).reshape(-1)
        errors = self.weights @ row_ss - 2 * (self.shrink * fitted_dot).sum(dim=1) + quadratic
        return errors, W

    def solve(self, Y: torch.Tensor, row_ss: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Coefficients B (n × q) at the α with the lowest LOO error (the first of equals, as
        scikit-learn picks), and that α."""
        errors, W = self.loo_errors(Y, row_ss)
        best = int(torch.argmin(errors))
        alpha = self.alphas[best]
        B = self.V @ ((self.s / (self.s**2 + alpha))[:, None] * W)
        return B, float(alpha)
