"""Alignment over training against the networks' task accuracy."""

from __future__ import annotations

import pandas as pd

from ..errors import InputError
from .base import layer_group, panels, save, select

GROUP_MARKERS = {"early": "o", "middle": "s", "late": "^"}


def training_curve(tables: dict[str, pd.DataFrame], corr: str = "pearson") -> pd.DataFrame:
    """Per model, epoch and layer group: the mean Procrustes score across seed pairs and the mean
    test accuracy of the seeds involved."""
    rows = select(tables["alignment"], "training", corr, metric="procrustes")
    rows = rows.assign(group=layer_group(rows.depth_x))
    score = rows.groupby(["model_x", "epoch", "group"], observed=True).score.mean()
    test = tables["training"][tables["training"].split == "test"]
    if test.empty:
        raise InputError("the training table has no test-split accuracy")
    accuracy = test.groupby(["model", "epoch"]).accuracy.mean().rename_axis(["model_x", "epoch"])
    return score.reset_index().join(accuracy, on=["model_x", "epoch"])


def first_epoch_share(curve: pd.DataFrame) -> pd.DataFrame:
    """Per model and layer group: the score after epoch 1 as a share of the final score."""
    def share(part):
        by_epoch = part.set_index("epoch").score
        return by_epoch.get(1, float("nan")) / by_epoch.loc[by_epoch.index.max()]
    return (curve.groupby(["model_x", "group"], observed=True)[["epoch", "score"]].apply(share)
            .rename("share").reset_index())


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
