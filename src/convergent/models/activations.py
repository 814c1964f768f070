"""Layer activations through forward hooks, with one layer-selection rule per model family.

A :class:`LayerSpec` says which modules of a model are the compared layers and where each is
measured (:class:`Probe`), and how a measured output becomes a (stimuli × units) matrix
(``reduce``). :data:`LAYER_SPECS` lists the rules in the order they are tried; the first whose
``matches`` accepts the model wins:

- ``vit`` (any torchvision ``VisionTransformer``): the output of every encoder block
  ``encoder.layers.encoder_layer_{i}``, i = 0 … L − 1 in order, reduced to its [CLS] token
  (sequence position 0), i.e. before the encoder's final LayerNorm. Tried first because a ViT's
  patch embedding is an ``nn.Conv2d``, which the convolutional rule would otherwise pick up.
- ``conv`` (any model with an ``nn.Conv2d``): every convolution except a residual block's
  downsampling shortcut, in registration order, named by the convolution and reduced to the
  centre pixel (row H // 2, column W // 2) of each channel. Where it is measured is the
  *point*:

  - ``activation`` (default): the convolution's response after its nonlinearity, conv → batch
    norm → ReLU, and for the last convolution of a residual block the block's output (after the
    residual sum and its ReLU). Only there can a unit axis be privileged: the ReLU acts on each
    unit alone, while the raw convolution output has no preferred basis.
  - ``conv``: the raw convolution output, before batch norm and ReLU.

torchvision's ResNet blocks call one ``nn.ReLU`` module twice, so a hook on it would fire twice
per block; the rule hooks the batch norm (and applies the ReLU itself) or the whole block
instead, never a shared ReLU.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models import VisionTransformer
from torchvision.models.resnet import BasicBlock, Bottleneck

from ..errors import InputError

#: Where a convolution's layer is measured: after its nonlinearity, or its raw output.
POINTS = ("activation", "conv")


@dataclass(frozen=True)
class Probe:
    """Where one compared layer is read.

    Attributes
    ----------
    layer : str
        The compared layer's name (a convolution's or encoder block's module name).
    module : str
        The module whose forward output is hooked.
    after : callable
        Applied to the reduced output (a ReLU, or the identity): elementwise, so applying it
        after the centre-pixel reduction gives the same numbers at a fraction of the cost.
    """

    layer: str
    module: str
    after: Callable[[torch.Tensor], torch.Tensor] = nn.Identity()


def _is_shortcut(name: str) -> bool:
    return ".downsample." in f".{name}."


def _last_conv(block: nn.Module) -> str:
    """The name of a residual block's last convolution (its shortcut's excluded)."""
    return [name for name, child in block.named_children() if isinstance(child, nn.Conv2d)][-1]


def conv_layer_names(model: nn.Module) -> list[str]:
    """Names of the compared layers of a conv net: every ``nn.Conv2d`` but downsampling
    shortcuts, in registration order."""
    return [name for name, module in model.named_modules()
            if isinstance(module, nn.Conv2d) and not _is_shortcut(name)]


def conv_probes(model: nn.Module, point: str = "activation") -> list[Probe]:
    """One :class:`Probe` per compared convolution, measured at ``point`` (:data:`POINTS`)."""
    if point not in POINTS:
        raise InputError(f"unknown measuring point {point!r}; choose from {', '.join(POINTS)}")
    names = conv_layer_names(model)
    if point == "conv":
        return [Probe(name, name) for name in names]
    modules = list(model.named_modules())
    order = {name: index for index, (name, _) in enumerate(modules)}
    blocks = dict(modules)
    probes = []
    for name in names:
        parent, _, child = name.rpartition(".")
        block = blocks.get(parent)
        if isinstance(block, BasicBlock | Bottleneck) and child == _last_conv(block):
            probes.append(Probe(name, parent))  # after the residual sum and its ReLU
            continue
        follower_name, follower = modules[order[name] + 1]
        if isinstance(follower, nn.BatchNorm2d):
            probes.append(Probe(name, follower_name, F.relu))
        else:  # no batch norm: the ReLU follows the convolution itself
            probes.append(Probe(name, name, F.relu))
    return probes


def centre_pixel(output: torch.Tensor) -> torch.Tensor:
    """(batch, channels, H, W) → (batch, channels) at row H // 2, column W // 2."""
    return output[:, :, output.shape[2] // 2, output.shape[3] // 2]


def vit_block_names(model: nn.Module) -> list[str]:
    """Names of a ViT's encoder blocks, ``encoder.layers.encoder_layer_{i}``, in order."""
    return [f"encoder.layers.{name}" for name, _ in model.encoder.layers.named_children()]


def vit_probes(model: nn.Module, point: str = "activation") -> list[Probe]:
    """One :class:`Probe` per encoder block's output (``point`` does not apply to a ViT)."""
    return [Probe(name, name) for name in vit_block_names(model)]


def cls_token(output: torch.Tensor) -> torch.Tensor:
    """(batch, tokens, hidden) → (batch, hidden): the [CLS] token, sequence position 0."""
    return output[:, 0]


def _has_conv(model: nn.Module) -> bool:
    return any(isinstance(module, nn.Conv2d) for module in model.modules())


@dataclass(frozen=True)
class LayerSpec:
    """One family's layer-selection rule.

    Attributes
    ----------
    family : str
        Short name of the rule (``vit``, ``conv``).
    matches : callable
        model → whether the rule applies.
    probes : callable
        (model, point) → the compared layers' :class:`Probe`, in network order.
    reduce : callable
        a measured output → (batch, units).
    """

    family: str
    matches: Callable[[nn.Module], bool]
    probes: Callable[[nn.Module, str], list[Probe]]
    reduce: Callable[[torch.Tensor], torch.Tensor]


#: The rules, tried in this order; the first that matches a model is its rule.
LAYER_SPECS: tuple[LayerSpec, ...] = (
    LayerSpec("vit", lambda model: isinstance(model, VisionTransformer), vit_probes, cls_token),
    LayerSpec("conv", _has_conv, conv_probes, centre_pixel),
)


def layer_spec(model: nn.Module) -> LayerSpec:
    """The layer-selection rule of ``model`` (the first of :data:`LAYER_SPECS` that matches)."""
    for spec in LAYER_SPECS:
        if spec.matches(model):
            return spec
    raise InputError(f"no layer rule for a {type(model).__name__}: the compared layers are "
                     "defined for convolutional networks and torchvision ViTs")


def layer_names(model: nn.Module) -> list[str]:
    """The compared layers of ``model`` under its rule, in network order."""
    return [probe.layer for probe in layer_spec(model).probes(model, "activation")]


@torch.no_grad()
def extract_activations(model: nn.Module, batches: Iterable[torch.Tensor],
                        device: torch.device | str = "cpu", point: str = "activation"
                        ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Run ``batches`` of images through ``model`` in eval mode.

    Parameters
    ----------
    model : nn.Module
        A model one of :data:`LAYER_SPECS` applies to.
    batches : iterable of Tensor
        Images, each batch (b, 3, H, W).
    device : str or torch.device
    point : {"activation", "conv"}
        Where a convolution is measured (:data:`POINTS`); ignored by a ViT.

    Returns
    -------
    layers : dict of str → Tensor
        Layer name → (stimuli, units) float32 on the CPU, in network order, each layer reduced
        by the model's rule (centre pixel for conv nets, [CLS] token for ViTs).
    outputs : Tensor
        (stimuli, outputs): the model's final outputs (logits for a classifier).
    """
    model = model.to(device).eval()
    spec = layer_spec(model)
    probes = spec.probes(model, point)
    modules = dict(model.named_modules())
    collected: dict[str, list[torch.Tensor]] = {probe.layer: [] for probe in probes}

    def keep(probe: Probe):
        return lambda _module, _inputs, output: collected[probe.layer].append(
            probe.after(spec.reduce(output)).float().cpu())

    hooks = [modules[probe.module].register_forward_hook(keep(probe)) for probe in probes]
    outputs = []
    try:
        for images in batches:
            outputs.append(model(images.to(device)).float().cpu())
    finally:
        for hook in hooks:
            hook.remove()
    return {name: torch.cat(parts) for name, parts in collected.items()}, torch.cat(outputs)
