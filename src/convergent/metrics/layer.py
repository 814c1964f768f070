"""One layer's activations, prepared once and reused for every pair it takes part in.

Everything here depends on a single layer: Step 0 (constant units), centring, the fold split,
the per-fold means, sums of squares, held-out unit columns and, for ``linear``, the factorisation
of the training rows. The grid builds each :class:`Layer` once; that is where its speed comes from.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import InputError
from .backend import Backend
from .correlation import UnitColumns, is_varying
from .ridge import RidgePredictor
from .threads import computed_once


def kfold_indices(m: int, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``sklearn.model_selection.KFold(folds, shuffle=True, random_state=seed).split`` over m
    rows, written out so that a job does not pay scikit-learn's import: the rows are shuffled
    by ``RandomState(seed)``, the first ``m % folds`` test folds take one extra row, and both
    index sets of a fold are in ascending order."""
    order = np.arange(m)
    np.random.RandomState(seed).shuffle(order)
    sizes = np.full(folds, m // folds)
    sizes[: m % folds] += 1
    splits, start = [], 0
    for size in sizes:
        test = np.sort(order[start:start + size])
        mask = np.ones(m, dtype=bool)
        mask[test] = False
        splits.append((np.flatnonzero(mask), test))
        start += size
    return splits


def make_splits(m: int, folds: int, seed: int, backend: Backend) -> list[tuple[torch.Tensor, ...]]:
    """The contract's folds as (train, test) index tensors; every layer pair of a comparison
    shares them."""
    return [(torch.as_tensor(tr, device=backend.device), torch.as_tensor(te, device=backend.device))
            for tr, te in kfold_indices(m, folds, seed)]


def check_settings(folds: int, corr: str) -> None:
    if not isinstance(folds, (int, np.integer)) or isinstance(folds, bool) or folds < 2:
        raise InputError(f"folds must be an integer of at least 2, got {folds!r}")
    if corr not in ("pearson", "spearman"):
        raise InputError(f"corr must be 'pearson' or 'spearman', got {corr!r}")


def check_activations(array, name: str, folds: int) -> None:
    """Reject what the contract rejects for one layer: not 2-D, non-finite, too few rows."""
    shape = tuple(array.shape)
    if len(shape) != 2:
        raise InputError(f"{name}: expected a 2-D array (stimuli × units), got shape {shape}")
    if shape[0] < 2 * folds:
        raise InputError(
            f"{name}: {shape[0]} stimuli is fewer than 2 × folds = {2 * folds}; "
            "use more stimuli or fewer folds"
        )
    finite = torch.isfinite(array).all() if isinstance(array, torch.Tensor) else np.isfinite(
        array).all()
    if not bool(finite):
        raise InputError(f"{name}: contains NaN or infinite values")


class Layer:
    """A layer's activations with constant units dropped and columns centred on all rows.

    Parameters
    ----------
    name : str
        How error messages and tables name the layer (e.g. ``"A.safetensors:layer3"``).
    data : array of shape (m, n)
        Activations of n units for m stimuli.
    splits : list of (train, test) index tensors
        From :func:`make_splits`.
    corr : {"pearson", "spearman"}
    backend : Backend
    seed : int
        The seed of the fold split (reported with every score).

    Attributes
    ----------
    data : tensor of shape (m, units)
        The kept units, centred on their all-row means. Centring first changes no score (every
        fold recentres) but keeps the ``all rows − test rows`` cross products well conditioned.
    units, dropped : int
        Units kept and dropped by Step 0.
    """

    def __init__(self, name: str, data, splits, corr: str, backend: Backend, seed: int = 0):
        self.name, self.splits, self.corr, self.backend = name, splits, corr, backend
        self.seed = seed
        X = backend.tensor(data)
        keep = is_varying(X)
        self.units, self.dropped = int(keep.sum()), int((~keep).sum())
        if self.units == 0:
            raise InputError(f"{name}: every unit is constant over the stimuli; nothing to compare")
        X = X[:, keep] if self.dropped else X
        self.data = X - X.mean(dim=0)
        self.folds = [LayerFold(self, tr, te) for tr, te in splits]

    @property
    def m(self) -> int:
        return self.data.shape[0]

    @computed_once
    def gram(self) -> torch.Tensor:
        """XᵀX over all rows (n × n), as the sum over the test folds (they partition the rows)
        of their Grams, which every fold's training Gram needs anyway."""
        return sum(f.test_gram + torch.outer(f.test_mean, f.test_mean) * f.n_test
                   for f in self.folds)

    @computed_once
    def gram_norm(self) -> torch.Tensor:
        """‖XᵀX‖_F over all rows (the denominator of CKA)."""
        return torch.linalg.matrix_norm(self.gram)

    def rotated(self, seed: int) -> Layer:
        """This layer after the contract's Haar-random rotation of its kept units."""
        from .rotation import haar_rotation

        Q = self.backend.tensor(haar_rotation(self.units, seed))
        rotated = Layer(f"{self.name}@rotated", self.data @ Q, self.splits, self.corr,
                        self.backend, self.seed)
        rotated.dropped = self.dropped
        return rotated

    def release(self) -> None:
        """Free the per-fold factorisations; they are recomputed if asked for again."""
        for fold in self.folds:
            fold.__dict__.pop("ridge", None)
            fold.__dict__.pop("train", None)


class LayerFold:
    """What one fold needs of one layer. Cheap parts are computed on first use and kept."""

    def __init__(self, layer: Layer, train: torch.Tensor, test: torch.Tensor):
        self.layer, self.train_idx, self.test_idx = layer, train, test
        X = layer.data
        self.train_mean = X[train].mean(dim=0)
        self.test_mean = X[test].mean(dim=0)

    @property
    def n_train(self) -> int:
        return len(self.train_idx)

    @property
    def n_test(self) -> int:
        return len(self.test_idx)

    @computed_once
    def train_ok(self) -> torch.Tensor:
        """Units that vary over the training rows. The others carry nothing to fit: they are
        exactly zero once centred, so no map learns from them and no prediction of them varies
        (a unit may be constant in training and still vary in the test rows)."""
        return is_varying(self.layer.data[self.train_idx])

    @computed_once
    def train(self) -> torch.Tensor:
        """Training rows centred on the training means (m_train × units); constant units are
        exactly 0 (subtracting a rounded mean would leave ~1e-17 instead)."""
        centred = self.layer.data[self.train_idx] - self.train_mean
        return torch.where(self.train_ok, centred, 0.0)

    @computed_once
    def train_sd(self) -> torch.Tensor:
        """Root sum of squares of each centred training column; 0 where it is constant."""
        rows = self.layer.data[self.train_idx]
        ss = ((rows - self.train_mean) ** 2).sum(dim=0)
        return torch.where(self.train_ok, ss.sqrt(), torch.zeros_like(ss))

    @computed_once
    def test(self) -> torch.Tensor:
        """Test rows centred on the test means; a correlation never sees the shift."""
        return self.layer.data[self.test_idx] - self.test_mean

    @computed_once
    def test_units(self) -> UnitColumns:
        return UnitColumns.of(self.test, self.layer.corr)

    @computed_once
    def test_gram(self) -> torch.Tensor:
        return self.test.T @ self.test

    @computed_once
    def test_ss(self) -> torch.Tensor:
        return (self.test**2).sum(dim=0)

    @computed_once
    def train_row_ss(self) -> torch.Tensor:
        """Squared norm of each centred training row (the target side of the ridge LOO error)."""
        return (self.train**2).sum(dim=1)

    @property
    def train_gram(self) -> torch.Tensor:
        """XᵀX of the centred training rows (units × units), from the all-rows Gram less the
        test rows' (a pass over the test rows instead of the four times larger training set);
        its rounding, ε ‖XᵀX‖ over all rows, is of the size of the direct product's."""
        test = self.test_gram + torch.outer(self.test_mean, self.test_mean) * self.n_test
        gram = self.layer.gram - test - torch.outer(self.train_mean, self.train_mean) * self.n_train
        return gram * torch.outer(self.train_ok, self.train_ok)

    @computed_once
    def ridge(self) -> RidgePredictor:
        # Conditioning is the layer's: where fold 0 could not take the fast Gram route of
        # thin_svd, the other folds go straight to the SVD (and in any order of use, fold 0
        # is what decides).
        first = self.layer.folds[0]
        try_gram = self is first or first.ridge.gram_route
        return RidgePredictor.fit(self.train, try_gram=try_gram, gram=lambda: self.train_gram)
