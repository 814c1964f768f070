"""The theory's result tables: one run → its trajectory (with the fitted theory beside it) and
fit; all runs → the ``trajectories``, ``fits``, ``final_distance`` and ``sweep`` tables and the
required results of theory.md checked in a ``summary`` (each written to the path the caller
names); and the numbers the theory figures read from these tables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io import atomic_path, write_table
from .digits import digit_pair_run
from .experiment import fit_trajectory, two_point_run
from .fit import r_squared
from .ode import conserved, final_distance

LABELS = ("experiment", "run", "architecture", "seed")
FIT_COLUMNS = ("eta_h", "eta_y", "eta_ybar", "r2_h", "r2_y", "r2_w", "r2_loss")
#: Required results of the issue: the default variant's fit, the final-distance grid's R².
REQUIRED = {"r2_h": 0.95, "r2_y": 0.95, "r2_w": 0.7, "final_distance_r2": 0.8}
#: What :func:`collect` writes: the four tables (format from each path's suffix) and the summary.
OUTPUTS = ("trajectories", "fits", "final_distance", "sweep", "summary")


SPEC_KEYS = {"experiment", "run", "architecture", "seed", "variant", "lr", "epochs",
             "record_every", "fit"}


def check_spec(spec: dict) -> None:
    missing = sorted(SPEC_KEYS - set(spec))
    if missing:
        raise InputError(f"theory run spec: missing {', '.join(missing)} (make specs with "
                         "convergent.plan.theory.theory_runs)")
    if spec["experiment"] == "digits":
        missing = sorted({"source", "pair", "batch_size"} - set(spec))
    else:
        missing = sorted({"dx", "dy"} - set(spec))
    if missing:
        raise InputError(f"theory run spec of {spec['experiment']}: missing {', '.join(missing)}")


def run_one(spec: dict) -> tuple[pd.DataFrame, dict]:
    """Train the run ``spec`` (from :func:`convergent.plan.theory.theory_runs`), fit it when the
    spec asks, and return its labelled trajectory (``*_theory`` columns NaN when not fitted) and
    its fit row."""
    check_spec(spec)
    trajectory = (digit_pair_run if spec["experiment"] == "digits" else two_point_run)(spec)
    dx2, dy2, lr = (trajectory.attrs[k] for k in ("dx2", "dy2", "lr"))
    fit = {column: np.nan for column in FIT_COLUMNS}
    theory = pd.DataFrame(np.nan, index=trajectory.index,
                          columns=["h_theory", "y_theory", "w_theory", "loss_theory"])
    if spec["fit"]:
        fit, theory = fit_trajectory(trajectory, dx2, dy2)
    labels = {key: spec[key] for key in LABELS}
    labels.update(gain=spec["variant"]["gain"], dx=spec.get("dx", np.nan),
                  dy=spec.get("dy", np.nan), dx2=dx2, dy2=dy2, lr=lr)
    table = pd.concat([pd.DataFrame([labels] * len(trajectory)), trajectory,
                       theory.set_index(trajectory.index)], axis=1)
    return table, {**labels, **fit}


def write_run(spec: dict, trajectory_path: Path, fit_path: Path) -> dict:
    table, fit = run_one(spec)
    write_table(table, trajectory_path)
    write_table(pd.DataFrame([fit]), fit_path)
    return fit


def final_distances(trajectories: pd.DataFrame, fits: pd.DataFrame) -> pd.DataFrame:
    """Measured h at the last epoch of every grid run vs h(∞) of the formula, with C from the
    run's initial (h, y) and η_h/η_y from the grid's ``base`` run (theory.md, final-distance
    check)."""
    grid = trajectories[trajectories.experiment == "final_distance"]
    base = fits[(fits.experiment == "final_distance") & (fits.run == "base")]
    if grid.empty or base.empty:
        return pd.DataFrame(columns=["dx", "dy", "measured", "predicted"])
    ratio = float((base.eta_h / base.eta_y).iloc[0])
    rows = []
    for _, run in grid[grid.run != "base"].groupby("run", sort=False):
        first, last = run.iloc[0], run.iloc[-1]
        c = float(conserved(first.h, first.y, ratio, first.dx2))
        rows.append({"dx": first.dx, "dy": first.dy, "measured": last.h,
                     "predicted": final_distance(c, ratio, first.dx2, first.dy2),
                     "h0": first.h, "conserved": c, "eta_ratio": ratio,
                     "final_loss": last["loss"], "seed": first.seed})
    return pd.DataFrame(rows).sort_values(["dx", "dy"]).reset_index(drop=True)


def sweep_movement(trajectories: pd.DataFrame) -> pd.DataFrame:
    """Per sweep run: how far the representation moved relative to where it started,
    |h(T) − h(0)| / h(0); small in the lazy regime."""
    runs = trajectories[trajectories.experiment == "sweep"]
    rows = []
    for (gain, seed), run in runs.groupby(["gain", "seed"]):
        h0, h_end = run.h.iloc[0], run.h.iloc[-1]
        rows.append({"gain": gain, "seed": seed, "h0": h0, "h_final": h_end,
                     "relative_movement": abs(h_end - h0) / h0,
                     "final_loss": run["loss"].iloc[-1]})
    return pd.DataFrame(rows, columns=["gain", "seed", "h0", "h_final", "relative_movement",
                                       "final_loss"])


def check_outputs(outputs: Mapping[str, str | os.PathLike]) -> dict[str, Path]:
    """``outputs`` as name → path, each of :data:`OUTPUTS` present and no other name."""
    missing = [name for name in OUTPUTS if name not in outputs]
    unknown = sorted(set(outputs) - set(OUTPUTS))
    if missing or unknown:
        problems = ([f"no path for {', '.join(missing)}"] if missing else []) + (
            [f"unknown {', '.join(unknown)}"] if unknown else [])
        raise InputError(f"theory collect outputs: {'; '.join(problems)} (give a path for each "
                         f"of {', '.join(OUTPUTS)})")
    return {name: Path(outputs[name]) for name in OUTPUTS}


def collect(trajectory_files: list[Path], fit_files: list[Path],
            outputs: Mapping[str, str | os.PathLike],
            default: str = "default") -> dict[str, pd.DataFrame]:
    """Concatenate the runs and write every theory table and the checked summary, each to its
    path in ``outputs`` (name → path for every name of :data:`OUTPUTS`; a table is parquet, or
    CSV for a ``.csv`` path)."""
    outputs = check_outputs(outputs)
    if not trajectory_files:
        raise InputError("theory collect: no run trajectories given")
    trajectories = pd.concat([pd.read_parquet(p) for p in trajectory_files], ignore_index=True)
    fits = pd.concat([pd.read_csv(p) for p in fit_files], ignore_index=True)
    fits = fits.dropna(subset=["eta_h"]).reset_index(drop=True)
    tables = {"trajectories": trajectories, "fits": fits,
              "final_distance": final_distances(trajectories, fits),
              "sweep": sweep_movement(trajectories)}
    for name, table in tables.items():
        write_table(table, outputs[name])
    with atomic_path(outputs["summary"]) as tmp:
        tmp.write_text(summary_markdown(tables, default))
    return tables


def experiment_runs(trajectories: pd.DataFrame, experiment: str) -> pd.DataFrame:
    """The trajectory rows of one experiment; an error when it has none."""
    rows = trajectories[trajectories.experiment == experiment]
    if rows.empty:
        raise InputError(f"the theory trajectories hold no '{experiment}' runs")
    return rows


def mean_r2(runs: pd.DataFrame, quantity: str) -> float:
    """R² of the fitted theory to the measured ``quantity``, per seed, averaged over seeds."""
    return float(np.nanmean([r_squared(run[quantity], run[f"{quantity}_theory"])
                             for _, run in runs.groupby("seed")]))


def final_distance_r2(grid: pd.DataFrame) -> float:
    """R² of the measured final distances to the predicted h(∞) (NaN with fewer than two)."""
    return r_squared(grid.measured, grid.predicted) if len(grid) > 1 else np.nan


def checks(tables: dict[str, pd.DataFrame], default: str = "default") -> list[dict]:
    """The issue's required results, each with its value, threshold and verdict (NaN and "n/a"
    where the config ran no experiment that measures it)."""
    fits, grid, sweep = tables["fits"], tables["final_distance"], tables["sweep"]
    own = fits[(fits.experiment == "architectures") & (fits.architecture == default)]
    rows = [{"check": f"default variant: mean {q} over seeds", "value": own[q].mean()
             if len(own) else np.nan, "threshold": f">= {REQUIRED[q]}", "limit": REQUIRED[q]}
            for q in ("r2_h", "r2_y", "r2_w")]
    value = final_distance_r2(grid)
    rows.append({"check": "final distance: R² of measured vs predicted h(∞)", "value": value,
                 "threshold": f">= {REQUIRED['final_distance_r2']}",
                 "limit": REQUIRED["final_distance_r2"]})
    by_gain = sweep.groupby("gain").relative_movement.mean()
    ratio = by_gain.iloc[-1] / by_gain.iloc[0] if len(by_gain) > 1 else np.nan
    rows.append({"check": "sweep: relative movement at the largest gain / at the smallest",
                 "value": ratio, "threshold": "< 0.1", "limit": None})
    for row in rows:
        if np.isnan(row["value"]):
            row["verdict"] = "n/a"
        elif row["limit"] is None:
            row["verdict"] = "pass" if row["value"] < 0.1 else "FAIL"
        else:
            row["verdict"] = "pass" if row["value"] >= row["limit"] else "FAIL"
    return rows


def summary_markdown(tables: dict[str, pd.DataFrame], default: str = "default") -> str:
    lines = ["# The two-point effective theory: results", "",
             "| required result | value | threshold | verdict |", "|---|---|---|---|"]
    lines += [f"| {c['check']} | {c['value']:.3f} | {c['threshold']} | {c['verdict']} |"
              for c in checks(tables, default)]
    fits = tables["fits"]
    if len(fits):
        mean = fits.groupby(["experiment", "architecture", "gain"], sort=False)[
            list(FIT_COLUMNS)].mean().reset_index()
        lines += ["", "## Fitted rates and fit quality (mean over seeds)", "",
                  "| experiment | architecture | gain | η_h | η_y | η_ȳ | R² h | R² y | R² w | "
                  "R² loss |", "|---|---|---|---|---|---|---|---|---|---|"]
        lines += ["| {experiment} | {architecture} | {gain:g} | {eta_h:.2e} | {eta_y:.2e} | "
                  "{eta_ybar:.2e} | {r2_h:.3f} | {r2_y:.3f} | {r2_w:.3f} | {r2_loss:.3f} |"
                  .format(**row) for row in mean.to_dict("records")]
    return "\n".join(lines) + "\n"
