"""Fitting the effective learning rates to measured trajectories (theory.md, "Fitting").

η_h and η_y: least squares of the ODE's solution, started from the measured initial (h, y, w),
to the measured trajectories, each quantity scaled by its own range so that h, y and w weigh
alike; the best of a set of starting guesses first, then refinement in log space. The guesses:
the ratio η_h/η_y that makes the conserved quantity C = h − (η_h/η_y) dx2 y / h most nearly
constant along the measured trajectory (a closed-form least squares), along a log-spaced line of
time scales, plus a coarse log-spaced grid in case the measured C is too noisy to use. η_ȳ: least
squares of the loss formula to the measured loss. Fit quality: R² per quantity.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from .ode import loss, solve

QUANTITIES = ("h", "y", "w")
#: Coarse starting guesses of η_h and η_y (every pair is tried with the ratio line below).
GUESSES = tuple(np.logspace(-4, 0, 3))
#: Time scales η_y tried along the measured ratio η_h/η_y.
SCALES = tuple(np.logspace(-5, 1, 13))


def r_squared(measured, predicted) -> float:
    """1 − SS_res / SS_tot."""
    measured, predicted = np.asarray(measured, float), np.asarray(predicted, float)
    total = ((measured - measured.mean()) ** 2).sum()
    return float(1 - ((measured - predicted) ** 2).sum() / total) if total > 0 else float("nan")


@dataclass(frozen=True)
class RateFit:
    eta_h: float
    eta_y: float
    r2: dict[str, float]  # h, y, w
    predicted: np.ndarray  # (T, 3)


def _scales(measured: np.ndarray) -> np.ndarray:
    spread = measured.max(axis=0) - measured.min(axis=0)
    return np.where(spread > 0, spread, 1.0)


def _residuals(log_rates, t, measured, dx2, dy2, scales):
    try:
        predicted = solve(measured[0], *np.exp(log_rates), dx2, dy2, t)
    except RuntimeError:
        return np.full(measured.size, 1e3)
    return ((predicted - measured) / scales).ravel()


def conserved_ratio(h, y, dx2: float) -> float:
    """The η_h/η_y that makes C = h − r dx2 y / h most nearly constant along measured h and y:
    r = cov(h, u) / var(u) with u = dx2 y / h (NaN when u does not vary)."""
    h, y = np.asarray(h, float), np.asarray(y, float)
    u = dx2 * y / h
    spread = float(np.var(u))
    return float(np.cov(h, u, bias=True)[0, 1] / spread) if spread > 0 else float("nan")


def fit_rates(t, h, y, w, dx2: float, dy2: float, grid=GUESSES) -> RateFit:
    """η_h, η_y of the ODE that best reproduce the measured (h, y, w) at times ``t``."""
    t = np.asarray(t, float)
    measured = np.column_stack([h, y, w]).astype(float)
    scales = _scales(measured)

    def cost(log_rates):
        return float((_residuals(log_rates, t, measured, dx2, dy2, scales) ** 2).sum())

    guesses = [np.log([a, b]) for a, b in itertools.product(grid, grid)]
    ratio = conserved_ratio(h, y, dx2)
    if np.isfinite(ratio) and ratio > 0:
        guesses += [np.log([ratio * s, s]) for s in SCALES]
    start = min(guesses, key=cost)
    best = least_squares(_residuals, start, args=(t, measured, dx2, dy2, scales),
                         x_scale=1.0, xtol=1e-10, ftol=1e-10)
    eta_h, eta_y = np.exp(best.x)
    predicted = solve(measured[0], eta_h, eta_y, dx2, dy2, t)
    r2 = {q: r_squared(measured[:, k], predicted[:, k]) for k, q in enumerate(QUANTITIES)}
    return RateFit(float(eta_h), float(eta_y), r2, predicted)


def fit_loss_rate(t, measured_loss, y, w, dy2: float, mean_gap0: float) -> tuple[float, float]:
    """η_ȳ of the loss formula (with the measured y and w) and the R² of the loss."""
    t = np.asarray(t, float)

    def residuals(log_rate):
        return loss(t, y, w, dy2, mean_gap0, np.exp(log_rate[0])) - measured_loss

    # the loss rate can be anything from a fraction of the run to a fraction of an epoch: start
    # from the best of a log-spaced line rather than one guess, whose gradient may vanish
    start = min(np.log(SCALES), key=lambda r: float((residuals([r]) ** 2).sum()))
    best = least_squares(residuals, [start])
    rate = float(np.exp(best.x[0]))
    return rate, r_squared(measured_loss, loss(t, y, w, dy2, mean_gap0, rate))


def fit_loss_rates(t, measured_loss, y, w, dy2: float, mean_gap0: float, target_gap: float,
                   cross: float) -> tuple[float, float, float]:
    """η_ȳ and η_T of the two-target loss formula (:func:`~convergent.theory.ode.loss`; the
    mean relaxing first to the target it sees, then to the pair's own) with the measured y and
    w, and the R² of the loss."""
    t = np.asarray(t, float)

    def predicted(log_rates):
        fast, slow = np.exp(log_rates)
        return loss(t, y, w, dy2, mean_gap0, fast, target_gap=target_gap, cross=cross,
                    eta_target=slow)

    def residuals(log_rates):
        return predicted(log_rates) - measured_loss

    grid = np.log(SCALES)
    start = min((np.array([a, b]) for a, b in itertools.product(grid, grid) if b <= a),
                key=lambda r: float((residuals(r) ** 2).sum()))
    best = least_squares(residuals, start)
    fast, slow = np.exp(best.x)
    return float(fast), float(slow), r_squared(measured_loss, predicted(best.x))
