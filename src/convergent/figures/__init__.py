"""The study's figures, drawn from the result tables alone (never from recomputation).

Each figure is one function ``(tables, out, corr)``; :data:`FIGURES` names them, and
:mod:`convergent.figure_plan` says which analyses each needs, so the workflow draws only what its
config produced and says why the rest is left out.
"""

from __future__ import annotations

from ..figure_plan import FIGURE_NEEDS
from .base import load_tables
from .cross import cross_grids, hierarchical_correspondence
from .depth import beyond_cnns, depth_profile, distribution_shift, shift_profile
from .ood import depth_correlation, ood_accuracy, ood_points
from .rotation import rotation, rotation_table
from .training import first_epoch_share, training, training_curve

_DRAWERS = {"depth_profile": depth_profile, "cross_grids": cross_grids, "training": training,
            "distribution_shift": distribution_shift, "ood_accuracy": ood_accuracy,
            "rotation": rotation, "beyond_cnns": beyond_cnns}
#: Every figure of the plan → its function (a ``*_spearman`` figure is its Pearson one drawn
#: with the correlation the plan names).
FIGURES = {name: _DRAWERS[name.removesuffix("_spearman")] for name in FIGURE_NEEDS}


def draw(name: str, tables_dir, out) -> None:
    """Draw figure ``name`` from the tables in ``tables_dir`` to the paths ``out``."""
    FIGURES[name](load_tables(tables_dir), out, corr=FIGURE_NEEDS[name].corr)


__all__ = ["FIGURES", "depth_correlation", "draw", "first_epoch_share",
           "hierarchical_correspondence", "load_tables", "ood_points", "rotation_table",
           "shift_profile", "training_curve"]
