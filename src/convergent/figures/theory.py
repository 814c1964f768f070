"""Figures of the two-point effective theory, drawn from its tables (the ones
:func:`convergent.theory.results.collect` writes, read by
:func:`convergent.analysis.tables.load_tables`): measured trajectories against the fitted theory
per architecture, the loss curves, the initial-scale sweep, the final-distance check, the digit
pair. The numbers in the titles come from :mod:`convergent.theory.results`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ..analysis.tables import load_tables
from ..errors import InputError
from ..theory.results import experiment_runs, final_distance_r2, mean_r2
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
    """Left: relative movement |h(T) − h(0)| / h(0) against the initial gain (rich → lazy).
    Right: h(t) / h(0) per gain."""
    sweep = tables["sweep"]
    if sweep.empty:
        raise InputError("the theory tables hold no sweep runs")
    runs = experiment_runs(tables["trajectories"], "sweep")
    fig, (left, right) = panels(2)
    by_gain = sweep.groupby("gain").relative_movement
    left.errorbar(by_gain.mean().index, by_gain.mean(), yerr=by_gain.std().fillna(0), fmt="o-")
    left.set(yscale="log", xlabel="initial gain", ylabel="|h(T) − h(0)| / h(0)",
             title="representation movement: rich → lazy")
    gains = sorted(runs.gain.unique())
    for k, gain in enumerate(gains):
        run = runs[(runs.gain == gain) & (runs.seed == runs.seed.min())]
        right.plot(run.epoch, run.h / run.h.iloc[0], color=plt.cm.plasma(k / max(1, len(gains))),
                   label=f"gain {gain:g}")
    right.set(yscale="log", xlabel="epoch", ylabel="h(t) / h(0)", title="first seed")
    right.legend(fontsize=7)
    save(fig, out)
    return [left, right]


def theory_final_distance(tables, out) -> list:
    """Measured h at convergence against the formula's h(∞), over the (‖Δx‖, ‖Δy*‖) grid."""
    grid = tables["final_distance"]
    if len(grid) < 2:
        raise InputError("the final-distance table needs at least two grid runs")
    fig, (ax,) = panels(1, width=4.6, height=4.2)
    points = ax.scatter(grid.predicted, grid.measured, c=grid.dy, cmap="viridis",
                        s=14 + 40 * grid.dx)
    top = float(max(grid.predicted.max(), grid.measured.max())) * 1.05
    ax.plot([0, top], [0, top], "k--", lw=0.8)
    fig.colorbar(points, ax=ax, label="‖Δy*‖ (size: ‖Δx‖)")
    ax.set(xlabel="predicted h(∞)", ylabel="measured h at the last epoch",
           title=f"final distance: R² {final_distance_r2(grid):.3f}")
    save(fig, out)
    return [ax]


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
                  "theory_digits": theory_digits}


def draw_theory(name: str, tables, out) -> None:
    """Draw theory figure ``name`` from the table files ``tables`` (each known by its stem, e.g.
    ``trajectories.parquet``) to the paths ``out``."""
    THEORY_FIGURES[name](load_tables(tables), out)
