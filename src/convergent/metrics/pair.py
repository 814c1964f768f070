"""Cross products between two prepared layers, shared by every metric and direction of a pair.

The training rows' cross product of each fold comes from the all-rows product minus the test
rows' product (plus the mean correction), and the all-rows product is the sum of the test
folds' (they partition the rows), so a pair costs one pass over the rows instead of one over
each (four times larger) training set.
"""

from __future__ import annotations

import torch

from .layer import Layer
from .threads import computed_once


class PairMoments:
    """Lazily computed cross products of layers x (m × nx) and y (m × ny)."""

    def __init__(self, x: Layer, y: Layer):
        self.x, self.y = x, y
        self._test_raw: dict[int, torch.Tensor] = {}

    @computed_once
    def all_rows(self) -> torch.Tensor:
        """XᵀY over all rows of the (all-row centred) layers, nx × ny: the sum of the test
        folds' products, which partition the rows and are each needed for their fold."""
        return sum(self._test_rows(f) for f in range(len(self.x.folds)))

    def _test_rows(self, f: int) -> torch.Tensor:
        if f not in self._test_raw:
            idx = self.x.folds[f].test_idx
            self._test_raw[f] = self.x.data[idx].T @ self.y.data[idx]
        return self._test_raw[f]

    def train(self, f: int) -> torch.Tensor:
        """Σ over training rows of (x − μx)(y − μy)ᵀ, μ the training means, nx × ny."""
        fx, fy = self.x.folds[f], self.y.folds[f]
        outer = torch.outer(fx.train_mean, fy.train_mean) * fx.n_train
        cross = self.all_rows - self._test_rows(f) - outer
        # Units constant over the training rows have an exactly zero cross product.
        return cross * torch.outer(fx.train_ok, fy.train_ok)

    def test(self, f: int) -> torch.Tensor:
        """Σ over test rows of (x − νx)(y − νy)ᵀ, ν the test means, nx × ny."""
        fx, fy = self.x.folds[f], self.y.folds[f]
        return self._test_rows(f) - torch.outer(fx.test_mean, fy.test_mean) * fx.n_test
