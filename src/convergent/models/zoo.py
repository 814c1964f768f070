"""The architectures the workflow trains: torchvision models, optionally narrowed for a laptop.

``width`` scales every layer's channel count (VGG only: torchvision's ResNet fixes the widths of
its basic blocks, and the ViTs have fixed widths). ``small_input`` adapts the ImageNet head of
VGG to small images: a global average pool and one linear layer instead of the 7 × 7 pool and two
4096-unit layers, the usual CIFAR variant. ResNet keeps its ImageNet stem, which reduces a
32-pixel image to 1 pixel at the last stage, so every convolution still has a centre pixel. The
ViTs ignore ``small_input``: ``vit_b16`` takes 224-pixel images, ``vit_small`` 32-pixel ones.

Compared layers per architecture (:mod:`convergent.models.activations`), the same at every
width, with or without ``small_input`` and at either measuring point:

============  ======  =====================================================================
arch          layers  which
============  ======  =====================================================================
resnet18      17      every Conv2d but the 3 downsampling shortcuts: stem, 16 in the blocks
resnet50      49      every Conv2d but the 4 downsampling shortcuts: stem, 48 in the blocks
vgg11         8       every Conv2d of the feature stack (VGG-A with batch norm)
vgg16         13      every Conv2d of the feature stack (VGG-D with batch norm)
vgg19         16      every Conv2d of the feature stack (VGG-E with batch norm)
vit_b16       12      [CLS] token after each encoder block (ViT-B/16, 224 px)
vit_small     4       [CLS] token after each encoder block (32 px, patch 8, width 128)
============  ======  =====================================================================

A convolution is measured after its batch norm and ReLU (a residual block's last one after the
residual sum and its ReLU), or, with ``point="conv"``, at its raw output.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torchvision import models
from torchvision.models.vgg import cfgs as VGG_CONFIGS
from torchvision.models.vgg import make_layers

from ..errors import InputError
from .vit import vit_b16, vit_small


def _resnet(factory: Callable[..., nn.Module]):
    def build(num_classes: int, width: float, small_input: bool) -> nn.Module:
        if width != 1.0:
            raise InputError("width must be 1.0 for ResNets (torchvision fixes their widths)")
        return factory(weights=None, num_classes=num_classes)
    return build


class SmallInputVGG(nn.Module):
    """torchvision's VGG feature stack (``make_layers`` with batch norm) with the usual head for
    small images: global average pooling and one linear layer. torchvision's ``VGG`` class
    would first build (and initialise) its 120-million-parameter ImageNet head."""

    def __init__(self, features: nn.Module, channels: int, num_classes: int):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)
        for module in self.modules():  # torchvision's VGG initialisation
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def _vgg(config: str):
    def build(num_classes: int, width: float, small_input: bool) -> nn.Module:
        layout = [v if v == "M" else max(1, round(v * width)) for v in VGG_CONFIGS[config]]
        features = make_layers(layout, batch_norm=True)
        if small_input or width != 1.0:
            return SmallInputVGG(features, layout[-2], num_classes)
        return models.VGG(features, num_classes=num_classes, init_weights=True)
    return build


#: Architecture name → builder(num_classes, width, small_input).
ARCHITECTURES: dict[str, Callable[[int, float, bool], nn.Module]] = {
    "resnet18": _resnet(models.resnet18),
    "resnet50": _resnet(models.resnet50),
    "vgg11": _vgg("A"),
    "vgg16": _vgg("D"),
    "vgg19": _vgg("E"),
    "vit_b16": vit_b16,
    "vit_small": vit_small,
}


def build_model(arch: str, num_classes: int, width: float = 1.0, small_input: bool = False,
                seed: int | None = None) -> nn.Module:
    """A freshly initialised ``arch`` with ``num_classes`` outputs; with ``seed``, the
    initialisation is that seed's (the global torch generator is seeded with it)."""
    if arch not in ARCHITECTURES:
        raise InputError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHITECTURES)}")
    if seed is not None:
        torch.manual_seed(seed)
    return ARCHITECTURES[arch](num_classes, width, small_input)
