"""Layer activations through forward hooks: the centre pixel of every convolution's output."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


def conv_layer_names(model: nn.Module) -> list[str]:
    """Names of the compared layers: every ``nn.Conv2d``, in registration (network) order."""
    return [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]


def centre_pixel(output: torch.Tensor) -> torch.Tensor:
    """(batch, channels, H, W) → (batch, channels) at row H // 2, column W // 2."""
    return output[:, :, output.shape[2] // 2, output.shape[3] // 2]


@torch.no_grad()
def extract_activations(model: nn.Module, batches: Iterable[torch.Tensor],
                        device: torch.device | str = "cpu"
                        ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Run ``batches`` of images through ``model`` (in eval mode) and return the centre-pixel
    activations of every convolution (name → stimuli × channels, float32, on the CPU) and the
    logits (stimuli × classes)."""
    model = model.to(device).eval()
    names = conv_layer_names(model)
    modules = dict(model.named_modules())
    collected: dict[str, list[torch.Tensor]] = {name: [] for name in names}

    def keep(name):
        return lambda _module, _inputs, output: collected[name].append(
            centre_pixel(output).float().cpu())

    hooks = [modules[name].register_forward_hook(keep(name)) for name in names]
    logits = []
    try:
        for images in batches:
            logits.append(model(images.to(device)).float().cpu())
    finally:
        for hook in hooks:
            hook.remove()
    return {name: torch.cat(parts) for name, parts in collected.items()}, torch.cat(logits)
