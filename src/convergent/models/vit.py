"""Vision transformers: torchvision's ViT-B/16 and a small ViT of the same class for a laptop.

Both are torchvision ``VisionTransformer`` instances, so their layers follow one rule (the [CLS]
token after each encoder block, :mod:`convergent.models.activations`). A ViT fixes its input
size through its position embedding: ``vit_b16`` takes 224-pixel images, ``vit_small``
32-pixel images; :func:`check_image_size` turns a mismatch into an :class:`InputError`.
"""

from __future__ import annotations

from torch import nn
from torchvision import models

from ..errors import InputError

#: The small ViT of the embedded default: 32-pixel images in 8 × 8 patches (16 tokens + [CLS]),
#: 4 encoder blocks of width 128 with 4 heads and an MLP of 256 units. Patches of 8 pixels (2 × 2
#: pixels of the digits before upscaling) and the width let it leave chance on the digits within
#: a CPU minute; with 4-pixel patches and width 64 it stayed on a plateau at chance for longer.
SMALL_VIT = {"image_size": 32, "patch_size": 8, "num_layers": 4, "num_heads": 4,
             "hidden_dim": 128, "mlp_dim": 256}


def _check_width(width: float) -> None:
    if width != 1.0:
        raise InputError("width must be 1.0 for ViTs (their widths are fixed)")


def vit_b16(num_classes: int, width: float, small_input: bool) -> nn.Module:
    """torchvision's ViT-B/16 (224 px, patch 16, 12 blocks of width 768, 12 heads), untrained.

    ``small_input`` is ignored: the ViT's input size is fixed."""
    _check_width(width)
    return models.vit_b_16(weights=None, num_classes=num_classes)


def vit_small(num_classes: int, width: float, small_input: bool) -> nn.Module:
    """A torchvision ``VisionTransformer`` with the :data:`SMALL_VIT` settings, untrained.

    ``small_input`` is ignored: the ViT's input size is fixed (32 px)."""
    _check_width(width)
    return models.VisionTransformer(**SMALL_VIT, num_classes=num_classes)


def required_image_size(model: nn.Module) -> int | None:
    """The input size in pixels a model insists on (a ViT's), or None if any size works."""
    return model.image_size if isinstance(model, models.VisionTransformer) else None


def check_image_size(model: nn.Module, size: int, what: str = "data.image_size") -> None:
    """Raise :class:`InputError` naming ``what`` if ``model`` cannot take ``size``-pixel images.
    """
    required = required_image_size(model)
    if required is not None and size != required:
        raise InputError(f"{what}: the ViT takes {required}-pixel images, not {size}")
