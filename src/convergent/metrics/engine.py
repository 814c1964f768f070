"""The two public entry points over one implementation: :func:`score` for a pair of layers and
:func:`grid` for many layers of model A against many layers of model B."""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from . import scores
from .backend import Backend, resolve_backend
from .contract import ASYMMETRIC, METRICS, ROTATED, AlignmentResult
from .layer import Layer, check_activations, check_settings, make_splits
from .pair import PairMoments
from .rotation import change_pct
from .significance import NULL_COLUMNS, mean_result, shuffle_null, summary
from .threads import ordered_map, pair_workers


def check_metrics(metrics: Sequence[str], rotate: int | None = None) -> tuple[str, ...]:
    """The metrics, once each; unknown names, none at all, or a rotation without permutation
    (the rotation test compares permutation scores) are an :class:`InputError`."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise InputError(f"unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)}")
    if not metrics:
        raise InputError("no metric given")
    if rotate is not None and "permutation" not in metrics:
        raise InputError("a rotation (--rotate) needs permutation among the metrics")
    return tuple(dict.fromkeys(metrics))


def check_pairs(pairs: str, n_x: int, n_y: int, names: tuple[str, str]) -> None:
    """``pairs`` is known, and ``"diagonal"`` has as many layers on both sides."""
    if pairs not in ("all", "diagonal"):
        raise InputError(f"pairs must be 'all' or 'diagonal', got {pairs!r}")
    if pairs == "diagonal" and n_x != n_y:
        raise InputError(f"pairs='diagonal' needs equal layer counts, but {names[0]} has "
                         f"{n_x} layers and {names[1]} has {n_y}")


def compare(x: Layer, y: Layer, metric: str, pair: PairMoments | None = None) -> AlignmentResult:
    """Score prepared layers x and y with one metric (both must share their folds)."""
    pair = pair or PairMoments(x, y)
    notes: list[str] = []
    xy = yx = None
    if metric == "cka":
        fold_scores, solver = [], "closed form (all rows)"
        total = scores.cka_score(x, y, pair)
    else:
        folds = range(len(x.folds))
        if metric == "linear":
            per_fold = [scores.linear_fold(x, y, pair, f) for f in folds]
            alphas = [alpha for *_, alpha in per_fold]
            notes.append("ridge alpha per fold (x→y, y→x): " + ", ".join(
                f"{a:.0e}/{b:.0e}" for a, b in alphas))
            per_fold, solver = [(a, b) for a, b, _ in per_fold], "ridge (efficient LOO over alpha)"
        elif metric == "procrustes":
            per_fold = [scores.procrustes_fold(x, y, pair, f) for f in folds]
            solver = "svd"
        elif metric == "permutation" and x.units == y.units:
            per_fold = [scores.permutation_fold(x, y, pair, f) for f in folds]
            solver = "linear_sum_assignment"
        else:
            per_fold = [scores.softmatch_fold(x, y, pair, f) for f in folds]
            solver = "emd"
            if metric == "permutation":
                solver = "emd (unequal widths: computed as softmatch)"
        if metric in ASYMMETRIC:
            xy = float(np.mean([a for a, _ in per_fold]))
            yx = float(np.mean([b for _, b in per_fold]))
            fold_scores = [(a + b) / 2 for a, b in per_fold]
        else:
            fold_scores = list(per_fold)
        undefined = [f for f, s in enumerate(fold_scores) if math.isnan(s)]
        if undefined:
            notes.append(f"folds {undefined} had no unit varying on both sides of the test rows, "
                         "so they score NaN and so does the comparison")
        total = float(np.mean(fold_scores))
    return AlignmentResult(
        metric=metric, score=total, fold_scores=tuple(fold_scores), score_xy=xy, score_yx=yx,
        corr=x.corr, n_folds=len(x.folds), seed=x.seed, x_units=x.units, y_units=y.units,
        x_dropped=x.dropped, y_dropped=y.dropped, solver=solver, notes=tuple(notes))


def _prepare(arrays: Mapping[str, Any], folds: int, seed: int, corr: str,
             backend: Backend, m: int | None = None) -> list[Layer]:
    """Validate every layer, then build each once (all share one fold split)."""
    for name, array in arrays.items():
        check_activations(array, name, folds)
    splits = make_splits(m, folds, seed, backend)
    return [Layer(name, array, splits, corr, backend, seed) for name, array in arrays.items()]


def _prepare_pair(X, Y, names, folds, seed, corr, device, dtype) -> list[Layer]:
    check_settings(folds, corr)
    named = dict(zip(names, (X, Y), strict=True))
    for name, array in named.items():
        if len(array.shape) != 2:
            check_activations(array, name, folds)
    backend = resolve_backend(device, dtype)
    return _prepare(named, folds, seed, corr, backend, _common_rows(named))


def _common_rows(named: Mapping[str, Any]) -> int:
    rows = {name: a.shape[0] for name, a in named.items() if len(a.shape) >= 1}
    first = next(iter(rows.items()))
    for name, m in rows.items():
        if m != first[1]:
            raise InputError(f"{name}: has {m} stimuli (rows) but {first[0]} has {first[1]}; "
                             "both sides must hold the same stimuli in the same order")
    return first[1]


def score(X, Y, metric: str = "procrustes", folds: int = 5, seed: int = 0,
          corr: str = "pearson", device=None, dtype=None,
          names: tuple[str, str] = ("X", "Y")) -> AlignmentResult:
    """Alignment of two layers' activations under one metric.

    Parameters
    ----------
    X : array of shape (m, nx)
    Y : array of shape (m, ny)
        Activations of two layers for the same m stimuli, rows in the same order.
    metric : {"linear", "procrustes", "permutation", "softmatch", "cka"}
    folds : int, default 5
        ``KFold(folds, shuffle=True, random_state=seed)`` over the stimuli.
    seed : int, default 0
    corr : {"pearson", "spearman"}, default "pearson"
    device : str, optional
        Torch device; default CUDA when available, else the CPU.
    dtype : {"float64", "float32"}, optional
        Default float64 on the CPU, float32 on a GPU.
    names : (str, str)
        How error messages name X and Y.

    Returns
    -------
    AlignmentResult
    """
    (metric,) = check_metrics([metric])
    x, y = _prepare_pair(X, Y, names, folds, seed, corr, device, dtype)
    return compare(x, y, metric)


def rotation_test(X, Y, rotation_seed: int = 0, folds: int = 5, seed: int = 0,
                  corr: str = "pearson", device=None, dtype=None,
                  names: tuple[str, str] = ("X", "Y")) -> dict:
    """Permutation score of X against Y, natively and after a Haar-random rotation of X's units.

    Returns
    -------
    dict with ``native`` and ``rotated`` (AlignmentResult) and ``change_pct`` =
    (native − rotated) / rotated × 100.
    """
    x, y = _prepare_pair(X, Y, names, folds, seed, corr, device, dtype)
    native = compare(x, y, "permutation")
    rotated = compare(x.rotated(rotation_seed), y, "permutation")
    return {"native": native, "rotated": rotated,
            "change_pct": change_pct(native.score, rotated.score)}


def grid(layers_x: Mapping[str, Any] | Sequence[Any], layers_y: Mapping[str, Any] | Sequence[Any],
         metrics: Sequence[str] = ("procrustes",), pairs: str = "all", folds: int = 5,
         seed: int = 0, corr: str = "pearson", rotate: int | None = None, device=None,
         dtype=None, progress: bool = False, names: tuple[str, str] = ("x", "y"),
         block: tuple[int, int] | None = None, null: int = 0, null_seed: int = 0,
         rotations: int = 1, null_metrics: Sequence[str] | None = None,
         workers: int | None = None) -> pd.DataFrame:
    """Score every layer of model A against every (``pairs="all"``) or the corresponding
    (``pairs="diagonal"``) layer of model B.

    Each layer is prepared once (Step 0, centring, folds, per-fold statistics and, for
    ``linear``, the factorisation of its training rows) and reused for all its pairs.

    Parameters
    ----------
    layers_x, layers_y : mapping of layer name to array (m, n_layer), or a sequence of arrays
        Layers in network order; all hold the same m stimuli in the same order.
    metrics : sequence of metric names
    pairs : {"all", "diagonal"}
    folds, seed, corr, device, dtype : as in :func:`score`
    rotate : int, optional
        Also score each x layer after a Haar rotation with this seed, as metric
        ``"permutation_rotated"``; needs ``"permutation"`` among the metrics.
    progress : bool
        Show a progress bar over layer pairs.
    names : (str, str)
        Prefixes naming the two sides in error messages (e.g. the two file names).
    block : (start, stop), optional
        Score only the pairs whose x layer index is in ``range(start, stop)``, preparing only the
        layers those pairs need; indices, depths and layer names stay those of the whole grid.
        This is how :mod:`convergent.distributed` splits a large grid into jobs.
    null : int, default 0
        K > 0: score each pair again against K seeded row permutations of y (the
        stimulus-shuffle null, :mod:`.significance`) and add ``null_mean``, ``null_sd`` and
        ``p_value = (1 + #{null ≥ score}) / (K + 1)`` to its rows.
    null_seed : int, default 0
        Seed of the shuffles.
    null_metrics : sequence of metric names, optional
        The metrics the null is drawn for (default: all); the others' rows carry NaN. A draw
        costs the pair's own solve, and for ``linear`` also a ridge fit of the shuffled side,
        so a linear null costs about K pairs: leave it out where K is large.
    rotations : int, default 1
        With ``rotate``: K Haar rotations (seeds ``rotate`` … ``rotate + K − 1``);
        ``permutation_rotated`` is their mean, with ``null_mean``, ``null_sd`` over the draws
        and ``p_value = (1 + #{rotated ≥ native}) / (K + 1)`` (small: a privileged basis).
    workers : int, optional
        Layer pairs scored at once, each on one thread (:mod:`.threads`); default: one per
        torch thread on the CPU (``torch.set_num_threads``), one on a GPU. The scores do not
        depend on it beyond rounding (the chosen penalties not at all).

    Returns
    -------
    pandas.DataFrame
        One row per layer pair × metric: ``layer_x, layer_y, index_x, index_y, depth_x,
        depth_y`` (index / (number of layers − 1)), ``metric, score, score_xy, score_yx,
        x_units, y_units, x_dropped, y_dropped, corr, solver`` and ``fold_0 … fold_{folds-1}``
        (NaN for ``cka``); with ``null`` or ``rotations > 1`` also ``null_mean, null_sd,
        p_value`` (NaN where no test applies).
    """
    (table,) = grid_many([(layers_x, layers_y)], names=[names], metrics=metrics, pairs=pairs,
                         folds=folds, seed=seed, corr=corr, rotate=rotate, device=device,
                         dtype=dtype, progress=progress, block=block, null=null,
                         null_seed=null_seed, rotations=rotations, null_metrics=null_metrics,
                         workers=workers)
    return table


def grid_many(comparisons: Sequence[tuple[Any, Any]],
              keys: Sequence[tuple[Hashable, Hashable]] | None = None,
              names: Sequence[tuple[str, str]] | None = None,
              metrics: Sequence[str] = ("procrustes",), pairs: str = "all", folds: int = 5,
              seed: int = 0, corr: str = "pearson", rotate: int | None = None, device=None,
              dtype=None, progress: bool = False, block: tuple[int, int] | None = None,
              null: int = 0, null_seed: int = 0, rotations: int = 1,
              null_metrics: Sequence[str] | None = None,
              workers: int | None = None) -> list[pd.DataFrame]:
    """:func:`grid` of several comparisons (A, B) at once, each side's layers prepared once.

    An align job scores one network pair at several points (checkpoints, stimulus sets), and
    its pairs share networks: seeds 0-1, 0-2 and 1-2 hold each network twice. Sides with the
    same key hold the same arrays, so each of their layers is prepared (centred, split, and
    for ``linear`` factorised) once and serves every comparison it is in; a rotated layer is
    drawn once per x side too. The work runs layer by layer over comparisons connected by a
    shared key (:func:`connected`), so a layer is freed after its last pair and memory holds
    about one layer per shared side, not whole networks. Every score is what :func:`grid`
    gives for the comparison alone.

    Parameters
    ----------
    comparisons : sequence of (layers_x, layers_y)
        Each as ``grid``'s two arguments.
    keys : sequence of (hashable, hashable), optional
        Per comparison, what identifies its two sides (e.g. a file and its row subset); equal
        keys must mean equal arrays. Default: every side its own.
    names : sequence of (str, str), optional
        Per comparison, as ``grid``'s ``names``.
    metrics, pairs, folds, seed, corr, rotate, device, dtype, progress, block, null, null_seed,
    rotations, null_metrics, workers
        As in :func:`grid`, for every comparison.

    Returns
    -------
    list of pandas.DataFrame
        One table per comparison, in order, each exactly ``grid``'s.
    """
    metrics = check_metrics(metrics, rotate)
    check_tests(null, rotations, rotate, null_metrics)
    check_settings(folds, corr)
    keys = list(keys or [((c, "x"), (c, "y")) for c in range(len(comparisons))])
    names = list(names or [("x", "y")] * len(comparisons))
    sides = [_Side(pair, key, name, pairs, folds, block)
             for pair, key, name in zip(comparisons, keys, names, strict=True)]
    order = _work_order(sides)
    store = _LayerStore(sides, order, folds, seed, corr, resolve_backend(device, dtype))
    tested = bool(null) or rotations > 1

    def score_pair(work: tuple[int, int, int]) -> list[list]:
        c, i, j = work
        side = sides[c]
        kx, ky = (side.key_x, i), (side.key_y, j)
        x, y = store.layer(kx), store.layer(ky)
        pair = PairMoments(x, y)
        native, rows = {}, []
        for metric in metrics:
            native[metric] = result = compare(x, y, metric, pair)
            test = (shuffle_null(x, y, result.score, null, null_seed,
                                 lambda x, y, metric=metric: compare(x, y, metric))
                    if null and (null_metrics is None or metric in null_metrics) else None)
            rows.append(_row(result, metric, i, j, side.labels_x, side.labels_y, folds,
                             tested, test))
        if rotate is not None:
            draws = [compare(rx, y, "permutation") for rx in store.rotated(kx, rotate, rotations)]
            test = (summary(native["permutation"].score, [d.score for d in draws])
                    if rotations > 1 else None)
            rows.append(_row(mean_result(draws), ROTATED, i, j, side.labels_x,
                             side.labels_y, folds, tested, test))
        store.done(kx)
        store.done(ky)
        return rows

    def run(task: tuple) -> list[list] | None:
        if task[0] == "fit":  # a layer's fold factorised ahead of its pairs
            store.layer(task[1]).folds[task[2]].ridge  # noqa: B018 (computed once, kept)
            return None
        return score_pair(task[1:])

    workers = pair_workers(store.backend.device, workers)
    keys = [((sides[c].key_x, i), (sides[c].key_y, j)) for c, i, j in order]
    tasks = (_tasks(order, keys, folds, lookahead=2 * workers)
             if workers > 1 and "linear" in metrics else [("pair", *work) for work in order])
    rows: list[list] = [[] for _ in sides]
    for task, pair_rows in zip(tasks, ordered_map(run, tasks, workers, progress,
                                                   desc="layer pairs"), strict=True):
        if task[0] == "pair":
            rows[task[1]] += pair_rows
    return [pd.DataFrame(r, columns=_columns(folds) + (NULL_COLUMNS if tested else []))
            for r in rows]


class _Side:
    """One comparison: its keys, its checked layers (qualified name → array), its pair plan."""

    def __init__(self, comparison, key, names, pairs, folds, block):
        layers_x, layers_y = comparison
        x, y = _named_layers(layers_x, names[0]), _named_layers(layers_y, names[1])
        check_pairs(pairs, len(x), len(y), names)
        for qualified, array in {**x, **y}.items():
            if len(array.shape) != 2:
                check_activations(array, qualified, folds)
        self.m = _common_rows({**x, **y})
        rows_x = _block_rows(block, len(x))
        self.plan = [(i, j) for i, j in _pair_plan(len(x), len(y), pairs) if i in rows_x]
        self.key_x, self.key_y = key
        self.x, self.y = list(x.items()), list(y.items())
        self.labels_x, self.labels_y = list(_labels(layers_x)), list(_labels(layers_y))


def connected(keys: Sequence[tuple[Hashable, Hashable]]) -> list[list[int]]:
    """Comparisons grouped so that two sharing a side key are in one group (transitively);
    groups in order of their first comparison, each in comparison order."""
    parent = list(range(len(keys)))

    def root(c: int) -> int:
        while parent[c] != c:
            c = parent[c]
        return c

    first: dict[Hashable, int] = {}
    for c, pair in enumerate(keys):
        for key in pair:
            other = first.setdefault(key, c)
            parent[root(c)] = root(other)
    groups: dict[int, list[int]] = {}
    for c in range(len(keys)):
        groups.setdefault(root(c), []).append(c)
    return sorted(groups.values(), key=min)


def _work_order(sides: list[_Side]) -> list[tuple[int, int, int]]:
    """(comparison, i, j) for every pair: group by group (:func:`connected`), and inside a
    group x layer by x layer over its comparisons, so that a shared layer's pairs come
    together. Each comparison's own pairs keep their plan order."""
    order = []
    for group in connected([(s.key_x, s.key_y) for s in sides]):
        rank = {c: r for r, c in enumerate(group)}
        order += sorted(((c, i, j) for c in group for i, j in sides[c].plan),
                        key=lambda work: (work[1], rank[work[0]], work[2]))
    return order


def _tasks(order: list[tuple[int, int, int]], keys: list[tuple[tuple, tuple]], folds: int,
           lookahead: int) -> list[tuple]:
    """The pairs of ``order`` as ``("pair", c, i, j)``, each layer's ridge factorisation of
    every fold as ``("fit", key, f)`` before its first pair, so that pairs running side by side
    do not wait on one another's factorisations. Fold 0 decides whether the layer's other folds
    try the Gram route (:attr:`LayerFold.ridge`), so its task comes ``lookahead`` pairs
    earlier than theirs, done by the time they start."""
    first: dict[tuple, int] = {}
    for p, pair_keys in enumerate(keys):
        for key in pair_keys:
            first.setdefault(key, p)
    starting: list[list[tuple]] = [[] for _ in order]
    for key, p in first.items():
        starting[p].append(key)
    tasks: list[tuple] = [("fit", key, 0) for p in range(min(lookahead, len(order)))
                          for key in starting[p]]
    for p, work in enumerate(order):
        if p + lookahead < len(order):
            tasks += [("fit", key, 0) for key in starting[p + lookahead]]
        tasks += [("fit", key, f) for key in starting[p] for f in range(1, folds)]
        tasks.append(("pair", *work))
    return tasks


class _LayerStore:
    """Prepared layers by (side key, layer index): each built on first use, validated before
    any is scored, freed after its last pair in the work order; the Haar rotations of an x
    layer that is x in several pairs drawn once."""

    def __init__(self, sides: list[_Side], order, folds: int, seed: int, corr: str,
                 backend: Backend):
        self.folds, self.seed, self.corr, self.backend = folds, seed, corr, backend
        self.left: Counter = Counter()
        self.as_x: Counter = Counter()
        self.source: dict[tuple, tuple[str, Any, int]] = {}
        for c, i, j in order:
            side = sides[c]
            kx, ky = (side.key_x, i), (side.key_y, j)
            self.left.update([kx, ky])
            self.as_x[kx] += 1
            self.source.setdefault(kx, (*side.x[i], side.m))
            self.source.setdefault(ky, (*side.y[j], side.m))
        for name, array, _ in self.source.values():
            check_activations(array, name, folds)
        self.layers: dict[tuple, Layer] = {}
        self.draws: dict[tuple, list[Layer]] = {}
        self.splits: dict[int, list] = {}
        self.lock = threading.Lock()  # pairs on several threads (:mod:`.threads`) share it

    def layer(self, key: tuple) -> Layer:
        with self.lock:
            if key not in self.layers:
                name, array, m = self.source[key]
                if m not in self.splits:
                    self.splits[m] = make_splits(m, self.folds, self.seed, self.backend)
                self.layers[key] = Layer(name, array, self.splits[m], self.corr, self.backend,
                                         self.seed)
            return self.layers[key]

    def rotated(self, key: tuple, seed: int, draws: int) -> Iterable[Layer]:
        """The x layer ``key`` after Haar rotations seed … seed + draws − 1, kept for its
        other pairs only where it has some (else one at a time)."""
        layer = self.layer(key)
        if self.as_x[key] == 1:
            return (layer.rotated(seed + k) for k in range(draws))
        with self.lock:
            if key not in self.draws:
                self.draws[key] = [layer.rotated(seed + k) for k in range(draws)]
            return self.draws[key]

    def done(self, key: tuple) -> None:
        """One pair of ``key`` scored; after its last, free it."""
        with self.lock:
            self.left[key] -= 1
            if self.left[key] == 0:
                self.layers.pop(key).release()
                self.draws.pop(key, None)


def check_tests(null: int, rotations: int, rotate: int | None,
                null_metrics: Sequence[str] | None = None) -> None:
    """Null draws are a count (0: none) for known metrics; several rotations need a rotation
    seed."""
    unknown = sorted(set(null_metrics or ()) - set(METRICS))
    if unknown:
        raise InputError(f"null metrics: unknown {', '.join(unknown)}; choose from "
                         f"{', '.join(METRICS)}")
    if null < 0:
        raise InputError(f"null: {null} shuffles; give 0 (none) or more")
    if rotations < 1:
        raise InputError(f"rotations: {rotations}; give 1 or more Haar draws")
    if rotations > 1 and rotate is None:
        raise InputError("rotations: several Haar draws need a rotation seed (--rotate)")


def _block_rows(block: tuple[int, int] | None, nx: int) -> range:
    if block is None:
        return range(nx)
    start, stop = block
    if not 0 <= start < stop <= nx:
        raise InputError(f"block {tuple(block)} is not a non-empty range of the {nx} x layers")
    return range(start, stop)


def _pick(named: Mapping[str, Any], indices) -> dict[str, Any]:
    items = list(named.items())
    return dict(items[i] for i in indices)


def _pair_plan(nx: int, ny: int, pairs: str) -> list[tuple[int, int]]:
    if pairs == "diagonal":
        return [(i, i) for i in range(nx)]
    return [(i, j) for i in range(nx) for j in range(ny)]


def _labels(layers) -> list[str]:
    if isinstance(layers, Mapping):
        return [str(k) for k in layers]
    return [f"layer{i}" for i in range(len(layers))]


def _named_layers(layers, side: str) -> dict[str, Any]:
    """Qualified names (``side:layer``) for error messages, in network order."""
    if not len(layers):
        raise InputError(f"{side}: holds no layers")
    arrays = layers.values() if isinstance(layers, Mapping) else layers
    return {f"{side}:{label}": a for label, a in zip(_labels(layers), arrays, strict=True)}


def _columns(folds: int) -> list[str]:
    return ["layer_x", "layer_y", "index_x", "index_y", "depth_x", "depth_y", "metric", "score",
            "score_xy", "score_yx", "x_units", "y_units", "x_dropped", "y_dropped", "corr",
            "solver"] + [f"fold_{k}" for k in range(folds)]


def _depth(index: int, count: int) -> float:
    """Normalised depth: layer index / (number of layers − 1)."""
    return index / (count - 1) if count > 1 else 0.0


def _row(result: AlignmentResult, metric: str, i: int, j: int, labels_x, labels_y,
         folds: int, tested: bool = False, test: dict | None = None) -> list:
    fold_values = list(result.fold_scores) or [float("nan")] * folds
    row = [labels_x[i], labels_y[j], i, j, _depth(i, len(labels_x)), _depth(j, len(labels_y)),
           metric, result.score,
           _nan_if_none(result.score_xy), _nan_if_none(result.score_yx), result.x_units,
           result.y_units, result.x_dropped, result.y_dropped, result.corr,
           result.solver] + fold_values
    if tested:
        row += [(test or {}).get(column, float("nan")) for column in NULL_COLUMNS]
    return row


def _nan_if_none(value: float | None) -> float:
    return float("nan") if value is None else value
