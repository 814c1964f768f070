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


def solve(initial, eta_h: float, eta_y: float, dx2: float, dy2: float, t,
          method: str = "LSODA") -> np.ndarray:
    """(h, y, w) at the times ``t`` (len T) from ``initial`` = (h0, y0, w0) at t[0]: an array
    of shape (T, 3). The system is stiff in the lazy regime and where h is small (the y/h
    terms), so the solver must handle stiffness: LSODA switches to a stiff (BDF) method where
    needed and agrees with Radau to ~1e-8 relative at these tolerances while being 10-20×
    faster, which matters because a fit solves the ODE hundreds of times (``method`` picks
    another of :func:`scipy.integrate.solve_ivp`'s, e.g. ``Radau``)."""
    t = np.asarray(t, dtype=float)
    done = solve_ivp(rhs, (t[0], t[-1]), list(initial), method=method, t_eval=t,
                     args=(eta_h, eta_y, dx2, dy2), rtol=1e-8, atol=1e-10)
    if not done.success or done.y.shape[1] != len(t):
        raise RuntimeError(f"the two-point ODE did not integrate: {done.message}")
    return done.y.T


def conserved(h, y, eta_ratio: float, dx2: float):
    """C = h − (η_h/η_y) dx2 y / h, constant along every trajectory of the ODE."""
    return np.asarray(h) - eta_ratio * dx2 * np.asarray(y) / np.asarray(h)


def final_distance(c: float, eta_ratio: float, dx2: float, dy2: float) -> float:
    """h(∞) = C/2 + sqrt(C²/4 + (η_h/η_y) dx2 dy2): where w = 0 and y = dy2."""
    return c / 2 + np.sqrt(c ** 2 / 4 + eta_ratio * dx2 * dy2)


def loss(t, y, w, dy2: float, mean_gap0: float, eta_ybar: float, *, target_gap: float = 0.0,
         cross: float = 0.0, eta_target: float = 0.0):
    """½ MSE over the two points: L = ¼ [2 e^(−2 η_ȳ t) ‖ȳ(0) − ȳ*‖² + w + ½ (dy2 − y)],
    with ``mean_gap0`` = ‖ȳ(0) − ȳ*‖² (mean output vs mean target at t = 0).

    The formula is the exact identity L = ½ ‖ȳ − ȳ*‖² + ¼ [w + ½ (dy2 − y)] with the mean
    output relaxing exponentially to the mean target. When the network sees another target for
    the mean than the pair's own ȳ* (mini-batch training on a whole data set, where the pair's
    mean first relaxes to the data set's mean target ȳ_D, the best input-blind answer, and only
    later, as the classes separate, to ȳ*), the mean is
    ȳ(t) − ȳ* = e^(−η_ȳ t) (ȳ(0) − ȳ_D) + e^(−η_T t) (ȳ_D − ȳ*): then ``mean_gap0`` is
    ‖ȳ(0) − ȳ_D‖², ``target_gap`` ‖ȳ_D − ȳ*‖², ``cross`` (ȳ(0) − ȳ_D)·(ȳ_D − ȳ*) and
    ``eta_target`` the slow rate η_T. With the defaults (ȳ_D = ȳ*) it is the paper's formula."""
    t = np.asarray(t, dtype=float)
    fast, slow = np.exp(-eta_ybar * t), np.exp(-eta_target * t)
    gap = fast ** 2 * mean_gap0 + 2 * fast * slow * cross + slow ** 2 * target_gap
    return 0.25 * (2 * gap + np.asarray(w) + 0.5 * (dy2 - np.asarray(y)))
