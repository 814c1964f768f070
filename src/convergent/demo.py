"""The engine on generated data: two randomly initialised ReLU networks (same architecture,
different seeds) see the same stimuli; every layer of one is aligned with every layer of the
other under every metric. Needs no download and runs in seconds on a CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .io import write_layers, write_table
from .metrics import METRICS, grid

WIDTHS = (64, 96, 128, 192, 256)


def random_network_layers(stimuli: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Activations of a random ReLU MLP (He initialisation) with hidden widths ``WIDTHS``."""
    rng = np.random.default_rng(seed)
    layers, h = {}, stimuli
    for depth, width in enumerate(WIDTHS):
        W = rng.standard_normal((h.shape[1], width)) * np.sqrt(2.0 / h.shape[1])
        h = np.maximum(h @ W, 0.0)
        layers[f"fc{depth}"] = h.astype(np.float32)
    return layers


def make_stimuli(n: int, seed: int, dim: int = 32, classes: int = 8) -> np.ndarray:
    """Gaussian clusters: structure both networks can pick up."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, dim)) * 2.0
    labels = rng.integers(classes, size=n)
    return centres[labels] + rng.standard_normal((n, dim))


def run_demo(out: Path, stimuli: int = 2000, seed: int = 0) -> None:
    X = make_stimuli(stimuli, seed)
    ids = [f"stim{i:05d}" for i in range(stimuli)]
    out = Path(out)
    for s in (1, 2):
        write_layers(out / f"net_seed{s}.safetensors", random_network_layers(X, seed + s), ids)
    table = grid(random_network_layers(X, seed + 1), random_network_layers(X, seed + 2),
                 metrics=METRICS, pairs="all", rotate=seed)
    write_table(table, out / "alignment.parquet")
    write_table(table, out / "alignment.csv")
    diagonal = table[table.index_x == table.index_y]
    summary = diagonal.pivot(index="layer_x", columns="metric", values="score")
    summary = summary.loc[list(random_network_layers(X[:2], seed + 1))]
    print("Two random ReLU networks (seeds 1 and 2), corresponding layers, mean over 5 folds:")
    print(summary.round(3).to_string())
    print(f"\nAll {len(table)} rows (every layer pair × metric): {out / 'alignment.parquet'} "
          f"and {out / 'alignment.csv'}")
