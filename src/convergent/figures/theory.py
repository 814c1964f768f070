"""Figures of the two-point effective theory, drawn from its tables (the ones
:func:`convergent.theory.results.collect` writes, read by
:func:`convergent.analysis.tables.load_tables`): measured trajectories against the fitted theory
per architecture, the loss curves, the initial-scale sweep (the paper's Fig. 3), the
final-distance check per architecture (Fig. 5), the fit per hidden layer, the digit pair
(Fig. 4). The numbers in the titles come from :mod:`convergent.theory.results`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ..analysis.tables import load_tables
from ..errors import InputError
from ..theory.results import (
    experiment_runs,
    final_distance_by_architecture,
    mean_r2,
)
from .base import panels, save

QUANTITIES = {"h": "h = ‖Δh‖²", "y": "y = ‖Δŷ‖²", "w": "w = Δŷ·(Δŷ − Δy*)"}


def _measured_vs_theory(ax, runs: pd.DataFrame, quantity: str) -> None:
    """Every seed: measured as dots, the fitted theory as a line of the same colour."""
    for k, (seed, run) in enumerate(runs.groupby("seed")):
        colour = plt.cm.viridis(k / max(1, runs.seed.nunique() - 1) * 0.85)
        step = max(1, len(run) // 40)
        ax.plot(run.epoch.iloc[::step], run[quantity].iloc[::step], "o", ms=2.5, color=colour,
                alpha=0.7, label=f"seed {seed} measured")
        ax.plot(run.epoch, run[f"{quantity}_theory"], "-", lw=1.2, color=colour,
                label=f"seed {seed} theory")


def _r2_title(runs: pd.DataFrame, quantity: str) -> str:
    return f"R² {mean_r2(runs, quantity):.3f}"


def theory_trajectories(tables, out) -> list:
    """One row per architecture, one column per quantity: measured h, y, w against the theory
    fitted to that run."""
    runs = experiment_runs(tables["trajectories"], "architectures")
    names = list(dict.fromkeys(runs.architecture))
    fig, grid = plt.subplots(len(names), 3, figsize=(11, 2.3 * len(names)), squeeze=False)
    for row, name in zip(grid, names, strict=True):
        own = runs[runs.architecture == name]
        for ax, (quantity, label) in zip(row, QUANTITIES.items(), strict=True):
            _measured_vs_theory(ax, own, quantity)
            ax.set_title(f"{name}: {label}  ({_r2_title(own, quantity)})", fontsize=8)
            ax.tick_params(labelsize=7)
    for ax in grid[-1]:
        ax.set_xlabel("epoch")
    save(fig, out)
    return [ax for row in grid for ax in row]


def theory_loss(tables, out) -> list:
    """The measured loss of every architecture against the loss formula with the fitted η_ȳ
    (evaluated on the measured y and w)."""
    runs = experiment_runs(tables["trajectories"], "architectures")
    names = list(dict.fromkeys(runs.architecture))
    cols = min(4, len(names))
    fig, axes = plt.subplots(-(-len(names) // cols), cols, figsize=(3.4 * cols,
                             2.6 * -(-len(names) // cols)), squeeze=False)
    flat = list(axes.ravel())
    for ax, name in zip(flat, names, strict=False):
        own = runs[runs.architecture == name]
        _measured_vs_theory(ax, own, "loss")
        ax.set_yscale("log")
        ax.set_title(f"{name}  ({_r2_title(own, 'loss')})", fontsize=8)
        ax.set_xlabel("epoch", fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in flat[len(names):]:
        ax.axis("off")
    save(fig, out)
    return flat[:len(names)]


def theory_sweep(tables, out) -> list:
    """The paper's Fig. 3 for the first seed: h, y, w and the loss at every initial gain,
    measured (dots) against the theory fitted to that run (lines; the loss with its own
    fitted η_ȳ), so that the plateaus at small gains and the breakdown at large ones show;
    then the relative movement |h(T) − h(0)| / h(0) against the gain (rich → lazy)."""
    sweep = tables["sweep"]
    if sweep.empty:
        raise InputError("the theory tables hold no sweep runs")
    runs = experiment_runs(tables["trajectories"], "sweep")
    runs = runs[runs.seed == runs.seed.min()]
    fig, axes = panels(5, width=3.3, height=3.0)
    gains = sorted(runs.gain.unique())
    for ax, quantity in zip(axes, [*QUANTITIES, "loss"], strict=False):
        for k, gain in enumerate(gains):
            run = runs[runs.gain == gain]
            colour = plt.cm.plasma(k / max(1, len(gains)) * 0.9)
            step = max(1, len(run) // 40)
            ax.plot(run.epoch.iloc[::step], run[quantity].iloc[::step], "o", ms=2.2,
                    color=colour, alpha=0.7)
            ax.plot(run.epoch, run[f"{quantity}_theory"], "-", lw=1.1, color=colour,
                    label=f"gain {gain:g} (R² {mean_r2(run, quantity):.2f})")
        if quantity in ("h", "loss"):
            # the plateaus and the orders of magnitude between gains show on a log scale
            ax.set_yscale("log")
        ax.set_title(QUANTITIES.get(quantity, "loss (½ MSE)"), fontsize=8)
        ax.set_xlabel("epoch", fontsize=7)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=6)
    movement = axes[4]
    by_gain = sweep.groupby("gain").relative_movement
    movement.errorbar(by_gain.mean().index, by_gain.mean(), yerr=by_gain.std().fillna(0),
                      fmt="o-")
    movement.set(yscale="log", xlabel="initial gain", ylabel="|h(T) − h(0)| / h(0)")
    movement.set_title("representation movement: rich → lazy", fontsize=8)
    save(fig, out)
    return list(axes)


def theory_final_distance(tables, out) -> list:
    """The paper's Fig. 5, one panel per architecture: measured h at convergence against the
    formula's h(∞) with the architecture's averaged rates, one dot per grid run."""
    grid = tables["final_distance"]
    summary = final_distance_by_architecture(grid)
    if summary.empty or (summary.runs < 2).all():
        raise InputError("the final-distance table needs at least two grid runs of an "
                         "architecture")
    cols = min(4, len(summary))
    rows = -(-len(summary) // cols)
    fig, grid_axes = plt.subplots(rows, cols, figsize=(3.5 * cols, 3.2 * rows), squeeze=False)
    flat = list(grid_axes.ravel())
    for ax in flat[len(summary):]:
        ax.axis("off")
    axes = flat[:len(summary)]
    for ax, row in zip(axes, summary.itertuples(), strict=True):
        own = grid[grid.architecture == row.architecture]
        points = ax.scatter(own.predicted, own.measured, c=own.dy, cmap="viridis",
                            s=10 + 30 * own.dx, vmin=grid.dy.min(), vmax=grid.dy.max())
        top = float(max(own.predicted.max(), own.measured.max())) * 1.05
        ax.plot([0, top], [0, top], "k--", lw=0.8)
        ax.set_title(f"{row.architecture}: R² {row.r2:.2f}, median meas./pred. "
                     f"{row.median_ratio:.2f}\n({row.trials} trials for the rates)", fontsize=8)
        ax.set_xlabel("predicted h(∞)", fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in grid_axes[:, 0]:
        ax.set_ylabel("measured h at the last epoch", fontsize=7)
    fig.colorbar(points, ax=axes[-1], label="‖Δy*‖ (size: ‖Δx‖)")
    save(fig, out)
    return axes


def theory_depth(tables, out) -> list:
    """The theory fitted at every hidden layer: R² of h, y and w (left, one line style per
    quantity, one colour per architecture) and the fitted η_h, η_y (right) against the
    layer's relative depth (layer / hidden layers), so that networks of different depth share
    the axis."""
    depth = tables["depth"]
    if depth.empty:
        raise InputError("the theory tables hold no depth runs")
    fig, (fit, rates) = panels(2, width=4.6, height=3.6)
    names = list(dict.fromkeys(depth.architecture))
    for k, name in enumerate(names):
        own = depth[depth.architecture == name].sort_values("layer")
        where = own.layer / own.layer.max()
        colour = plt.cm.tab10(k % 10)
        for quantity, style in (("r2_h", "o-"), ("r2_y", "s--"), ("r2_w", "^:")):
            fit.plot(where, own[quantity], style, ms=3, color=colour,
                     label=f"{name} {quantity[3:]}")
        rates.plot(where, own.eta_h, "o-", ms=3, color=colour, label=f"{name} η_h")
        rates.plot(where, own.eta_y, "s--", ms=3, color=colour, label=f"{name} η_y")
    fit.set(xlabel="layer / hidden layers", ylabel="R² of the fitted theory",
            ylim=(max(-0.5, float(depth[["r2_h", "r2_y", "r2_w"]].min().min()) - 0.05), 1.02))
    fit.set_title("fit quality per layer", fontsize=9)
    rates.set(xlabel="layer / hidden layers", ylabel="fitted rate", yscale="log")
    rates.set_title("effective rates per layer", fontsize=9)
    fit.legend(fontsize=6, ncol=2)
    rates.legend(fontsize=6, ncol=2)
    save(fig, out)
    return [fit, rates]


def theory_digits(tables, out) -> list:
    """The followed digit pair: measured h, y, w and loss against the fitted theory."""
    runs = experiment_runs(tables["trajectories"], "digits")
    fig, axes = panels(4, width=3.4, height=3.0)
    for ax, quantity in zip(axes, [*QUANTITIES, "loss"], strict=True):
        _measured_vs_theory(ax, runs, quantity)
        ax.set_title(f"{QUANTITIES.get(quantity, 'loss')} ({_r2_title(runs, quantity)})",
                     fontsize=8)
        ax.set_xlabel("epoch")
    save(fig, out)
    return axes


THEORY_FIGURES = {"theory_trajectories": theory_trajectories, "theory_loss": theory_loss,
                  "theory_sweep": theory_sweep, "theory_final_distance": theory_final_distance,
                  "theory_depth": theory_depth, "theory_digits": theory_digits}


def draw_theory(name: str, tables, out) -> None:
    """Draw theory figure ``name`` from the table files ``tables`` (each known by its stem, e.g.
    ``trajectories.parquet``) to the paths ``out``."""
    THEORY_FIGURES[name](load_tables(tables), out)
