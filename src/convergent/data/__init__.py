"""Stimuli: in-distribution image sets (generated digits, any ImageFolder, CIFAR-100) and the
out-of-distribution sets derived from them (``shared/spec/ood.md``)."""

from .images import ImageSet, load_images
from .ood import OOD_SETS, make_ood_set
from .stimsets import build_stimset

__all__ = ["ImageSet", "OOD_SETS", "build_stimset", "load_images", "make_ood_set"]
