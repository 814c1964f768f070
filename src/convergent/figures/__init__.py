"""The study's figures, drawn from the result tables alone (never from recomputation); the
numbers they show come from :mod:`convergent.analysis`, this package only draws.

Each figure is one function ``(tables, out, corr)``; :data:`FIGURES` names them, and
:mod:`convergent.plan.figures` says which analyses each needs, so the workflow draws only what its
config produced and says why the rest is left out.
"""

from __future__ import annotations

from pathlib import Path

from ..analysis.tables import load_tables
from ..errors import InputError
from ..plan.figures import FIGURE_NEEDS
from .cross import cross_grids
from .depth import beyond_cnns, depth_profile, distribution_shift
from .ood import ood_accuracy
from .rotation import rotation
from .training import training

_DRAWERS = {"depth_profile": depth_profile, "cross_grids": cross_grids, "training": training,
            "distribution_shift": distribution_shift, "ood_accuracy": ood_accuracy,
            "rotation": rotation, "beyond_cnns": beyond_cnns}
#: Every figure of the plan → its function (a ``*_spearman`` figure is its Pearson one drawn
#: with the correlation the plan names).
FIGURES = {name: _DRAWERS[name.removesuffix("_spearman")] for name in FIGURE_NEEDS}
#: The figures that can also write the numbers they show as a table (``table_out``).
WITH_TABLE = frozenset(name for name, drawer in FIGURES.items() if drawer is rotation)
#: An output path with this suffix receives the figure's table, not the figure.
TABLE_SUFFIX = ".csv"


def draw(name: str, tables, out) -> None:
    """Draw figure ``name`` from the table files ``tables`` (each known by its stem, e.g.
    ``alignment.parquet``) to the paths ``out``; a ``.csv`` path among them receives the
    figure's table instead (figures of :data:`WITH_TABLE` only)."""
    figures = [path for path in out if Path(path).suffix != TABLE_SUFFIX]
    table_out = [path for path in out if Path(path).suffix == TABLE_SUFFIX]
    if not figures:
        raise InputError(f"the {name} figure: no output path for the figure itself "
                         "(.png, .svg, .pdf)")
    if len(table_out) > 1:
        raise InputError(f"the {name} figure: more than one {TABLE_SUFFIX} path given")
    options = {}
    if table_out:
        if name not in WITH_TABLE:
            raise InputError(f"{table_out[0]}: the {name} figure writes no table (only "
                             f"{', '.join(sorted(WITH_TABLE))} do)")
        options["table_out"] = table_out[0]
    FIGURES[name](load_tables(tables), figures, corr=FIGURE_NEEDS[name].corr, **options)


__all__ = ["FIGURES", "WITH_TABLE", "draw"]
