"""Reading the result tables from the files the workflow names, and the selections and small
statistics every analysis starts from.

The package never builds a table's file name: the caller passes the files, and each table is
known by its file's stem (``results/tables/alignment.parquet`` is the ``alignment`` table).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError

#: Normalised depth cut between early and deep layers (the paper's split).
DEEP = 0.5
#: How a table file is read, by its suffix.
READERS = {".parquet": pd.read_parquet, ".csv": pd.read_csv}


class MissingTable(InputError):
    """A table the computation needs was not among the files given."""


class Tables(dict):
    """Tables by name; asking for one that was not given is an :class:`InputError` naming it
    (a ``KeyError`` would say too little on the command line)."""

    def __missing__(self, name: str) -> pd.DataFrame:
        given = ", ".join(sorted(self)) or "none"
        raise MissingTable(f"the '{name}' table was not given (pass its file, e.g. {name}.parquet, "
                         f"to --tables; given: {given})")


def as_tables(tables: Mapping[str, pd.DataFrame]) -> Tables:
    """``tables`` as :class:`Tables` (unchanged when it already is one)."""
    return tables if isinstance(tables, Tables) else Tables(tables)


def load_tables(paths: Iterable[str | os.PathLike]) -> Tables:
    """Read every table file (``.parquet`` or ``.csv``), each keyed by its file's stem."""
    tables = Tables()
    for path in map(Path, paths):
        reader = READERS.get(path.suffix)
        if reader is None:
            raise InputError(f"{path}: a table is a .parquet or .csv file")
        if path.stem in tables:
            raise InputError(f"{path}: a second '{path.stem}' table (give each table once)")
        if not path.is_file():
            raise InputError(f"{path}: no such table")
        tables[path.stem] = reader(path)
    return tables


def select(alignment: pd.DataFrame, what: str, corr: str = "pearson", **equal) -> pd.DataFrame:
    """Rows of one analysis and correlation (and columns equal to the given values); a clear
    error, never an empty result, when the table holds none."""
    rows = alignment[(alignment["analysis"] == what) & (alignment["corr"] == corr)]
    for column, value in equal.items():
        rows = rows[rows[column] == value]
    if rows.empty:
        detail = ", ".join(f"{k}={v}" for k, v in equal.items())
        raise InputError(f"the alignment table has no '{what}' rows with corr={corr}"
                         + (f", {detail}" if detail else ""))
    return rows


def at_end(rows: pd.DataFrame, end: str = "trained") -> pd.DataFrame:
    """The rows at each model's own last (``trained``) or first (``untrained``) checkpoint
    among ``rows``: every model has its own training axis (epochs, Pythia's steps, ...), so
    "trained" is never one epoch number shared by all models."""
    if end not in ("trained", "untrained"):
        raise ValueError(f"end must be 'trained' or 'untrained', not {end!r}")
    pick = rows.groupby("model_x").epoch.transform("max" if end == "trained" else "min")
    return rows[rows.epoch == pick]


def at_own_end(rows: pd.DataFrame, end: str = "trained") -> pd.DataFrame:
    """:func:`at_end`, but a model with a single checkpoint among ``rows`` has no untrained end
    of its own (it would repeat its trained rows)."""
    picked = at_end(rows, end)
    if end == "untrained":
        spread = rows.groupby("model_x").epoch.nunique()
        picked = picked[picked.model_x.map(spread) > 1]
    return picked


def fold_scores(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per fold score (``fold``, ``fold_score``), for spreads over folds and pairs."""
    folds = [c for c in rows.columns if c.startswith("fold_")]
    long = rows.melt(id_vars=[c for c in rows.columns if c not in folds], value_vars=folds,
                     var_name="fold", value_name="fold_score")
    return long.dropna(subset=["fold_score"])


def layer_group(depth: pd.Series) -> pd.Series:
    """Thirds of the normalised depth: early, middle, late."""
    return pd.cut(depth, [-0.01, 1 / 3, 2 / 3, 1.0], labels=["early", "middle", "late"])


def standard_error(values: pd.Series) -> float:
    """Standard error of the mean of the non-missing values (0 for fewer than two)."""
    values = values.dropna()
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0
