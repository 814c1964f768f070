"""Layer activations through forward hooks, with one layer-selection rule per model family.

A :class:`LayerSpec` says which modules of a model are the compared layers (``names``) and how
each module's output becomes a (stimuli × units) matrix (``reduce``). :data:`LAYER_SPECS` lists
the rules in the order they are tried; the first whose ``matches`` accepts the model wins:

- ``vit`` (any torchvision ``VisionTransformer``): the output of every encoder block
  ``encoder.layers.encoder_layer_{i}``, i = 0 … L − 1 in order, reduced to its [CLS] token
  (sequence position 0), i.e. before the encoder's final LayerNorm. Tried first because a ViT's
  patch embedding is an ``nn.Conv2d``, which the convolutional rule would otherwise pick up.
- ``conv`` (any model with an ``nn.Conv2d``): the output of every ``nn.Conv2d`` module
  (downsampling shortcuts included), in registration order, reduced to the centre pixel
  (row H // 2, column W // 2) of each channel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn
from torchvision.models import VisionTransformer

from ..errors import InputError


def conv_layer_names(model: nn.Module) -> list[str]:
    """Names of the compared layers of a conv net: every ``nn.Conv2d``, in registration order."""
    return [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]


def centre_pixel(output: torch.Tensor) -> torch.Tensor:
    """(batch, channels, H, W) → (batch, channels) at row H // 2, column W // 2."""
    return output[:, :, output.shape[2] // 2, output.shape[3] // 2]


def vit_block_names(model: nn.Module) -> list[str]:
    """Names of a ViT's encoder blocks, ``encoder.layers.encoder_layer_{i}``, in order."""
    return [f"encoder.layers.{name}" for name, _ in model.encoder.layers.named_children()]


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
    names : callable
        model → the compared modules' names, in network order.
    reduce : callable
        a module's output → (batch, units).
    """

    family: str
    matches: Callable[[nn.Module], bool]
    names: Callable[[nn.Module], list[str]]
    reduce: Callable[[torch.Tensor], torch.Tensor]


#: The rules, tried in this order; the first that matches a model is its rule.
LAYER_SPECS: tuple[LayerSpec, ...] = (
    LayerSpec("vit", lambda model: isinstance(model, VisionTransformer), vit_block_names,
              cls_token),
    LayerSpec("conv", _has_conv, conv_layer_names, centre_pixel),
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
    return layer_spec(model).names(model)


@torch.no_grad()
def extract_activations(model: nn.Module, batches: Iterable[torch.Tensor],
                        device: torch.device | str = "cpu"
                        ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Run ``batches`` of images through ``model`` in eval mode.

    Parameters
    ----------
    model : nn.Module
        A model one of :data:`LAYER_SPECS` applies to.
    batches : iterable of Tensor
        Images, each batch (b, 3, H, W).
    device : str or torch.device

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
    names = spec.names(model)
    modules = dict(model.named_modules())
    collected: dict[str, list[torch.Tensor]] = {name: [] for name in names}

    def keep(name):
        return lambda _module, _inputs, output: collected[name].append(
            spec.reduce(output).float().cpu())

    hooks = [modules[name].register_forward_hook(keep(name)) for name in names]
    outputs = []
    try:
        for images in batches:
            outputs.append(model(images.to(device)).float().cpu())
    finally:
        for hook in hooks:
            hook.remove()
    return {name: torch.cat(parts) for name, parts in collected.items()}, torch.cat(outputs)
