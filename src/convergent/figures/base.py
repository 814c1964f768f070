"""What every figure shares: the result tables, the selections they are drawn from, saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..errors import InputError  # noqa: E402
from ..io import atomic_path  # noqa: E402

TABLES = ("alignment", "accuracy", "training")
METRIC_COLOURS = {"linear": "#1b9e77", "procrustes": "#d95f02", "permutation": "#7570b3",
                  "softmatch": "#e7298a", "cka": "#66a61e"}
#: Normalised depth cut between early and deep layers (the paper's split).
DEEP = 0.5


def load_tables(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The workflow's result tables (``<folder>/<name>.parquet``)."""
    tables = {}
    for name in TABLES:
        path = Path(folder) / f"{name}.parquet"
        if not path.exists():
            raise InputError(f"{path}: no such table (run the workflow's aggregate step first)")
        tables[name] = pd.read_parquet(path)
    return tables


def select(alignment: pd.DataFrame, what: str, corr: str = "pearson", **equal) -> pd.DataFrame:
    """Rows of one analysis and correlation (and columns equal to the given values); a clear
    error, never an empty figure, when the table holds none."""
    rows = alignment[(alignment["analysis"] == what) & (alignment["corr"] == corr)]
    for column, value in equal.items():
        rows = rows[rows[column] == value]
    if rows.empty:
        detail = ", ".join(f"{k}={v}" for k, v in equal.items())
        raise InputError(f"the alignment table has no '{what}' rows with corr={corr}"
                         + (f", {detail}" if detail else ""))
    return rows


def final_epoch(rows: pd.DataFrame) -> int:
    return int(rows["epoch"].max())


def fold_scores(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per fold score (``fold``, ``fold_score``), for error bars over folds and pairs."""
    folds = [c for c in rows.columns if c.startswith("fold_")]
    long = rows.melt(id_vars=[c for c in rows.columns if c not in folds], value_vars=folds,
                     var_name="fold", value_name="fold_score")
    return long.dropna(subset=["fold_score"])


def layer_group(depth: pd.Series) -> pd.Series:
    return pd.cut(depth, [-0.01, 1 / 3, 2 / 3, 1.0], labels=["early", "middle", "late"])


def panels(count: int, width: float = 4.2, height: float = 3.4, **kwargs):
    fig, axes = plt.subplots(1, count, figsize=(width * count, height), squeeze=False, **kwargs)
    return fig, list(axes[0])


def standard_error(values: pd.Series) -> float:
    values = values.dropna()
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def save(fig, out: list[Path], tight: bool = True) -> None:
    """Write the figure to each path (format from the suffix), atomically, and close it."""
    if tight:
        fig.tight_layout()
    for path in out:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix.lstrip("."), dpi=130,
                        bbox_inches=None if tight else "tight")
    plt.close(fig)
