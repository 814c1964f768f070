"""OOD accuracy (``shared/spec/ood.md``): an ImageNet (1000-way) model answers with one of the
benchmark's 16 categories, any other model with its own argmax.

For an ImageNet model the 1000 logits go through a softmax, each of the 16 categories scores the
**mean** probability of its ImageNet indices (a category with many indices, such as dog, is not
favoured over one with a single index, such as knife), and the highest-scoring category is the
answer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..errors import InputError
from .ood_folder import CATEGORIES, counts_in_summary

IMAGENET_CLASSES = 1000


def _indices(*parts: int | tuple[int, int]) -> list[int]:
    """ImageNet indices from single indices and inclusive ranges (first, last)."""
    out = []
    for part in parts:
        out += [part] if isinstance(part, int) else list(range(part[0], part[1] + 1))
    return out


#: Category → its ImageNet class indices, in ``CATEGORIES`` order, as ood.md lists them.
IMAGENET16_INDICES: dict[str, list[int]] = {
    "airplane": _indices(404),
    "bear": _indices((294, 297)),
    "bicycle": _indices(444, 671),
    "bird": _indices(8, (10, 16), (18, 20), (22, 24), (80, 83), (87, 96), (98, 100),
                     (127, 133), (135, 145)),
    "boat": _indices(472, 554, 625, 814, 914),
    "bottle": _indices(440, 720, 737, 898, 899, 901, 907),
    "car": _indices(436, 511, 817),
    "cat": _indices((281, 286)),
    "chair": _indices(423, 559, 765, 857),
    "clock": _indices(409, 530, 892),
    "dog": _indices((152, 191), (193, 203), (205, 226), (228, 241), (243, 250), (252, 257), 259,
                    (261, 263), (265, 268)),
    "elephant": _indices(385, 386),
    "keyboard": _indices(508, 878),
    "knife": _indices(499),
    "oven": _indices(766),
    "truck": _indices(555, 569, 656, 675, 717, 734, 864, 867),
}


def _averaging_matrix() -> torch.Tensor:
    """1000 × 16 matrix whose column k averages the probabilities of category k's indices."""
    matrix = torch.zeros(IMAGENET_CLASSES, len(CATEGORIES), dtype=torch.float64)
    for k, category in enumerate(CATEGORIES):
        indices = IMAGENET16_INDICES[category]
        matrix[indices, k] = 1.0 / len(indices)
    return matrix


def _on_cpu(values) -> torch.Tensor:
    return values.detach().cpu() if torch.is_tensor(values) else torch.as_tensor(np.asarray(values))


def _as_logits(logits) -> torch.Tensor:
    logits = _on_cpu(logits)
    if logits.ndim != 2 or logits.shape[0] == 0:
        raise InputError(f"logits: expected a non-empty 2-D array (stimuli × classes), got shape "
                         f"{tuple(logits.shape)}")
    logits = logits.to(torch.float64)
    if not torch.isfinite(logits).all():
        raise InputError("logits: contains NaN or infinite values")
    return logits


def category_probabilities(logits) -> torch.Tensor:
    """The 16 category scores of an ImageNet model's outputs.

    Parameters
    ----------
    logits : N × 1000 array or tensor of ImageNet logits.

    Returns
    -------
    N × 16 float64 tensor: for each category (``CATEGORIES`` order) the mean softmax probability
    of its ImageNet indices.
    """
    logits = _as_logits(logits)
    if logits.shape[1] != IMAGENET_CLASSES:
        raise InputError(f"logits: the 16-category mapping needs {IMAGENET_CLASSES} ImageNet "
                         f"logits per stimulus, got {logits.shape[1]}")
    return torch.softmax(logits, dim=1) @ _averaging_matrix()


def summary_mask(ids: Sequence[str]) -> np.ndarray:
    """Which stimuli the published summary counts, from their ids ``name/condition/...``.

    Returns
    -------
    Boolean array of length N.
    """
    mask = []
    for stimulus in ids:
        parts = stimulus.split("/")
        if len(parts) < 3:
            raise InputError(f"ids: {stimulus!r} is not an OOD stimulus id name/condition/...")
        mask.append(counts_in_summary(parts[0], parts[1]))
    return np.array(mask, dtype=bool)


def ood_accuracy(logits, labels, *, imagenet16: bool, ids: Sequence[str] | None = None,
                 summary: bool = False) -> float:
    """Top-1 accuracy on an OOD set.

    Parameters
    ----------
    logits : N × C model outputs (C = 1000 when ``imagenet16``).
    labels : N integer labels: indices into ``CATEGORIES`` when ``imagenet16``, else into the
        model's C classes.
    imagenet16 : map an ImageNet model's 1000 outputs to the 16 categories (mean probability of
        each category's indices) before the argmax; otherwise take the argmax of the C outputs.
    ids : N stimulus ids ``name/condition/...``; needed when ``summary``.
    summary : count only the conditions the published summary counts (``counts_in_summary``).

    Returns
    -------
    The fraction of counted stimuli whose answer is their label.
    """
    logits = _as_logits(logits)
    labels = _on_cpu(labels).reshape(-1)
    classes = len(CATEGORIES) if imagenet16 else logits.shape[1]
    if len(labels) != len(logits) or labels.dtype.is_floating_point:
        raise InputError(f"labels: expected {len(logits)} integer labels, got {len(labels)} of "
                         f"type {labels.dtype}")
    if labels.min() < 0 or labels.max() >= classes:
        raise InputError(f"labels: must lie in 0..{classes - 1}, got {int(labels.min())}.."
                         f"{int(labels.max())}")
    scores = category_probabilities(logits) if imagenet16 else logits
    correct = (scores.argmax(dim=1) == labels).numpy()
    if summary:
        if ids is None or len(ids) != len(logits):
            raise InputError(f"ids: summary accuracy needs {len(logits)} stimulus ids, got "
                             f"{None if ids is None else len(ids)}")
        counted = summary_mask(ids)
        if not counted.any():
            raise InputError("ids: no stimulus is in a condition the published summary counts")
        correct = correct[counted]
    return float(correct.mean())
