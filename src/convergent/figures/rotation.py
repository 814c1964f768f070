"""The rotation figure, privileged axes: permutation alignment before and after a random
rotation (the numbers from :mod:`convergent.analysis.rotation`)."""

from __future__ import annotations

import os

import pandas as pd

from ..analysis.rotation import rotation_pairs, rotation_table
from ..io import write_table
from .base import panels, save


def rotation(tables: dict[str, pd.DataFrame], out, corr: str = "pearson",
             table_out: str | os.PathLike | None = None) -> list:
    """Native vs rotated permutation score, one point per layer and seed pair, coloured by
    depth; the diagonal marks no change. With ``table_out``, also writes the rotation table
    (:func:`convergent.analysis.rotation.rotation_table`) there, and nowhere otherwise."""
    pairs = rotation_pairs(tables["alignment"], corr)
    if table_out is not None:
        write_table(rotation_table(tables["alignment"], corr), table_out)
    models = sorted(pairs.model_x.unique())
    fig, axes = panels(len(models), width=4.0, height=4.0)
    for ax, model in zip(axes, models, strict=True):
        part = pairs[pairs.model_x == model]
        ax.plot([0, 1], [0, 1], color="#999999", linewidth=0.8)
        points = ax.scatter(part.rotated, part.native, c=part.depth_x, cmap="viridis", s=14,
                            vmin=0, vmax=1)
        ax.set(title=f"{model}\nmean change {part.change_pct.mean():+.1f}%",
               xlabel="rotated", ylabel="native", xlim=(-0.05, 1.05), ylim=(-0.05, 1.05))
        ax.grid(alpha=0.3)
    fig.subplots_adjust(wspace=0.35)
    fig.colorbar(points, ax=axes, label="normalised depth")
    save(fig, out, tight=False)
    return axes
