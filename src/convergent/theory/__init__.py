"""The two-point effective theory of representation learning (``shared/spec/theory.md``;
van Rossem & Saxe, ICML 2024): the 3-D ODE for the squared representational distance h, the
squared output distance y and the output alignment w, its conserved quantity and final distance,
the training loss, measurement of (h, y, w) on a torch network (:mod:`.measure`), and the fit of
the rates."""

from .fit import RateFit, fit_loss_rate, fit_rates, r_squared
from .ode import conserved, final_distance, loss, rhs, solve

# The measurement on torch networks is the submodule :mod:`.measure` (``TwoPoint``, ``measure``),
# not re-exported: collecting and drawing the theory's tables needs numpy only, and a job should
# not pay torch's import for nothing.
__all__ = ["RateFit", "conserved", "final_distance", "fit_loss_rate", "fit_rates", "loss",
           "r_squared", "rhs", "solve"]
