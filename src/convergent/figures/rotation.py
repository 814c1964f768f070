"""The rotation figure, privileged axes: permutation alignment before and after random rotations
(the numbers from :mod:`convergent.analysis.rotation`)."""

from __future__ import annotations

import os

import pandas as pd

from ..analysis.rotation import rotation_table
from ..io import write_table
from .base import panels, save

#: How a significant rotation drop is marked: a red ring around the layer's point.
SIGNIFICANT = dict(s=70, facecolors="none", edgecolors="#d62728", linewidths=1.2)


def _count(part: pd.DataFrame) -> str:
    tested = part.holm.notna()
    if not tested.any():
        return "no test (one draw)"
    return f"{int(part.holm[tested].sum())}/{int(tested.sum())} layers drop (Holm 0.05)"


def rotation(tables: dict[str, pd.DataFrame], out, corr: str = "pearson",
             table_out: str | os.PathLike | None = None) -> list:
    """Native vs rotated permutation score, one point per layer (means over seed pairs),
    coloured by depth, with the spread of the Haar draws as a horizontal bar; red rings mark
    layers whose drop under rotation is significant (Holm 0.05). Grey crosses: the same layers
    untrained, the control. The diagonal marks no change. With ``table_out``, also writes the
    rotation table (:func:`convergent.analysis.rotation.rotation_table`) there, and nowhere
    otherwise."""
    table = rotation_table(tables["alignment"], corr)
    if table_out is not None:
        write_table(table, table_out)
    models = sorted(table.model.unique())
    fig, axes = panels(len(models), width=4.0, height=4.0)
    for ax, model in zip(axes, models, strict=True):
        own = table[table.model == model]
        trained, untrained = own[own.end == "trained"], own[own.end == "untrained"]
        ax.plot([0, 1], [0, 1], color="#999999", linewidth=0.8)
        if not untrained.empty:
            ax.scatter(untrained.rotated, untrained.native, marker="x", color="#999999", s=16,
                       label=f"untrained: {_count(untrained)}")
        ax.errorbar(trained.rotated, trained.native, xerr=trained.rotated_sd.fillna(0),
                    fmt="none", ecolor="#bbbbbb", elinewidth=0.8, zorder=1)
        points = ax.scatter(trained.rotated, trained.native, c=trained.depth, cmap="viridis",
                            s=18, vmin=0, vmax=1, zorder=2)
        marked = trained[trained.holm.fillna(False).astype(bool)]
        ax.scatter(marked.rotated, marked.native, zorder=3,
                   label=f"trained: {_count(trained)}", **SIGNIFICANT)
        ax.set(title=f"{model}\nmean change {trained.change_pct.mean():+.1f}%",
               xlabel="rotated (mean ± sd over draws)", ylabel="native",
               xlim=(-0.05, 1.05), ylim=(-0.05, 1.05))
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(alpha=0.3)
    fig.subplots_adjust(wspace=0.35)
    fig.colorbar(points, ax=axes, label="normalised depth")
    save(fig, out, tight=False)
    return axes
