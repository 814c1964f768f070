"""Named stimulus sets: the in-distribution test images (:data:`convergent.plan.IMAGES`) and
the 17 OOD sets, read from the published images when ``stimuli.ood_root`` names their folder,
else generated."""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError
from ..plan.models import IMAGES
from .images import ImageSet, image_dataset, load_images
from .ood import OOD_SETS, make_ood_set
from .ood_folder import read_ood_folder


def _chosen(size: int, limit: int | None, seed: int) -> np.ndarray | None:
    """The sorted seeded subset of at most ``limit`` of ``size`` test images (None: all)."""
    if limit is None or limit >= size:
        return None
    return np.sort(np.random.default_rng(seed).choice(size, limit, replace=False))


def _first_per_seed(data: dict, limit: int | None, seed: int) -> ImageSet:
    """A seeded subset of at most ``limit`` test images, kept in their original order. Only
    the chosen images are decoded (an ImageNet validation folder never has to fit in memory)."""
    chosen = _chosen(len(image_dataset(data, "test")), limit, seed)
    return load_images(data, "test", index=chosen)


def in_distribution_ids(data: dict, stimuli: dict) -> list[str]:
    """The stimulus ids of the in-distribution set, in its order, without decoding an image
    (recorded responses are matched to them)."""
    dataset = image_dataset(data, "test")
    chosen = _chosen(len(dataset), stimuli["max_images"], stimuli["seed"])
    return list(dataset.ids) if chosen is None else [dataset.ids[i] for i in chosen]


def _ood_root(stimuli: dict) -> str | os.PathLike | None:
    """The configured directory of the published OOD sets, or None when there is none."""
    root = stimuli.get("ood_root")
    if root is None:
        return None
    if not isinstance(root, str | os.PathLike) or not str(root):
        raise InputError(f"stimuli.ood_root: expected a directory path, got {root!r}")
    if not os.path.isdir(root):
        raise InputError(f"stimuli.ood_root: {str(root)!r} is not a directory")
    return root


def build_stimset(data: dict, stimuli: dict, stimset: str) -> ImageSet:
    """The images of stimulus set ``stimset`` under the config sections ``data`` and
    ``stimuli`` (``max_images``: cap on the in-distribution set; ``ood_images``: source images
    per OOD level; ``seed``; ``ood_root``: optional directory of the published OOD sets).

    With ``ood_root`` set, an OOD set is always the published one, all of it, read from
    ``<ood_root>/<stimset>`` at ``data.image_size`` with the 16 benchmark categories as classes
    (``ood_folder.read_ood_folder``); a missing set is an error, never a silent fallback to
    the generated one. Without it, the set is generated from a seeded subset of ``ood_images``
    test images (``ood.make_ood_set``).
    """
    if stimset != IMAGES and stimset not in OOD_SETS:
        raise InputError(f"unknown stimulus set {stimset!r}; choose from {IMAGES}, "
                         + ", ".join(OOD_SETS))
    root = None if stimset == IMAGES else _ood_root(stimuli)
    if root is not None:
        try:
            return read_ood_folder(root, stimset, data["image_size"])
        except InputError as err:
            raise InputError(f"stimuli.ood_root: {err}") from None
    if stimset == IMAGES:
        return _first_per_seed(data, stimuli["max_images"], stimuli["seed"])
    source = _first_per_seed(data, stimuli["ood_images"], stimuli["seed"])
    return make_ood_set(source, stimset, seed=stimuli["seed"])
