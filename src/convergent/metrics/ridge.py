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
and fold); a target needs only W = UᵀY, Y Wᵀ, WWᵀ and its row norms (per pair). The middle
term is formed a block of rows at a time, Y Wᵀ never stored whole
(:meth:`RidgePredictor.fitted_dot`).

Both directions of a pair share one product. With the target's own SVD Y = U_y S_y V_yᵀ and
K = Uᵀ U_y (r × r_y), the x→y terms are W = K S_y V_yᵀ, Y Wᵀ = U_y (S_y² Kᵀ), WWᵀ = K S_y² Kᵀ,
and the y→x terms the same with K transposed. A pair therefore costs three m × r × r_y products
(K and the two Y Wᵀ) instead of four, and everything else is r-sized. (Directions below the SVD
cut-off are left out of Y = U_y S_y V_yᵀ; they are rounding, see :func:`thin_svd`.)

The two m × r_x × r_y products of a pair (U_y S_y² Kᵀ and its mirror, each one direction's
Y Wᵀ) are formed in float32 first, twice as fast, with a rigorous bound on how far their
rounding moves each E(α) (:meth:`RidgePredictor.rounded_fitted_dot`). Only the product's
entries, dot products of length r_y, are rounded so (the sum over the m rows stays in float64),
so the bound is about r_y · 2⁻²⁴ of the term's size; where it leaves more than one α in
contention, the product is formed again in float64 (:meth:`RidgePredictor.best_alpha`). The
choice is always the exact product's, and the coefficients and scores are computed in float64
from it, so no score moves.

The thin SVD comes from :func:`thin_svd`: for a tall, well-conditioned X (ε κ² ≤ 1e-10) from the
eigendecomposition of XᵀX, about 2.5 times faster than LAPACK's SVD and within 1e-10 of it;
otherwise from LAPACK's SVD. When both layers of a pair took that route, K comes from the pair's
shared training cross product rather than from an m-sized product (:func:`ridge_pair`).

The per-layer N_α costs one weighted Gram Uᵀ diag(c_α) U per α. The 17 rows c_α are numerically
of low rank (they all tend to 1 for large α and to (1 − ‖U_i‖²)⁻² for small α), so we factor
c = P Φ by an SVD and form the weighted Grams of Φ's rows only (:class:`WeightedGrams`), each as
its upper block triangle. Of the components above rounding (relative 17 ε, usually 11–13) only the
leading ones (above 3e-4 of the largest, usually 4) are formed at first. Leaving out the rest
changes each weight by at most δ_α = maxᵢ |c_αi − c̃_αi| and so E(α) by at most

    |Σ_i (c_αi − c̃_αi) ‖Ŷ_αi‖²| ≤ δ_α ‖Ŷ_α‖² = δ_α Σ_k F_αk² (WWᵀ)_kk,

which is known before the choice. When the lowest error beats every other by more than these
bounds (and a rounding allowance), the choice is the one the complete Grams make. Otherwise the
contending α are made exact one at a time, widest bound first, each by the single weighted Gram
Uᵀ diag(c_α − c̃_α) U, until one α is left; that Gram is kept for every later target of the
layer and fold (:meth:`RidgePredictor.best_alpha`). On the benchmark's layers this is a quarter
less Gram work (Σ m r²) than forming every component above 1e-5 (about 7) for every layer, which
was needed when a close choice meant forming all the remaining components.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .contract import RIDGE_ALPHAS

#: Rows per block of :meth:`RidgePredictor.fitted_dot` (a 512 × 512 float64 block is 2 MiB).
ROW_BLOCK = 512

#: The dtype in which the middle terms' product is formed first, and its unit roundoff.
FAST_PRODUCT = (torch.float32, 2.0**-24)

#: Weight components above this fraction of the largest are formed first (see the module text):
#: lower leaves more close choices to finish α by α, higher forms components most choices do not
#: need; on the benchmark the Grams formed are fewest between 2e-4 and 1e-3.
LEADING_COMPONENTS = 3e-4


