"""The rotation test for privileged axes (contract: "Rotation test")."""

from __future__ import annotations

import numpy as np


def haar_rotation(n: int, seed: int) -> np.ndarray:
    """A Haar-distributed random orthogonal matrix (n × n).

    QR of a standard normal matrix, with each column's sign fixed by the sign of R's diagonal;
    without that fix the distribution is not uniform over the orthogonal group.
    """
    G = np.random.default_rng(seed).standard_normal((n, n))
    Q, R = np.linalg.qr(G)
    return Q * np.sign(np.diag(R))


def change_pct(native: float, rotated: float) -> float:
    """How much higher the native permutation score is than the rotated one, in % of rotated."""
    return (native - rotated) / rotated * 100.0
