"""Stimuli: in-distribution image sets (generated digits, any ImageFolder, CIFAR-100) and the
17 out-of-distribution sets (``shared/spec/ood.md``): generated from them, or read from the
published images, with the benchmark's OOD accuracy."""

from .images import ImageSet, load_images
from .ood import OOD_SETS, make_ood_set
from .ood_folder import CATEGORIES, counts_in_summary, cue_conflict_texture, read_ood_folder
from .ood_scoring import category_probabilities, ood_accuracy
from .stimsets import build_stimset

__all__ = ["CATEGORIES", "ImageSet", "OOD_SETS", "build_stimset", "category_probabilities",
           "counts_in_summary", "cue_conflict_texture", "load_images", "make_ood_set",
           "ood_accuracy", "read_ood_folder"]
