"""Training networks while recording (h, y, w, loss) every epoch (theory.md, "Experiments").

Two settings:

- the two-point experiments: a network trained by full-batch SGD on ½ MSE over the two points
  alone (the default, its variants, the initial-scale sweep, the final-distance grid);
- the real-data experiment: an MLP trained by mini-batch SGD on a whole digit data set, following
  one image of digit 0 and one of digit 1 (one-hot targets, so dy2 = 2).

Measurement happens in eval mode (dropout off) after every epoch; training steps in train mode.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..errors import InputError
from .measure import TwoPoint, measure, measure_layers
from .networks import build_network, build_network_layers, input_size

#: Where the two inputs sit on the line (see :func:`default_points`).
PLACEMENTS = ("paper", "symmetric")


def default_points(dx: float = 1.0, dy: float = 0.5 ** 0.5, length: int = 1,
                   placement: str = "paper") -> TwoPoint:
    """The paper's pair: inputs −1 and −1 + dx, targets 0.6 and 0.6 + dy.

    With ``placement`` ``symmetric`` the inputs are −dx/2 and +dx/2 instead (same dx2): the
    control for the final-distance grid, where the paper's placement moves input B across 0,
    the kink of every leaky-ReLU unit without a bias, as ‖Δx‖ grows from 0.5 to 1.5.
    With ``length`` > 1 (the 1-D CNN's signals) each input is its value spread evenly over
    ``length`` samples and scaled by 1/√length, so that dx2 = dx² still holds.
    """
    if placement not in PLACEMENTS:
        raise InputError(f"theory: unknown input placement {placement!r}; choose from "
                         + ", ".join(PLACEMENTS))
    start = -1.0 if placement == "paper" else -float(dx) / 2
    spread = torch.full((length,), 1.0 / length ** 0.5)
    return TwoPoint(start * spread, (start + float(dx)) * spread, torch.tensor([0.6]),
                    torch.tensor([0.6 + float(dy)]))


def half_mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """½ squared error summed over output units, averaged over the batch."""
    return 0.5 * ((outputs - targets) ** 2).sum(dim=1).mean()


def _record(model: nn.Module, layer: nn.Module | dict[int, nn.Module], points: TwoPoint,
            epoch: int) -> list[dict]:
    """The measurement rows of one epoch: one row for a single ``layer``; one row per layer,
    with its number in ``layer``, for a dict number → module."""
    model.eval()
    if isinstance(layer, dict):
        measured = measure_layers(model, list(layer.values()), points)
        rows = [{"epoch": epoch, "layer": number, **measured, "h": h}
                for number, h in zip(layer, measured["h"], strict=True)]
    else:
        rows = [{"epoch": epoch, **measure(model, layer, points)}]
    model.train()
    return rows


def sgd_step(parameters: list[nn.Parameter], lr: float) -> None:
    """θ ← θ − η ∇θ for every parameter with a gradient, then clear the gradients.

    This is the update ``torch.optim.SGD(params, lr)`` makes with its defaults (no momentum,
    no weight decay; the same ``add_`` per tensor, so the same numbers), without what the class
    costs here: its first step imports ``torch._dynamo`` (a second of each theory job) and
    every step pays its bookkeeping, on networks whose own step takes a millisecond."""
    with torch.no_grad():
        for p in parameters:
            if p.grad is not None:
                p.add_(p.grad, alpha=-lr)
                p.grad = None


def train_two_points(model: nn.Module, layer: nn.Module | dict[int, nn.Module],
                     points: TwoPoint, lr: float, epochs: int,
                     record_every: int = 1) -> pd.DataFrame:
    """Full-batch SGD on the two points; one row (epoch, h, y, w, loss, mean_gap) per
    ``record_every`` epochs from 0 to ``epochs`` (the last epoch always included). With
    ``layer`` a dict number → module, h is read at every one of them: one row per layer and
    epoch, with a ``layer`` column."""
    inputs = torch.stack([points.x_a, points.x_b])
    targets = torch.stack([points.target_a, points.target_b])
    parameters = list(model.parameters())
    rows = _record(model, layer, points, 0)
    for epoch in range(1, epochs + 1):
        half_mse(model(inputs), targets).backward()
        sgd_step(parameters, lr)
        if epoch % record_every == 0 or epoch == epochs:
            rows += _record(model, layer, points, epoch)
    return pd.DataFrame(rows)


def tangent_kernel_scale(model: nn.Module, points: TwoPoint) -> float:
    """Mean over the two inputs of ‖∂f(x)/∂θ‖² (the diagonal of the neural tangent kernel,
    summed over outputs): how far one SGD step moves the outputs per unit learning rate."""
    total = 0.0
    for x in (points.x_a, points.x_b):
        model.zero_grad()
        model(x[None]).sum().backward()
        total += sum(float((p.grad ** 2).sum()) for p in model.parameters())
    model.zero_grad()
    return total / 2


def two_point_run(spec: dict) -> pd.DataFrame:
    """One two-point run from a run spec (see ``convergent.plan.theory``): builds the variant
    from its seed, scales the learning rate when asked, trains, and returns the trajectory.
    With ``layers`` in the spec (hidden-layer numbers, 1-based) h is recorded at each of them
    (long format, a ``layer`` column); else at the variant's tracked layer."""
    variant = spec["variant"]
    length = input_size(variant)
    points = default_points(spec["dx"], spec["dy"], length=length,
                            placement=spec.get("placement", "paper"))
    model, hidden = build_network_layers(variant, spec["seed"], d_in=length)
    numbers = spec.get("layers") or [variant["layer"]]
    bad = [k for k in numbers if not 1 <= k <= len(hidden)]
    if bad:
        raise InputError(f"theory: layer {bad[0]} does not exist in a network with "
                         f"{len(hidden)} hidden layers")
    layer = ({k: hidden[k - 1] for k in numbers} if spec.get("layers")
             else hidden[variant["layer"] - 1])
    lr = spec["lr"]
    if spec.get("lr_scale") == "ntk":
        # keep the outputs' step per epoch that of the reference gain, so that only the initial
        # scale differs along the sweep (a fixed rate diverges for deep nets above gain ~1.5)
        reference, _ = build_network({**variant, "gain": spec["reference_gain"]}, spec["seed"],
                                     d_in=length)
        lr *= tangent_kernel_scale(reference, points) / tangent_kernel_scale(model, points)
    trajectory = train_two_points(model, layer, points, lr, spec["epochs"],
                                  spec["record_every"])
    trajectory.attrs.update(dx2=points.dx2, dy2=points.dy2, lr=lr)
    return trajectory


def fit_trajectory(trajectory: pd.DataFrame, dx2: float, dy2: float) -> tuple[dict, pd.DataFrame]:
    """The rates and R² of the theory fitted to a recorded trajectory, and the theory's
    h, y, w and loss at the recorded epochs (columns ``*_theory``).

    The loss: the paper's formula, from ȳ(0) − ȳ* at the first record, unless the trajectory's
    ``attrs`` hold ``loss_terms`` (the digit pair: ‖ȳ(0) − ȳ_D‖², ‖ȳ_D − ȳ*‖² and their dot
    product, ȳ_D the mean target the network sees), when the two-target formula is fitted with
    its second rate ``eta_target`` (NaN otherwise)."""
    from .fit import fit_loss_rate, fit_loss_rates, fit_rates
    from .ode import loss

    if not np.isfinite(trajectory[["h", "y", "w", "loss"]].to_numpy()).all():
        raise InputError("theory: the measured trajectory is not finite (training diverged); "
                         "lower the learning rate or the gain")
    t = trajectory.epoch.to_numpy(float)
    y, w = trajectory.y.to_numpy(), trajectory.w.to_numpy()
    rates = fit_rates(t, trajectory.h, y, w, dx2, dy2)
    measured_loss = trajectory["loss"].to_numpy()
    theory = pd.DataFrame(rates.predicted, columns=["h_theory", "y_theory", "w_theory"])
    terms = trajectory.attrs.get("loss_terms")
    if terms is None:
        mean_gap0 = float(trajectory.mean_gap.iloc[0])
        eta_ybar, r2_loss = fit_loss_rate(t, measured_loss, y, w, dy2, mean_gap0)
        eta_target = np.nan
        theory["loss_theory"] = loss(t, y, w, dy2, mean_gap0, eta_ybar)
    else:
        eta_ybar, eta_target, r2_loss = fit_loss_rates(t, measured_loss, y, w, dy2, **terms)
        theory["loss_theory"] = loss(t, y, w, dy2, terms["mean_gap0"], eta_ybar,
                                     target_gap=terms["target_gap"], cross=terms["cross"],
                                     eta_target=eta_target)
    fit = {"eta_h": rates.eta_h, "eta_y": rates.eta_y, "eta_ybar": eta_ybar,
           "eta_target": eta_target, **{f"r2_{q}": v for q, v in rates.r2.items()},
           "r2_loss": r2_loss}
    return fit, theory
