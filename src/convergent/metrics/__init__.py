"""Alignment scores between two layers' activations (``shared/spec/metrics.md``).

``score`` compares one pair of layers; ``grid`` compares many layers of one model with many of
another, preparing each layer once; ``grid_many`` does so for several model pairs that share
networks, preparing each shared layer once. Both run on the CPU or a GPU through torch.

The names are loaded on first use, so that importing ``convergent.metrics.contract`` (the
constants) does not import torch.
"""

from importlib import import_module

_EXPORTS = {
    "AlignmentResult": "contract", "CORRS": "contract", "METRICS": "contract",
    "RIDGE_ALPHAS": "contract", "ROTATED": "contract", "grid": "engine", "grid_many": "engine",
    "rotation_test": "engine", "score": "engine", "haar_rotation": "rotation",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
