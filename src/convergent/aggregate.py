"""Tidy result tables from the per-job outputs of the workflow."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .io import write_table

#: The alignment table's leading columns, in order (the rest of the grid's columns follow).
ALIGNMENT_COLUMNS = ["analysis", "model_x", "seed_x", "model_y", "seed_y", "epoch", "stimset",
                     "layer_x", "layer_y", "depth_x", "depth_y", "metric", "corr", "score",
                     "score_xy", "score_yx", "x_units", "y_units"]
ACCURACY_COLUMNS = ["model", "seed", "epoch", "stimset", "accuracy"]


def _concat(paths) -> pd.DataFrame:
    frames = [pd.read_parquet(p) if str(p).endswith(".parquet") else pd.read_csv(p)
              for p in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _ordered(table: pd.DataFrame, leading: list[str], keys: list[str]) -> pd.DataFrame:
    rest = [c for c in table.columns if c not in leading]
    return table[leading + rest].sort_values(keys, kind="stable").reset_index(drop=True)


def aggregate(alignment: list[Path], accuracy: list[Path], training: list[Path],
              out_dir: Path) -> dict[str, pd.DataFrame]:
    """Write ``alignment``, ``accuracy`` and ``training`` tables (parquet and CSV)."""
    tables = {
        "alignment": _ordered(_concat(alignment), ALIGNMENT_COLUMNS,
                              ["analysis", "corr", "model_x", "seed_x", "model_y", "seed_y",
                               "epoch", "stimset", "index_x", "index_y", "metric"]),
        "accuracy": _ordered(_concat(accuracy), ACCURACY_COLUMNS,
                             ["model", "seed", "epoch", "stimset"]),
        "training": _ordered(_concat(training), ["model", "seed", "epoch", "split", "loss",
                                                 "accuracy"], ["model", "seed", "epoch", "split"]),
    }
    for name, table in tables.items():
        write_table(table, Path(out_dir) / f"{name}.parquet")
        write_table(table, Path(out_dir) / f"{name}.csv")
    return tables
