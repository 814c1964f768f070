"""Benchmark: one align task (a model's seed pairs 0-1, 0-2, 1-2 at its checkpoints), scored a
grid per comparison against `grid_many`, which prepares each network's shared layers once.

Prints both wall times, their ratio and the largest score difference (0: the same numbers).
In the seeds analysis every network is in two of the three pairs, so the per-layer work (the
fold statistics and, for linear, the SVD and weighted Grams of the training rows) is halved;
the per-pair solves (assignment, transport, Procrustes SVD, the null's draws) are not shared.

    python benchmarks/bench_task.py                              # 2000 stimuli, 8 layers
    python benchmarks/bench_task.py --metrics linear --checkpoints 4
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_grid import make_layers  # noqa: E402

from convergent.metrics import grid, grid_many  # noqa: E402

PAIRS = [(0, 1), (0, 2), (1, 2)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stimuli", type=int, default=2000)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--checkpoints", type=int, default=2)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--metrics", default="linear,procrustes,permutation,cka")
    args = p.parse_args()
    torch.set_num_threads(1)  # as an align job runs (OMP_NUM_THREADS=threads, 1 by default)
    widths = list(np.linspace(64, 512, args.layers).astype(int))
    comparisons, keys = [], []
    for epoch in range(args.checkpoints):
        nets = [make_layers(args.stimuli, args.layers, 10 * epoch + s, widths) for s in range(3)]
        for a, b in PAIRS:
            comparisons.append((nets[a], nets[b]))
            keys.append(((a, epoch), (b, epoch)))
    options = dict(metrics=args.metrics.split(","), pairs="diagonal", folds=args.folds)
    print(f"{len(comparisons)} comparisons ({len(PAIRS)} seed pairs × {args.checkpoints} "
          f"checkpoints), {args.layers} layers of widths {widths[0]}-{widths[-1]}, "
          f"{args.stimuli} stimuli, {args.folds} folds, {args.metrics}, one thread")
    start = time.perf_counter()
    alone = [grid(x, y, **options) for x, y in comparisons]
    each = time.perf_counter() - start
    start = time.perf_counter()
    shared = grid_many(comparisons, keys=keys, **options)
    many = time.perf_counter() - start
    diff = max(float(np.nanmax(np.abs(a.score.to_numpy() - b.score.to_numpy())))
               for a, b in zip(alone, shared, strict=True))
    print(f"grid per comparison {each:7.1f} s\ngrid_many           {many:7.1f} s\n"
          f"ratio {each / many:.2f}x, largest score difference {diff:.1e}")


if __name__ == "__main__":
    main()