class WeightedGrams:
    """Uᵀ diag(c_α) U for every row c_α of the weights (A × m), from c = P Φ, formed a group of
    components at a time (only the sums are kept, not each component's Gram), or for one α at a
    time from what its formed components leave out.

    Parameters
    ----------
    U : (m, r) orthonormal columns.
    weights : (A, m) the rows c_α.
    leading : float
        ``leading_count`` is the number of components of c above this fraction of the largest
        singular value; the components above rounding (17 ε relative) are all there are.

    Attributes
    ----------
    formed : int, how many components :meth:`form` has formed.
    finished : (A,) bool, the α whose Grams :meth:`finish` has made exact.
    slack : (A,) maxᵢ |c_αi − c̃_αi|, how far the weights of what is formed are from c
        (0 for a finished α, and for every α once complete).
    """

    def __init__(self, U: torch.Tensor, weights: torch.Tensor, leading: float = LEADING_COMPONENTS):
        P, sigma, Phi = torch.linalg.svd(weights, full_matrices=False)
        rank = int((sigma > sigma[0] * len(sigma) * torch.finfo(sigma.dtype).eps).sum())
        self.U, self.weights = U, weights
        self.P, self.Phi = P[:, :rank] * sigma[:rank], Phi[:rank]
        self.leading_count = min(rank, int((sigma > sigma[0] * leading).sum()))
        self.formed = 0
        self.finished = torch.zeros(len(weights), dtype=torch.bool, device=weights.device)
        self.slack = weights.abs().amax(dim=1)

    @property
    def complete(self) -> bool:
        return self.formed == len(self.Phi) or bool(self.finished.all())

    def form(self, count: int) -> torch.Tensor:
        """Σ_p P_αp Uᵀ diag(Φ_p) U (A, r, r) over the next ``count`` components not formed yet
        (fewer where fewer are left); zero for a finished α, which has them already."""
        start, stop = self.formed, min(self.formed + count, len(self.Phi))
        r = self.U.shape[1]
        if stop == start:
            total = self.U.new_zeros(len(self.P), r * r)
        else:  # the group's Grams side by side for one product, then let go
            group = torch.stack([weighted_gram(self.U, phi).reshape(-1)
                                 for phi in self.Phi[start:stop]])
            total = self.P[:, start:stop] @ group
            total[self.finished] = 0
        self.formed = stop
        if self.complete:
            self.slack = torch.zeros_like(self.slack)
        else:
            kept = self.P[:, :stop] @ self.Phi[:stop]
            self.slack = torch.where(self.finished, 0.0,
                                     (self.weights - kept).abs().amax(dim=1))
        return total.reshape(len(self.P), r, r)

    def finish(self, a: int) -> torch.Tensor:
        """Uᵀ diag(c_α − c̃_α) U (r, r) for the α of index ``a``: what the formed components
        leave out of its Gram, one weighted Gram instead of every remaining component's."""
        rest = self.weights[a] - self.P[a, :self.formed] @ self.Phi[:self.formed]
        self.finished[a] = True
        self.slack[a] = 0
        return weighted_gram(self.U, rest)


