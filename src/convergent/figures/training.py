"""Alignment over training (the numbers from :mod:`convergent.analysis.training`): against test
accuracy, against training time on a log axis, and its change per checkpoint. Every model is
drawn on its own axis, with its own colour scale."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd

from ..analysis.training import axis_of, epoch_changes, first_epoch_share, training_curve
from ..errors import InputError
from .base import panels, save

GROUP_MARKERS = {"early": "o", "middle": "s", "late": "^"}
GROUP_COLOURS = {"early": "#1b9e77", "middle": "#7570b3", "late": "#d95f02"}


def _share_label(shares: pd.Series, model: str, group: str) -> str:
    share = shares.get((model, group), np.nan)
    return f"{group} (epoch 1: {share:.0%} of final)" if np.isfinite(share) else group


def training(tables: dict[str, pd.DataFrame], out, corr: str = "pearson") -> list:
    """Procrustes score across seeds vs test accuracy, one point per checkpoint coloured by its
    place on the model's own axis (a colour bar per model), one marker per layer group (thirds
    of the depth); the legend gives the share of the final alignment reached after epoch 1."""
    curve = training_curve(tables, corr).dropna(subset=["accuracy"])
    if curve.empty:
        raise InputError("no checkpoint has a test accuracy (the training log or the "
                         "extraction gives none)")
    try:
        shares = first_epoch_share(curve, tables).set_index(["model_x", "group"]).share
    except InputError:
        shares = pd.Series(dtype=float)
    models = sorted(curve.model_x.unique())
    fig, axes = panels(len(models), width=4.8, sharey=True)
    for ax, model in zip(axes, models, strict=True):
        own = curve[curve.model_x == model]
        scale = mpl.colors.Normalize(own.epoch.min(), max(own.epoch.max(), own.epoch.min() + 1))
        for group, marker in GROUP_MARKERS.items():
            part = own[own.group == group]
            if part.empty:
                continue
            ax.plot(part.accuracy, part.score, color="#999999", linewidth=0.8)
            ax.scatter(part.accuracy, part.score, c=part.epoch, cmap="viridis", norm=scale,
                       marker=marker, label=_share_label(shares, model, group))
        ax.set(title=model, xlabel="test accuracy", ylim=(-0.05, 1.05))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        fig.colorbar(mpl.cm.ScalarMappable(scale, "viridis"), ax=ax,
                     label=axis_of(tables, model))
    axes[0].set_ylabel(f"procrustes across seeds ({corr})")
    save(fig, out)
    return axes


def training_time(tables: dict[str, pd.DataFrame], out, corr: str = "pearson") -> list:
    """Procrustes score across seeds vs training time on a log axis, a panel per model and a
    line per layer group: epochs (fractions of the first included) for vision models, training
    tokens for language models. The first checkpoint (time 0) sits left of the log range."""
    curve = training_curve(tables, corr)
    models = sorted(curve.model_x.unique())
    fig, axes = panels(len(models), width=4.2, sharey=True)
    for ax, model in zip(axes, models, strict=True):
        own = curve[curve.model_x == model]
        positive = own.time[own.time > 0]
        floor = positive.min() if len(positive) else 1.0
        for group, part in own.groupby("group", observed=True):
            ax.plot(part.time, part.score, "o-", markersize=3, color=GROUP_COLOURS[group],
                    label=group)
        # symlog: linear below the first non-zero time, so the untrained point stays visible
        ax.set_xscale("symlog", linthresh=floor)
        ax.set(title=model, xlabel=f"training {own.time_unit.iloc[0]} (log)",
               ylim=(-0.05, 1.05))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"procrustes across seeds ({corr})")
    axes[0].legend(fontsize=7, loc="lower right", title="layers")
    save(fig, out)
    return axes


def training_change(tables: dict[str, pd.DataFrame], out, corr: str = "pearson") -> list:
    """The change of the Procrustes score across seeds (mean over layers) from each checkpoint
    to the next, as bars coloured by the test accuracy at that checkpoint (kNN accuracy for
    MoCo; grey where none is known), a panel per model."""
    changes = epoch_changes(training_curve(tables, corr))
    if changes.empty:
        raise InputError("every model has a single checkpoint: nothing changes over training")
    models = sorted(changes.model_x.unique())
    fig, axes = panels(len(models), width=4.6)
    accuracy = mpl.colors.Normalize(0, 1)
    for ax, model in zip(axes, models, strict=True):
        own = changes[changes.model_x == model]
        colours = [mpl.cm.plasma(accuracy(a)) if np.isfinite(a) else "#bbbbbb"
                   for a in own.accuracy]
        ax.bar(np.arange(len(own)), own.change, color=colours)
        ax.axhline(0, color="#666666", linewidth=0.8)
        ax.set_xticks(np.arange(len(own)), [f"{e:g}" for e in own.epoch], rotation=90,
                      fontsize=6)
        ax.set(title=model, xlabel=f"{axis_of(tables, model)} (change since the previous)")
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel(f"Δ procrustes across seeds ({corr})")
    fig.colorbar(mpl.cm.ScalarMappable(accuracy, "plasma"), ax=axes, label="test accuracy")
    save(fig, out, tight=False)
    return axes
