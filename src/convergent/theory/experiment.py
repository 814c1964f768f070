"""Training a network on two points and recording (h, y, w, loss) every epoch (theory.md,
"Experiments"): the default deep MLP and its variants, full-batch SGD on ½ MSE."""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from .measure import TwoPoint, measure

ACTIVATIONS = {"leaky_relu": nn.LeakyReLU, "relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU,
               "silu": nn.SiLU, "linear": nn.Identity}


def default_points(dx: float = 1.0, dy: float = 0.5 ** 0.5) -> TwoPoint:
    """The paper's pair: 1-D inputs −1 and −1 + dx, targets 0.6 and 0.6 + dy."""
    as_tensor = torch.tensor
    return TwoPoint(as_tensor([-1.0]), as_tensor([-1.0 + dx]), as_tensor([0.6]),
                    as_tensor([0.6 + dy]))


def mlp(depth: int = 20, width: int = 500, activation: str = "leaky_relu", gain: float = 1.0,
        d_in: int = 1, d_out: int = 1, seed: int = 0) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units, Xavier-normal weights with ``gain``, zero
    biases. Hidden layer k (1-based) is ``model[2 * k - 1]`` (the activation's output)."""
    torch.manual_seed(seed)
    sizes = [d_in] + [width] * depth
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), ACTIVATIONS[activation]()]
    layers.append(nn.Linear(width, d_out))
    for module in layers:
        if isinstance(module, nn.Linear):
            nn.init.xavier_normal_(module.weight, gain=gain)
            nn.init.zeros_(module.bias)
    return nn.Sequential(*layers)


def hidden_layer(model: nn.Sequential, k: int) -> nn.Module:
    return model[2 * k - 1]


def train_two_points(model: nn.Module, layer: nn.Module, points: TwoPoint, lr: float,
                     epochs: int) -> pd.DataFrame:
    """Full-batch SGD on the two points; one row per epoch 0 … epochs with h, y, w, loss and
    the mean-output gap."""
    inputs = torch.stack([points.x_a, points.x_b])
    targets = torch.stack([points.target_a, points.target_b])
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    rows = [{"epoch": 0, **measure(model, layer, points)}]
    for epoch in range(1, epochs + 1):
        optimiser.zero_grad()
        loss = 0.5 * ((model(inputs) - targets) ** 2).sum(dim=1).mean()
        loss.backward()
        optimiser.step()
        rows.append({"epoch": epoch, **measure(model, layer, points)})
    return pd.DataFrame(rows)


def fit_trajectory(trajectory: pd.DataFrame, points: TwoPoint):
    """The rates and R² of the theory fitted to a recorded trajectory."""
    from .fit import fit_loss_rate, fit_rates

    t = trajectory.epoch.to_numpy(float)
    rates = fit_rates(t, trajectory.h, trajectory.y, trajectory.w, points.dx2, points.dy2)
    eta_ybar, r2_loss = fit_loss_rate(t, trajectory["loss"].to_numpy(), trajectory.y.to_numpy(),
                                      trajectory.w.to_numpy(), points.dy2,
                                      float(trajectory.mean_gap.iloc[0]))
    return {"eta_h": rates.eta_h, "eta_y": rates.eta_y, "eta_ybar": eta_ybar,
            **{f"r2_{q}": v for q, v in rates.r2.items()}, "r2_loss": r2_loss}

