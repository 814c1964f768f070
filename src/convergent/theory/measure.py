"""(h, y, w) and the loss measured on a torch network for two inputs, at a chosen layer."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class TwoPoint:
    """Two inputs (each of shape (d_in,)) and their targets (each (d_out,))."""

    x_a: torch.Tensor
    x_b: torch.Tensor
    target_a: torch.Tensor
    target_b: torch.Tensor

    @property
    def dx2(self) -> float:
        return float(((self.x_b - self.x_a) ** 2).sum())

    @property
    def dy2(self) -> float:
        return float(((self.target_b - self.target_a) ** 2).sum())


@torch.no_grad()
def measure_layers(model: nn.Module, layers: list[nn.Module], points: TwoPoint
                   ) -> dict[str, float | list[float]]:
    """As :func:`measure`, with ``h`` the list of squared distances at the output of each of
    ``layers`` (one forward pass for all of them)."""
    seen: dict[int, torch.Tensor] = {}
    hooks = [layer.register_forward_hook(
        lambda _m, _i, out, k=k: seen.__setitem__(k, out)) for k, layer in enumerate(layers)]
    try:
        out = model(torch.stack([points.x_a, points.x_b]))
    finally:
        for hook in hooks:
            hook.remove()
    targets = torch.stack([points.target_a, points.target_b]).to(out)
    d_out, d_target = out[1] - out[0], targets[1] - targets[0]
    distances = []
    for k in range(len(layers)):
        rep = seen[k].flatten(1)
        distances.append(float(((rep[1] - rep[0]) ** 2).sum()))
    return {
        "h": distances,
        "y": float((d_out ** 2).sum()),
        "w": float(d_out @ (d_out - d_target)),
        "loss": float(0.5 * ((out - targets) ** 2).sum(dim=1).mean()),
        "mean_gap": float(((out.mean(0) - targets.mean(0)) ** 2).sum()),
    }


def measure(model: nn.Module, layer: nn.Module, points: TwoPoint) -> dict[str, float]:
    """h, y, w, the ½-MSE loss over the two points and ‖ȳ − ȳ*‖², from one forward pass of
    both inputs, reading the representation at the output of ``layer``."""
    measured = measure_layers(model, [layer], points)
    return {**measured, "h": measured["h"][0]}