def weighted_gram(U: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
    """Uᵀ diag(φ) U (r × r) for any real φ (m,), from its upper block triangle.

    The product is symmetric, so with the columns in b blocks only the b(b + 1)/2 blocks on and
    above the diagonal are multiplied, (b + 1)/(2b) of a full product's work, and mirrored."""
    r = U.shape[1]
    scaled = U * phi[:, None]
    blocks = min(4, max(1, r // 48))
    G = torch.empty(r, r, dtype=U.dtype, device=U.device)
    for k in range(blocks):
        a, b = r * k // blocks, r * (k + 1) // blocks
        G[a:b, a:] = U[:, a:b].T @ scaled[:, a:]
    upper = torch.triu(G)
    return upper + torch.triu(G, 1).T


@dataclass
class RidgePredictor:
    """The predictor-side factors of one layer's training rows.

    Attributes
    ----------
    U : (m, r) left singular vectors; s : (r,) singular values; V : (n, r) right singular vectors.
    alphas : (A,) the penalties searched.
    shrink : (A, r) F_αk = s_k² / (s_k² + α).
    weights : (A, m) c_αi = (1 − h_αi)⁻².
    grams : WeightedGrams, what Uᵀ diag(c_α) U is formed from, and how much of it is.
    N : (A, r·r) (F_α F_αᵀ) ∘ Uᵀ diag(c_α) U, flattened, from the components formed so far
        (exact for the α that :meth:`finish_alpha` finished).
    leverage : (m,) ‖U_i‖², each training row's leverage at α = 0.
    nonzero : (n,) bool, the columns of X that are not exactly zero (a unit constant over the
        training rows is exactly zero once centred).
    gram_route : bool, whether :func:`thin_svd` factored X by its Gram route.
    lock : held while :meth:`best_alpha` reads and finishes the Grams, which targets on
        other threads share (:mod:`.threads`).
    low : U converted to lower precisions (:meth:`lowered`), by dtype.
    """

    U: torch.Tensor
    s: torch.Tensor
    V: torch.Tensor
    alphas: torch.Tensor
    shrink: torch.Tensor
    weights: torch.Tensor
    grams: WeightedGrams
    N: torch.Tensor
    leverage: torch.Tensor
    nonzero: torch.Tensor
    gram_route: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    low: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def fit(cls, X: torch.Tensor, leading: float = LEADING_COMPONENTS,
            try_gram: bool = True, gram: Callable[[], torch.Tensor] | None = None
            ) -> RidgePredictor:
        """Factor the centred training rows X (m × n); ``leading`` is passed to
        :class:`WeightedGrams`, ``try_gram`` and ``gram`` (what gives XᵀX) to
        :func:`thin_svd`."""
        U, s, V, gram_route = thin_svd(X, try_gram, gram)
        alphas = torch.as_tensor(RIDGE_ALPHAS, dtype=X.dtype, device=X.device)
        s2 = s**2
        shrink = s2 / (s2 + alphas[:, None])
        # 1 − h computed as a sum of non-negative parts, not as 1 − h, to keep tiny values exact.
        U2 = U**2
        leverage = U2.sum(dim=1)
        outside = (1 - leverage).clamp_min(0)
        complement = outside + (1 - shrink) @ U2.T
        weights = complement**-2
        grams = WeightedGrams(U, weights, leading)
        N = _shrunk(grams.form(grams.leading_count), shrink)
        return cls(U, s, V, alphas, shrink, weights, grams, N, leverage,
                   (X != 0).any(dim=0), gram_route)

    def complete_grams(self) -> None:
        """Form the weighted Grams left out so far (at most once)."""
        if not self.grams.complete:
            self.N = self.N + _shrunk(self.grams.form(len(self.grams.Phi)), self.shrink)

    def fitted_dot(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """cᵀ_α (U ∘ Y Wᵀ) for every α (A × r), with Y Wᵀ = left @ right (m × r) given as two
        factors. The product is formed a block of rows at a time and used at once, so the
        m × r matrices Y Wᵀ and U ∘ Y Wᵀ never go through memory whole (a third faster)."""
        return self._row_blocks(left, right, self.U)

    def _row_blocks(self, left: torch.Tensor, right: torch.Tensor, own: torch.Tensor
                    ) -> torch.Tensor:
        """cᵀ_α (own ∘ (left @ right)) a block of rows at a time, the products in the factors'
        dtype, the sum over the rows in U's."""
        out = self.U.new_zeros(len(self.weights), self.U.shape[1])
        for start in range(0, len(left), ROW_BLOCK):
            rows = slice(start, start + ROW_BLOCK)
            out.addmm_(self.weights[:, rows],
                       (left[rows] @ right).mul_(own[rows]).to(self.U.dtype))
        return out

    def errors(self, fitted_dot: torch.Tensor, gram: torch.Tensor, row_ss: torch.Tensor
               ) -> torch.Tensor:
        """Summed squared leave-one-out error for every α (A,), from the target's
        :meth:`fitted_dot` (A × r), W Wᵀ (r × r) and squared row norms (m,), W = UᵀY, with the
        Grams formed so far."""
        quadratic = self.N @ gram.reshape(-1)
        return self.weights @ row_ss - 2 * (self.shrink * fitted_dot).sum(dim=1) + quadratic

    def lowered(self, dtype: torch.dtype) -> torch.Tensor:
        """U in ``dtype``, converted once for every pair of the layer-fold."""
        low = self.low.get(dtype)
        if low is None:
            low = self.low[dtype] = self.U.to(dtype)
        return low

    def rounded_fitted_dot(self, target: RidgePredictor, right: torch.Tensor
                           ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`fitted_dot` for Y Wᵀ = U_y @ right (U_y the ``target``'s U) with U_y @ right
        and its product with U formed in float32 (twice as fast), and per α (A,) a bound on
        how far that moves :meth:`errors`.

        An entry z = l·r of the product (length n) formed from float32 copies of l and r
        errs by at most γ_{n+2} |l|·|r| ≤ γ_{n+2} ‖l‖ ‖r‖ (γ_k = k u / (1 − k u), u = 2⁻²⁴:
        the rounding of a dot product, in any order of summation, and of its two inputs), and
        U_ik z with U_ik rounded too by γ_{n+4} |U_ik| ‖l‖ ‖r‖. As the columns of U have unit
        norm, Cauchy–Schwarz gives

            |Σ_i c_αi δ(U_ik z_ik)| ≤ γ_{n+4} ‖r_k‖ ‖(c_αi ‖l_i‖)_i‖,

        and the error of α moves by at most 2 Σ_k F_αk times that. ``right`` is first scaled
        by a power of two (exactly) so that no entry exceeds 1; U and U_y have entries of at
        most 1, so nothing overflows, and underflows (under 2⁻¹²⁶ each) are added to the
        bound. The sum over the m rows is in float64."""
        n, m = right.shape[0], self.U.shape[0]
        exponent = int(torch.frexp(right.abs().max())[1]) if right.numel() else 0
        scale = 2.0 ** -exponent
        fast, roundoff = FAST_PRODUCT
        right = right * scale
        out = self._row_blocks(target.lowered(fast), right.to(fast), self.lowered(fast))
        gamma = (n + 4) * roundoff / (1 - (n + 4) * roundoff)
        underflow = (4 * (n + 2) + m**0.5) * 2.0**-126
        spread = (self.weights**2 @ target.leverage).sqrt()  # ‖c_α ∘ ‖l_i‖‖
        size = self.weights.norm(dim=1)  # ‖c_α‖, for the underflows
        per_k = gamma * spread[:, None] * right.norm(dim=0) + underflow * size[:, None]
        # 1% over, for the float64 rounding of the bound itself.
        return out / scale, 2.02 * (self.shrink * per_k).sum(dim=1) / scale

    def best_alpha(self, target: RidgePredictor, right: torch.Tensor, gram: torch.Tensor,
                   row_ss: torch.Tensor) -> int:
        """Index of the α with the lowest leave-one-out error (the first of equals, as
        scikit-learn picks) for the target Y = U_y S_y V_yᵀ of the factors ``target``, with
        Y Wᵀ = U_y @ right (m × r), W Wᵀ (r × r) and squared row norms (m,), W = UᵀY: the
        choice the complete Grams and an exact product make.

        Each error is known to within its bound: the slack of its weights times ‖Ŷ_α‖², the
        float32 product's bound (:meth:`rounded_fitted_dot`, in float64 only) and a rounding
        allowance. While more than one α could still be the lowest, the widest bound among the
        contenders is removed: the product formed exactly, or that α's Gram made exact
        (:meth:`finish_alpha`, one weighted Gram, kept for every later target). The choice is
        final once one α is left or nothing inexact is left."""
        if self.U.dtype == torch.float64 and torch.get_float32_matmul_precision() == "highest":
            fitted_dot, product_bound = self.rounded_fitted_dot(target, right)
        else:  # float32 already, or float32 products that may run in lower precision
            fitted_dot, product_bound = self.fitted_dot(target.U, right), None
        while True:
            with self.lock:  # the Grams serve every target, and finishing an α changes N
                best = self._choose(fitted_dot, product_bound, gram, row_ss)
            if best is not None:
                return best
            fitted_dot, product_bound = self.fitted_dot(target.U, right), None

    def _choose(self, fitted_dot: torch.Tensor, product_bound: torch.Tensor | None,
                gram: torch.Tensor, row_ss: torch.Tensor) -> int | None:
        """:meth:`best_alpha`'s choice from the target's middle term, finishing α as needed;
        None where the product's bound is the widest of the contenders'."""
        fitted_ss = self.shrink**2 @ gram.diagonal()
        # Rounding allowance: the errors are differences of terms of the size of Σ c ‖Y_i‖².
        rounding = 1e4 * torch.finfo(self.weights.dtype).eps * (self.weights @ row_ss)
        while True:
            errors = self.errors(fitted_dot, gram, row_ss)
            gram_bound = self.grams.slack * fitted_ss
            bound = gram_bound if product_bound is None else gram_bound + product_bound
            best = int(torch.argmin(errors))
            contenders = errors - bound - rounding <= errors[best] + bound[best] + rounding[best]
            if int(contenders.sum()) == 1:
                return best
            open_ = torch.where(contenders & ~self.grams.finished, gram_bound, -1.0)
            widest = -1.0 if self.grams.complete else float(open_.max())
            if product_bound is not None and float(product_bound[contenders].max()) >= widest:
                return None
            if widest < 0:
                return best
            self.finish_alpha(int(torch.argmax(open_)))

    def finish_alpha(self, a: int) -> None:
        """Make the weighted Gram of the α of index ``a`` exact (at most once)."""
        if not self.grams.finished[a] and not self.grams.complete:
            self.N[a] += _shrunk(self.grams.finish(a)[None], self.shrink[a:a + 1])[0]

    def loo_errors(self, Y: torch.Tensor, row_ss: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed squared leave-one-out error for every α (from the complete Grams), and
        W = UᵀY, for any target Y (m × q) with squared row norms row_ss (m,)."""
        self.complete_grams()
        W = self.U.T @ Y
        return self.errors(self.fitted_dot(Y, W.T), W @ W.T, row_ss), W

    def coefficients(self, best: int, W: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Coefficients B = V diag(s / (s² + α)) W (n × q) at the α of index ``best``, and
        that α."""
        alpha = self.alphas[best]
        return self.V @ ((self.s / (self.s**2 + alpha))[:, None] * W), float(alpha)

    def solve(self, Y: torch.Tensor, row_ss: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Coefficients B (n × q) fitted to the target Y (m × q), and the α chosen."""
        errors, W = self.loo_errors(Y, row_ss)
        return self.coefficients(int(torch.argmin(errors)), W)


#: The Gram route of :func:`thin_svd` is taken when ε κ² is at most this (κ = s_max / s_min).
GRAM_ROUTE_ERROR = 1e-10


def thin_svd(X: torch.Tensor, try_gram: bool = True,
             gram: Callable[[], torch.Tensor] | None = None
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, bool]:
    """U (m × r), s (r,), V (n × r) of X = U diag(s) Vᵀ, directions below the pseudo-inverse
    cut-off left out, and whether they came from the Gram route (which takes XᵀX from
    ``gram()`` when given: a layer's folds form theirs from the all-rows Gram,
    :attr:`LayerFold.train_gram`).

    A tall, well-conditioned X is factored from the eigendecomposition XᵀX = V diag(s²) Vᵀ and
    U = X V / s: two products and an n × n eigenproblem, about 2.5 times faster than LAPACK's SVD
    on 3,200 × 64…512. Squaring X squares its condition number, so the eigenvalues carry a
    relative error of about ε κ² and U's columns are orthonormal to about the same; the route is
    taken only when that is at most :data:`GRAM_ROUTE_ERROR` (κ ≤ 670 in float64, never in
    float32), which the smallest eigenvalue tells reliably (it is accurate to ε s_max²).
    Otherwise, and when ``try_gram`` is false, LAPACK's SVD; directions below
    s_max · max(m, n) · ε carry only rounding there (centring alone removes one when m ≤ n) and
    would amplify it by 1/s, so they are dropped.
    """
    m, n = X.shape
    eps = torch.finfo(X.dtype).eps
    if try_gram and m >= n and eps <= GRAM_ROUTE_ERROR:
        lam, V = torch.linalg.eigh(X.T @ X if gram is None else gram())
        if lam[0] > 0 and eps * lam[-1] <= GRAM_ROUTE_ERROR * lam[0]:
            s, V = lam.flip(0).sqrt(), V.flip(1)
            return (X @ V) / s, s, V, True
    U, s, Vh = torch.linalg.svd(X, full_matrices=False)
    keep = s > s[0] * max(m, n) * eps
    return U[:, keep], s[keep], Vh[keep].T, False


def _shrunk(grams: torch.Tensor, shrink: torch.Tensor) -> torch.Tensor:
    """(F_α F_αᵀ) ∘ G_α for every α of ``grams`` (A, r, r), flattened to (A, r·r); ``grams`` is
    a fresh tensor, scaled in place (it is A r² numbers)."""
    return grams.mul_(shrink[:, :, None]).mul_(shrink[:, None, :]).reshape(len(shrink), -1)


def shared_k(x: RidgePredictor, y: RidgePredictor,
             train_cross: Callable[[], torch.Tensor] | None = None) -> torch.Tensor:
    """K = Uₓᵀ U_y (r_x × r_y); between two Gram-route layers from ``train_cross`` (see
    :func:`ridge_pair`) as Sₓ⁻¹ Vₓᵀ (XᵀY) V_y S_y⁻¹."""
    if train_cross is not None and x.gram_route and y.gram_route:
        return (x.V.T @ train_cross() @ y.V) / (x.s[:, None] * y.s)
    return x.U.T @ y.U


def ridge_pair(x: RidgePredictor, y: RidgePredictor, x_row_ss: torch.Tensor,
               y_row_ss: torch.Tensor, train_cross: Callable[[], torch.Tensor] | None = None
               ) -> tuple[tuple[torch.Tensor, float], tuple[torch.Tensor, float]]:
    """Ridge x→y and y→x on the same training rows, from the two layers' factors.

    Parameters
    ----------
    x, y : RidgePredictor
        The factors of the two layers' centred training rows (same rows, same order).
    x_row_ss, y_row_ss : (m,)
        Their squared row norms.
    train_cross : callable, optional
        Gives the centred training rows' cross product XᵀY (n_x × n_y), e.g. from the pair's
        all-rows product minus its test rows'. When both layers took the Gram route of
        :func:`thin_svd`, K = Uₓᵀ U_y is formed from it as Sₓ⁻¹ Vₓᵀ (XᵀY) V_y S_y⁻¹, n-sized
        products instead of an m-sized one; its rounding, about ε κₓ κ_y, is within the
        route's own bound (ε κ² ≤ 1e-10 on each side).

    Returns
    -------
    ((B_xy, alpha_xy), (B_yx, alpha_yx))
        B_xy (n_x × n_y) maps x to y, B_yx (n_y × n_x) maps y to x.
    """
    K = shared_k(x, y, train_cross)  # (r_x, r_y): the one product of both directions' W
    # Uₓᵀ Y = K S_y V_yᵀ. A target column that is exactly zero gives an exactly zero column of
    # W (and of B) when formed as Uₓᵀ Y; V_y leaves rounding there, which the fold score would
    # take for a prediction, so it is zeroed.
    W_xy = (K * y.s) @ y.V.T * y.nonzero
    W_yx = (K.T * x.s) @ x.V.T * x.nonzero
    ks_y, ks_x = K * y.s, K.T * x.s
    best_xy = x.best_alpha(y, (ks_y * y.s).T, ks_y @ ks_y.T, y_row_ss)
    best_yx = y.best_alpha(x, (ks_x * x.s).T, ks_x @ ks_x.T, x_row_ss)
    return x.coefficients(best_xy, W_xy), y.coefficients(best_yx, W_yx)
