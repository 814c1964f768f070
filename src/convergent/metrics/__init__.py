"""Alignment scores between two layers' activations (``shared/spec/metrics.md``).

``score`` compares one pair of layers; ``grid`` compares many layers of one model with many of
another, preparing each layer once. Both run on the CPU or a GPU through torch.
"""

from .contract import CORRS, METRICS, RIDGE_ALPHAS, ROTATED, AlignmentResult
from .engine import grid, rotation_test, score
from .rotation import haar_rotation

__all__ = ["AlignmentResult", "CORRS", "METRICS", "RIDGE_ALPHAS", "ROTATED", "grid",
           "haar_rotation", "rotation_test", "score"]
