"""Tidy result tables from the per-job outputs of the workflow."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import InputError
from .io import write_table

#: The alignment table's leading columns, in order (the rest of the grid's columns follow).
ALIGNMENT_COLUMNS = ["analysis", "model_x", "seed_x", "model_y", "seed_y", "epoch", "stimset",
                     "layer_x", "layer_y", "depth_x", "depth_y", "metric", "corr", "score",
                     "score_xy", "score_yx", "x_units", "y_units"]
ACCURACY_COLUMNS = ["model", "seed", "epoch", "stimset", "accuracy"]
TRAINING_COLUMNS = ["model", "seed", "epoch", "split", "loss", "accuracy"]
MODEL_COLUMNS = ["model", "arch", "family", "modality", "objective", "source", "untrained",
                 "trained", "seeds", "axis", "tokens_per_step"]


def _concat(paths) -> pd.DataFrame:
    frames = [pd.read_parquet(p) if str(p).endswith(".parquet") else pd.read_csv(p)
              for p in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _ordered(table: pd.DataFrame, leading: list[str], keys: list[str]) -> pd.DataFrame:
    if table.columns.empty:  # no input files (e.g. no model trained by the workflow)
        table = pd.DataFrame(columns=leading)
    # one dtype whatever the files say: fractions of epoch 1 (0.25) beside whole epochs
    table = table.astype({"epoch": float})
    rest = [c for c in table.columns if c not in leading]
    return table[leading + rest].sort_values(keys, kind="stable").reset_index(drop=True)


def aggregate(alignment: list[Path], accuracy: list[Path], training: list[Path],
              models: list[dict], out: list[Path]) -> dict[str, pd.DataFrame]:
    """The ``alignment``, ``accuracy``, ``training`` and ``models`` tables, each written to the
    ``out`` paths of that name (the file's stem; parquet or CSV by its suffix). ``epoch`` is a
    float column (checkpoints inside epoch 1 are fractions). ``models`` are
    the rows of :func:`convergent.plan.models.model_rows`."""
    tables = {
        "alignment": _ordered(_concat(alignment), ALIGNMENT_COLUMNS,
                              ["analysis", "corr", "model_x", "seed_x", "model_y", "seed_y",
                               "epoch", "stimset", "index_x", "index_y", "metric"]),
        "accuracy": _ordered(_concat(accuracy), ACCURACY_COLUMNS,
                             ["model", "seed", "epoch", "stimset"]),
        "training": _ordered(_concat(training), TRAINING_COLUMNS,
                             ["model", "seed", "epoch", "split"]),
        "models": pd.DataFrame(models, columns=MODEL_COLUMNS),
    }
    unknown = sorted({Path(p).stem for p in out} - set(tables))
    if unknown:
        raise InputError(f"--out {unknown[0]}: no such table; the tables are "
                         + ", ".join(tables))
    for path in out:
        write_table(tables[Path(path).stem], path)
    return tables
