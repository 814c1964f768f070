"""Column-wise correlation of held-out predictions with held-out targets: the ``r(A, B)`` of the
contract, for Pearson and Spearman, on any torch device."""

from __future__ import annotations

from dataclasses import dataclass

import torch


def rank_columns(A: torch.Tensor) -> torch.Tensor:
    """Rank each column of ``A`` (m × n) from 1 to m, ties given their average rank.

    Equals ``scipy.stats.rankdata(A, axis=0, method="average")``, computed on A's device.
    """
    m, n = A.shape
    values, order = torch.sort(A, dim=0)
    starts = torch.ones_like(values, dtype=torch.bool)
    starts[1:] = values[1:] != values[:-1]
    # A tie group is identified by its column and its index within the column.
    group = torch.cumsum(starts, dim=0) - 1 + torch.arange(n, device=A.device) * m
    position = torch.arange(1, m + 1, dtype=A.dtype, device=A.device).expand(n, m).T
    total = torch.zeros(m * n, dtype=A.dtype, device=A.device)
    count = torch.zeros_like(total)
    total.scatter_add_(0, group.reshape(-1), position.reshape(-1))
    count.scatter_add_(0, group.reshape(-1), torch.ones_like(position).reshape(-1))
    sorted_ranks = (total / count.clamp_min(1))[group]
    return torch.empty_like(A).scatter_(0, order, sorted_ranks)


def is_varying(A: torch.Tensor) -> torch.Tensor:
    """Columns that are not exactly constant over the rows of ``A`` (``ptp > 0``)."""
    return (A.amax(dim=0) - A.amin(dim=0)) > 0


@dataclass(frozen=True)
class UnitColumns:
    """Columns centred and scaled to unit norm (after ranking for Spearman), so that the
    correlation of two columns is their dot product. Constant columns are zero and not ``ok``."""

    unit: torch.Tensor
    ok: torch.Tensor

    @classmethod
    def of(cls, A: torch.Tensor, corr: str) -> UnitColumns:
        ok = is_varying(A)
        if corr == "spearman":
            A = rank_columns(A)
        A = A - A.mean(dim=0)
        norm = torch.linalg.vector_norm(A, dim=0)
        unit = torch.where(ok, A / torch.where(ok, norm, torch.ones_like(norm)), 0.0)
        return cls(unit, ok)


def mean_defined(values: torch.Tensor, ok: torch.Tensor) -> float:
    """Mean of ``values`` where ``ok``; NaN when nothing is ``ok``."""
    if not bool(ok.any()):
        return float("nan")
    return float(values[ok].mean())


def columnwise_r(pred: torch.Tensor, target: UnitColumns, corr: str) -> float:
    """``r(pred, target)``: correlation of column j with column j, averaged over the columns that
    vary on both sides."""
    p = UnitColumns.of(pred, corr)
    return mean_defined((p.unit * target.unit).sum(dim=0), p.ok & target.ok)


def pearson_r_of_map(
    B: torch.Tensor,
    cross: torch.Tensor,
    src_gram: torch.Tensor,
    dst_ss: torch.Tensor,
    dst_ok: torch.Tensor,
) -> float:
    """Pearson ``r(S B, T)`` from test-row moments alone, without forming the predictions.

    With S (m × n) and T (m × q) the test rows centred on their own means, ``cross = SᵀT``,
    ``src_gram = SᵀS`` and ``dst_ss`` the column sums of squares of T, column j of S B has
    covariance ``Σ_k B_kj cross_kj`` with T_j and sum of squares ``b_jᵀ src_gram b_j``.
    A prediction column whose sum of squares is below 1e-12 of its scale is constant up to
    rounding and, like a constant target column, is left out of the mean.
    """
    cov = (B * cross).sum(dim=0)
    ss = ((src_gram @ B) * B).sum(dim=0)
    scale = (B * B).sum(dim=0) * src_gram.diagonal().max()
    ok = dst_ok & (ss > 1e-12 * scale)
    denom = torch.sqrt(torch.where(ok, ss * dst_ss, torch.ones_like(ss)))
    return mean_defined(cov / denom, ok)
