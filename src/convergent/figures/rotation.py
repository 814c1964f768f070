"""Privileged axes: permutation alignment before and after a random rotation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..io import write_table
from .base import panels, save, select


def rotation_pairs(alignment: pd.DataFrame, corr: str = "pearson") -> pd.DataFrame:
    """One row per model, seed pair and layer: native and rotated permutation scores and the
    change in % ((native − rotated) / rotated × 100)."""
    rows = select(alignment, "rotation", corr)
    keys = ["model_x", "seed_x", "seed_y", "index_x", "depth_x"]
    wide = rows.pivot_table(index=keys, columns="metric", values="score").reset_index()
    wide = wide.rename(columns={"permutation": "native", "permutation_rotated": "rotated"})
    return wide.assign(change_pct=(wide.native - wide.rotated) / wide.rotated * 100)


def rotation_table(alignment: pd.DataFrame, corr: str = "pearson") -> pd.DataFrame:
    """Per architecture: min and max over layers (of the seed-pair means) of the native and
    rotated scores and of the change in %."""
    per_layer = rotation_pairs(alignment, corr).groupby(["model_x", "index_x"])[
        ["native", "rotated", "change_pct"]].mean()
    table = per_layer.groupby("model_x").agg(["min", "max"])
    table.columns = [f"{a}_{b}" for a, b in table.columns]
    return table.reset_index().rename(columns={"model_x": "model"})


def rotation(tables: dict[str, pd.DataFrame], out, corr: str = "pearson") -> list:
    """Native vs rotated permutation score, one point per layer and seed pair, coloured by
    depth; the diagonal marks no change. Also writes the rotation table beside the first
    output (``<name>.csv``)."""
    pairs = rotation_pairs(tables["alignment"], corr)
    write_table(rotation_table(tables["alignment"], corr),
                Path(out[0]).with_suffix(".csv"))
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
