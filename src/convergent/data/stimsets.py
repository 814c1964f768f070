"""Named stimulus sets: ``test`` (the in-distribution test split) and the OOD sets."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .images import ImageSet, load_images
from .ood import OOD_SETS, make_ood_set

IN_DISTRIBUTION = "test"


def _first_per_seed(images: ImageSet, limit: int | None, seed: int) -> ImageSet:
    """A seeded subset of at most ``limit`` images, kept in their original order."""
    if limit is None or limit >= len(images):
        return images
    chosen = np.sort(np.random.default_rng(seed).choice(len(images), limit, replace=False))
    return images.subset(chosen)


def build_stimset(data: dict, stimuli: dict, stimset: str) -> ImageSet:
    """The images of stimulus set ``stimset`` under the config sections ``data`` and
    ``stimuli`` (``max_images``: cap on the in-distribution set; ``ood_images``: source images
    per OOD level; ``seed``)."""
    test = load_images(data, "test")
    if stimset == IN_DISTRIBUTION:
        return _first_per_seed(test, stimuli["max_images"], stimuli["seed"])
    if stimset not in OOD_SETS:
        raise InputError(f"unknown stimulus set {stimset!r}; choose from {IN_DISTRIBUTION}, "
                         + ", ".join(OOD_SETS))
    source = _first_per_seed(test, stimuli["ood_images"], stimuli["seed"])
    return make_ood_set(source, stimset, seed=stimuli["seed"])
