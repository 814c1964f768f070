"""Benchmark: the batched grid against a plain per-pair implementation of the metric contract.

Both score the same activations (by default 4000 stimuli, 8 × 8 layers of widths 64 … 512, all
pairs, 5 folds). For each metric the script prints the plain and grid wall times, their ratio,
the largest score difference, the grid's peak memory, and the time of the metric's unavoidable
core measured alone (the solver work every exact implementation must do, :data:`BOUNDS`), then
one line per metric saying what bounds it and the grid's time as a multiple of that bound, and
for ``linear`` the floor of the grid's own factorisation (:func:`linear_floor`).

    python benchmarks/bench_grid.py                  # the full benchmark (several minutes)
    python benchmarks/bench_grid.py --stimuli 1000 --layers 4 --metrics procrustes
    python benchmarks/bench_grid.py --metrics linear --workers 1   # one pair at a time
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from convergent.metrics import METRICS, grid  # noqa: E402
from convergent.metrics.layer import kfold_indices  # noqa: E402
from convergent.metrics.threads import ordered_map, pair_workers  # noqa: E402

from plain import plain_score, train_corr_matrix  # noqa: E402


def make_layers(stimuli: int, n_layers: int, seed: int, widths: list[int]) -> list[np.ndarray]:
    """A random ReLU network's layers (widths 64 … 512) reading shared stimuli, each unit read
    out with a little noise (so no unit is constant over a fold's training rows, where the
    contract's Procrustes map would not be unique)."""
    rng = np.random.default_rng(seed)
    inputs = np.random.default_rng(0).standard_normal((stimuli, 32))
    layers, h = [], inputs
    for width in widths[:n_layers]:
        h = np.maximum(h @ rng.standard_normal((h.shape[1], width)) / np.sqrt(h.shape[1]), 0)
        layers.append((h + 0.01 * rng.standard_normal(h.shape)).astype(np.float32))
    return layers


def data(args):
    widths = list(np.linspace(64, 512, args.layers).astype(int))
    return (make_layers(args.stimuli, args.layers, 1, widths),
            make_layers(args.stimuli, args.layers, 2, widths[::-1]))


def plain_grid(A, B, metric, folds):
    return np.array([[plain_score(x.astype(np.float64), y.astype(np.float64), metric,
                                  folds=folds)["score"] for y in B] for x in A])


#: What bounds each metric: the work that no exact implementation of the contract avoids.
BOUNDS = {
    "linear": "the factorisation of every layer's centred training rows, once per layer and "
              "fold (thin_svd: the Gram's eigendecomposition where it is well conditioned, "
              "else LAPACK's SVD)",
    "procrustes": "one SVD of the nx × ny training cross product per pair and fold",
    "permutation": "one linear_sum_assignment per pair and fold (emd where widths differ)",
    "softmatch": "one exact transport plan (ot.emd) per pair and fold",
    "cka": "one all-rows cross product XᵀY per pair",
}


def on_workers(jobs, workers: int | None) -> None:
    """Run zero-argument ``jobs`` as the grid runs its pairs: on its workers (one pair per
    torch thread, :mod:`convergent.metrics.threads`), so bound and grid are timed alike."""
    ordered_map(lambda job: job(), jobs, pair_workers(torch.device("cpu"), workers))


def core_time(A, B, metric, folds, workers=None):
    """The work no exact implementation avoids, timed alone, on the grid's workers."""
    import ot
    from scipy.optimize import linear_sum_assignment

    splits = kfold_indices(len(A[0]), folds, 0)
    if metric == "linear":  # the factorisation of every layer's centred training rows, per fold
        from convergent.metrics.ridge import thin_svd

        def factorise(L, train):
            Z = torch.as_tensor(L[train], dtype=torch.float64)
            return lambda: thin_svd(Z - Z.mean(0))

        jobs = [factorise(L, tr) for tr, _ in splits for L in A + B]
    elif metric == "cka":  # one all-rows cross product per pair
        def cross(x, y):
            x, y = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
            return lambda: x.T @ y

        jobs = [cross(x, y) for x in A for y in B]
    else:  # one solve per pair and fold on a precomputed correlation matrix
        def solve(C):
            if metric == "procrustes":  # the grid's LAPACK (torch's), not numpy's
                C = torch.as_tensor(C)
                return lambda: torch.linalg.svd(C, full_matrices=False)
            if metric == "permutation" and C.shape[0] == C.shape[1]:
                return lambda: linear_sum_assignment(C, maximize=True)
            n, k = C.shape
            return lambda: ot.emd(np.full(n, 1 / n), np.full(k, 1 / k), 1 - C,
                                  numItermax=10_000_000)

        mats = [train_corr_matrix(x[tr].astype(np.float64), y[tr].astype(np.float64))
                for x in A for y in B for tr, _ in splits[:1]]
        jobs = [solve(C) for C in mats for _ in splits]
    start = time.perf_counter()
    on_workers(jobs, workers)
    return time.perf_counter() - start


def linear_floor(A, B, folds, workers=None) -> float:
    """The dense work of the grid's exact leave-one-out factorisation alone (metrics/ridge.py),
    on the grid's workers: per layer and fold the factorisation (its Gram from the all-rows
    Gram less the test rows', as the grid forms it), leverages and the leading weighted Grams
    (:meth:`RidgePredictor.fit`); per pair and fold K (between two Gram-route layers from the
    training cross product: the all-rows product once per pair, the test rows' per fold, two
    n-sized products; otherwise Uₓᵀ U_y) and the two m·r_x·r_y products of the middle terms
    (U_y S_y² Kᵀ, Uₓ Sₓ² K) in float32, as the grid forms them first. No α search, no exact
    product where float32 cannot decide, no coefficients, no scoring: what is left of the
    grid's time above this is those."""
    from convergent.metrics.ridge import RidgePredictor, shared_k

    splits = kfold_indices(len(A[0]), folds, 0)
    start = time.perf_counter()
    data = [[torch.as_tensor(layer, dtype=torch.float64) for layer in L] for L in (A, B)]
    data = [[X - X.mean(0) for X in side] for side in data]
    all_rows, grams = {}, [[None] * len(side) for side in data]

    def moments(i, j):
        def job():
            all_rows[i, j] = data[0][i].T @ data[1][j]
            if j == 0:
                grams[0][i] = data[0][i].T @ data[0][i]
            if i == 0:
                grams[1][j] = data[1][j].T @ data[1][j]
        return job

    on_workers([moments(i, j) for i in range(len(A)) for j in range(len(B))], workers)

    def fit(X, gram, train, test):  # the training Gram as the grid forms it (rank-1 terms aside)
        return RidgePredictor.fit(X[train] - X[train].mean(0),
                                  gram=lambda: gram - X[test].T @ X[test])

    def middle(x, y, cross):
        def job():
            K = shared_k(x, y, cross)
            y.U.float() @ (K * y.s**2).T.float(), x.U.float() @ (K.T * x.s**2).T.float()
        return job

    for train, test in splits:
        fits = [[None] * len(side) for side in data]

        def fitted(s, k, train=train, test=test, fits=fits):
            def job():
                fits[s][k] = fit(data[s][k], grams[s][k], train, test)
            return job

        on_workers([fitted(s, k) for s, side in enumerate(data) for k in range(len(side))],
                   workers)
        on_workers([middle(x, y, lambda i=i, j=j, test=test: all_rows[i, j]
                           - data[0][i][test].T @ data[1][j][test])
                    for i, x in enumerate(fits[0]) for j, y in enumerate(fits[1])], workers)
    return time.perf_counter() - start


def child(args) -> None:
    """Run one grid in this (fresh) process and report its time, scores and peak memory."""
    A, B = data(args)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    table = grid(A, B, metrics=[args.child], folds=args.folds, workers=args.workers)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scores = table.pivot(index="index_x", columns="index_y", values="score").to_numpy()
    print(json.dumps({"seconds": seconds, "scores": scores.tolist(),
                      "peak_mib": peak / 1024, "grew_mib": (peak - base) / 1024}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stimuli", type=int, default=4000)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--metrics", default=",".join(METRICS))
    p.add_argument("--workers", type=int, default=None,
                   help="layer pairs at once (default: one per torch thread, as grid's)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args)
    A, B = data(args)
    print(f"{args.stimuli} stimuli, {args.layers} x {args.layers} layers of widths "
          f"{[a.shape[1] for a in A]} vs {[b.shape[1] for b in B]}, all pairs, {args.folds} folds, "
          f"torch {torch.__version__} on {torch.get_num_threads()} threads\n")
    print(f"{'metric':<12}{'plain s':>10}{'grid s':>10}{'ratio':>8}{'max |diff|':>12}"
          f"{'peak MiB':>10}{'core s':>9}{'grid/core':>11}")
    bounds = []
    for metric in args.metrics.split(","):
        cmd = [sys.executable, __file__, "--child", metric, "--stimuli", str(args.stimuli),
               *(["--workers", str(args.workers)] if args.workers else []),
               "--layers", str(args.layers), "--folds", str(args.folds)]
        fast = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                         text=True).stdout)
        start = time.perf_counter()
        plain = plain_grid(A, B, metric, args.folds)
        plain_s = time.perf_counter() - start
        diff = np.nanmax(np.abs(plain - np.array(fast["scores"])))
        core = core_time(A, B, metric, args.folds, args.workers)
        print(f"{metric:<12}{plain_s:>10.2f}{fast['seconds']:>10.2f}"
              f"{plain_s / fast['seconds']:>7.1f}x{diff:>12.1e}{fast['peak_mib']:>10.0f}"
              f"{core:>9.2f}{fast['seconds'] / core:>10.1f}x", flush=True)
        bounds.append(f"{metric}: bounded by {BOUNDS[metric]}, {core:.2f} s alone; the grid "
                      f"takes {fast['seconds'] / core:.1f}x that, the plain loop "
                      f"{plain_s / core:.1f}x")
        if metric == "linear":
            floor = linear_floor(A, B, args.folds, args.workers)
            bounds.append(f"linear: the exact factorisation's dense work alone (factorisations, "
                          f"leading weighted Grams, K and the middle terms' two products a pair "
                          f"and fold) takes "
                          f"{floor:.2f} s, so no "
                          f"grid of this factorisation beats the plain loop by more than "
                          f"{plain_s / floor:.1f}x; this one takes {fast['seconds'] / floor:.2f}x "
                          "its floor")
    print("\n" + "\n".join(bounds))


if __name__ == "__main__":
    main()
