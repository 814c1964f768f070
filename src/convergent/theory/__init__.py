"""The two-point effective theory of representation learning (``shared/spec/theory.md``;
van Rossem & Saxe, ICML 2024): the 3-D ODE for the squared representational distance h, the
squared output distance y and the output alignment w, its conserved quantity and final distance,
the training loss, measurement of (h, y, w) on a torch network, and the fit of the rates."""

from .fit import RateFit, fit_loss_rate, fit_rates, r_squared
from .measure import TwoPoint, measure
from .ode import conserved, final_distance, loss, rhs, solve

__all__ = ["RateFit", "TwoPoint", "conserved", "final_distance", "fit_loss_rate", "fit_rates",
           "loss", "measure", "r_squared", "rhs", "solve"]
