"""The training figure: alignment over training against the networks' task accuracy (the
numbers from :mod:`convergent.analysis.training`)."""

from __future__ import annotations

import pandas as pd

from ..analysis.training import first_epoch_share, training_curve
from .base import panels, save

GROUP_MARKERS = {"early": "o", "middle": "s", "late": "^"}


def training(tables: dict[str, pd.DataFrame], out, corr: str = "pearson") -> list:
    """Procrustes score across seeds vs test accuracy, one point per epoch coloured by epoch,
    one marker per layer group (thirds of the depth); the legend gives the share of the final
    alignment reached after the first epoch."""
    curve = training_curve(tables, corr)
    shares = first_epoch_share(curve).set_index(["model_x", "group"]).share
    models = sorted(curve.model_x.unique())
    fig, axes = panels(len(models), sharey=True)
    for ax, model in zip(axes, models, strict=True):
        for group, marker in GROUP_MARKERS.items():
            part = curve[(curve.model_x == model) & (curve.group == group)]
            if part.empty:
                continue
            ax.plot(part.accuracy, part.score, color="#999999", linewidth=0.8)
            points = ax.scatter(part.accuracy, part.score, c=part.epoch, cmap="viridis",
                                marker=marker, vmin=0, vmax=curve.epoch.max(),
                                label=f"{group} (epoch 1: {shares[(model, group)]:.0%} of final)")
        ax.set(title=model, xlabel="test accuracy", ylim=(-0.05, 1.05))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel(f"procrustes across seeds ({corr})")
    fig.colorbar(points, ax=axes, label="epoch")
    save(fig, out, tight=False)
    return axes
