"""The study's figures, drawn from the result tables alone (never from recomputation); the
numbers they show come from :mod:`convergent.analysis`, this package only draws.

Each figure is one function ``(tables, out, corr)``; :data:`FIGURES` names them, and
:mod:`convergent.plan.figures` says which analyses each needs, so the workflow draws only what its
config produced and says why the rest is left out.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..analysis.tables import MissingTable, load_tables
from ..errors import InputError
from ..io import write_table
from ..plan.figures import FIGURE_NEEDS
from .base import not_available
from .brain import brain
from .cross import cross_grids, cross_training
from .depth import beyond_cnns, depth_profile, distribution_shift
from .ood import ood_accuracy
from .rotation import rotation
from .training import training, training_change, training_time

_DRAWERS = {"depth_profile": depth_profile, "cross_grids": cross_grids, "training": training,
            "distribution_shift": distribution_shift, "ood_accuracy": ood_accuracy,
            "rotation": rotation, "beyond_cnns": beyond_cnns, "training_time": training_time,
            "training_change": training_change, "cross_training": cross_training,
            "brain": brain}
#: Every figure of the plan → its function (a ``*_spearman`` figure is its Pearson one drawn
#: with the correlation the plan names).
FIGURES = {name: _DRAWERS[name.removesuffix("_spearman")] for name in FIGURE_NEEDS}
#: The figures that can also write the numbers they show as a table (``table_out``).
WITH_TABLE = frozenset(name for name, drawer in FIGURES.items() if drawer is rotation)
#: An output path with this suffix receives the figure's table, not the figure.
TABLE_SUFFIX = ".csv"


def draw(name: str, tables, out) -> str | None:
    """Draw figure ``name`` from the table files ``tables`` (each known by its stem, e.g.
    ``alignment.parquet``) to the paths ``out``; a ``.csv`` path among them receives the
    figure's table instead (figures of :data:`WITH_TABLE` only).

    When the tables cannot feed the figure (a valid config whose results lack what it shows),
    the figure says "n/a (why)" instead and the reason is returned; None when it was drawn.
    A table not given at all is an :class:`InputError`."""
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
    loaded = load_tables(tables)
    try:
        FIGURES[name](loaded, figures, corr=FIGURE_NEEDS[name].corr, **options)
    except MissingTable:
        raise
    except (InputError, KeyError, ValueError, IndexError, TypeError) as err:
        # the data cannot feed this figure (e.g. no OOD set with an accuracy): say why in it
        why = str(err) if isinstance(err, InputError) else (
            f"could not be computed: {type(err).__name__}: {err}")
        not_available(name, why, figures)
        if table_out:
            write_table(pd.DataFrame({"n/a": [why]}), table_out[0])
        return why
    return None


__all__ = ["FIGURES", "WITH_TABLE", "draw"]
