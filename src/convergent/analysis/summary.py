"""The study's headline numbers, computed from the result tables, and ``summary.md`` that shows
them beside the figures left out and the config (numbers only: no plotting import here)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io import atomic_path
from .cross import hierarchical_correspondence
from .depth import shift_profile
from .ood import depth_correlation, ood_points
from .rotation import rotation_table
from .tables import DEEP, as_tables, final_epoch, select
from .training import first_epoch_share, training_curve


def _seed_means(alignment: pd.DataFrame, metric: str, epoch: int | None = None) -> pd.Series:
    """Mean score of corresponding layers across seeds, per model and depth."""
    rows = select(alignment, "seeds", metric=metric)
    epoch = final_epoch(rows) if epoch is None else epoch
    rows = rows[rows.epoch == epoch]
    if rows.empty:
        raise InputError(f"no seeds rows for {metric} at epoch {epoch}")
    return rows.groupby(["model_x", "depth_x"]).score.mean()


def _by_depth(values: pd.Series, deep: bool) -> float:
    depth = values.index.get_level_values("depth_x")
    part = values[(depth >= DEEP) if deep else (depth < DEEP)]
    return float(part.mean()) if len(part) else float("nan")


def training_gain(t, deep):
    """Mean procrustes increase across seeds from untrained (epoch 0) to trained layers."""
    gain = _seed_means(t["alignment"], "procrustes") - _seed_means(t["alignment"],
                                                                     "procrustes", 0)
    return _by_depth(gain, deep)


def metric_gap(t, first, second):
    gap = _seed_means(t["alignment"], first) - _seed_means(t["alignment"], second)
    return float(gap.mean())


def ood_drop(t):
    """Deep layers: in-distribution minus mean OOD procrustes score across seeds."""
    profile = shift_profile(t["alignment"]).set_index(["model_x", "depth_x"])
    return _by_depth(profile["id"] - profile["ood"], deep=True)


def deepest_ood_correlation(t):
    """Correlation of alignment with OOD accuracy at each model's deepest layer (mean over
    models)."""
    r = depth_correlation(ood_points(t))
    deepest = r.loc[r.groupby("model_x").index_x.idxmax()]
    return float(deepest.r.mean())


HEADLINES: dict[str, Callable] = {
    "procrustes gain from training, early layers (depth < 0.5)":
        lambda t: training_gain(t, deep=False),
    "procrustes gain from training, deep layers (depth ≥ 0.5)":
        lambda t: training_gain(t, deep=True),
    "linear − procrustes (trained, mean over layers)":
        lambda t: metric_gap(t, "linear", "procrustes"),
    "procrustes − permutation (trained, mean over layers)":
        lambda t: metric_gap(t, "procrustes", "permutation"),
    "deep-layer drop under OOD (in-distribution − OOD procrustes)": ood_drop,
    "correlation of alignment with OOD accuracy, deepest layer": deepest_ood_correlation,
    "share of layers best matched by their counterpart (cross, procrustes)":
        lambda t: float(hierarchical_correspondence(t["alignment"]).query(
            "metric == 'procrustes'").share.mean()),
    "share of the final alignment reached after epoch 1 (procrustes)":
        lambda t: float(first_epoch_share(training_curve(t)).share.mean()),
    "change of the permutation score under rotation, % (mean of per-model max)":
        lambda t: float(rotation_table(t["alignment"]).change_pct_max.mean()),
}


def headline_numbers(tables: Mapping[str, pd.DataFrame]) -> dict[str, float | str]:
    """Every headline: its value, or why the tables cannot give it (a table not given among
    them)."""
    tables = as_tables(tables)
    values = {}
    for name, compute in HEADLINES.items():
        try:
            values[name] = compute(tables)
        except (InputError, KeyError, ValueError) as err:
            values[name] = f"n/a ({err})"
    return values


def _shown(value) -> str:
    if isinstance(value, str):
        return value
    if not np.isfinite(value):
        return "n/a (too few points: it needs several OOD sets, seed pairs or layers)"
    return f"{value:+.3f}"


def write_summary(tables: Mapping[str, pd.DataFrame], path: str | Path,
                  left_out: Mapping[str, str] | None = None, config: Mapping | None = None
                  ) -> str:
    """Write ``summary.md``: the headline numbers, the figures left out and why, and the
    config the results come from."""
    lines = ["# Summary", "", "| headline | value |", "|---|---|"]
    lines += [f"| {name} | {_shown(value)} |"
              for name, value in headline_numbers(tables).items()]
    if left_out:
        lines += ["", "## Figures left out", ""]
        lines += [f"- `{name}`: {why}" for name, why in sorted(left_out.items())]
    if config is not None:
        import yaml

        lines += ["", "## Config", "", "```yaml", yaml.safe_dump(dict(config), sort_keys=False)
                  .rstrip(), "```"]
    text = "\n".join(lines) + "\n"
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
    return text
