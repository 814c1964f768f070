"""The ODE of the two-point theory, its conserved quantity, the final distance and the loss.

State (h, y, w): h = ‖h(x_B) − h(x_A)‖², y = ‖ŷ_B − ŷ_A‖², w = Δŷ·(Δŷ − Δy*); constants
dx2 = ‖x_B − x_A‖², dy2 = ‖y*_B − y*_A‖²; time in epochs; η_h, η_y effective learning rates.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp


def rhs(t, state, eta_h: float, eta_y: float, dx2: float, dy2: float) -> list[float]:
    """dh/dt = −η_h dx2 w;  dy/dt = −w (η_y h + η_h dx2 y / h);
    dw/dt = −½ η_y h (3w − y + dy2) − ½ η_h dx2 w (y + w) / h."""
    h, y, w = state
    return [-eta_h * dx2 * w,
            -w * (eta_y * h + eta_h * dx2 * y / h),
            -0.5 * eta_y * h * (3 * w - y + dy2) - 0.5 * eta_h * dx2 * w * (y + w) / h]


def solve(initial, eta_h: float, eta_y: float, dx2: float, dy2: float, t) -> np.ndarray:
    """(h, y, w) at the times ``t`` (len T) from ``initial`` = (h0, y0, w0) at t[0]: an array
    of shape (T, 3). The system is stiff in the lazy regime, hence Radau."""
    t = np.asarray(t, dtype=float)
    done = solve_ivp(rhs, (t[0], t[-1]), list(initial), method="Radau", t_eval=t,
                     args=(eta_h, eta_y, dx2, dy2), rtol=1e-8, atol=1e-10)
    if not done.success:
        raise RuntimeError(f"the two-point ODE did not integrate: {done.message}")
    return done.y.T


def conserved(h, y, eta_ratio: float, dx2: float):
    """C = h − (η_h/η_y) dx2 y / h, constant along every trajectory of the ODE."""
    return np.asarray(h) - eta_ratio * dx2 * np.asarray(y) / np.asarray(h)


def final_distance(c: float, eta_ratio: float, dx2: float, dy2: float) -> float:
    """h(∞) = C/2 + sqrt(C²/4 + (η_h/η_y) dx2 dy2): where w = 0 and y = dy2."""
    return c / 2 + np.sqrt(c ** 2 / 4 + eta_ratio * dx2 * dy2)


def loss(t, y, w, dy2: float, mean_gap0: float, eta_ybar: float):
    """½ MSE over the two points: L = ¼ [2 e^(−2 η_ȳ t) ‖ȳ(0) − ȳ*‖² + w + ½ (dy2 − y)],
    with ``mean_gap0`` = ‖ȳ(0) − ȳ*‖² (mean output vs mean target at t = 0)."""
    t = np.asarray(t, dtype=float)
    return 0.25 * (2 * np.exp(-2 * eta_ybar * t) * mean_gap0 + np.asarray(w)
                   + 0.5 * (dy2 - np.asarray(y)))
