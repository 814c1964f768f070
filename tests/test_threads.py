"""Layer pairs on several threads: the same tables as one at a time, prepared state computed
once, errors raised, the factorisations scheduled ahead of their pairs."""

import threading
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convergent.metrics import grid, grid_many
from convergent.metrics.engine import _tasks
from convergent.metrics.threads import computed_once, ordered_map, pair_workers
from test_grid_many import SEED_PAIRS, networks


class _Slow:
    def __init__(self):
        self.calls = 0

    @computed_once
    def value(self):
        self.calls += 1
        time.sleep(0.05)  # long enough for every thread to ask while it is computed
        return object()


def test_a_property_asked_for_by_many_threads_at_once_is_computed_once():
    slow = _Slow()
    start = threading.Barrier(8)
    seen = []

    def ask():
        start.wait()
        seen.append(slow.value)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert slow.calls == 1 and len(seen) == 8 and all(v is seen[0] for v in seen)


def test_ordered_map_keeps_the_order_and_raises_the_first_error():
    def work(k):
        time.sleep(0.01 * (k % 3))  # later items finish first
        return k * k

    assert ordered_map(work, list(range(10)), workers=3) == [k * k for k in range(10)]
    started = []

    def failing(k):
        started.append(k)
        if k == 2:
            raise ValueError("item 2")
        time.sleep(0.02)
        return k

    with pytest.raises(ValueError, match="item 2"):
        ordered_map(failing, list(range(200)), workers=2)
    assert len(started) < 200  # what had not started when it failed never does


def test_the_default_is_a_pair_per_torch_thread_on_the_cpu_and_one_on_a_gpu():
    import torch

    assert pair_workers(torch.device("cpu"), None) == torch.get_num_threads()
    assert pair_workers(torch.device("cuda"), None) == 1
    assert pair_workers(torch.device("cpu"), 3) == 3


@pytest.mark.parametrize("options", [
    dict(metrics=["linear", "procrustes", "permutation", "softmatch", "cka"], pairs="all"),
    dict(metrics=["linear", "cka"], pairs="all", null=3),
    dict(metrics=["permutation", "linear"], pairs="diagonal", rotate=7, rotations=3),
])
def test_pairs_on_two_threads_give_the_tables_of_one_at_a_time(rng, options):
    """Two networks of three layers, and grid_many over seeds sharing networks: every score
    as one pair at a time gives it (to rounding: a product on one thread may sum in another
    order), every penalty the same."""
    a, b, c = networks(rng, 3, widths=(7, 12, 9), m=60)
    one = grid(a, b, folds=3, seed=1, workers=1, **options)
    two = grid(a, b, folds=3, seed=1, workers=2, **options)
    pd.testing.assert_frame_equal(one, two, rtol=0, atol=1e-12)
    comparisons = [(a, b), (a, c), (b, c)]
    keys = [(s, t) for s, t in SEED_PAIRS]
    for x, y in zip(grid_many(comparisons, keys=keys, folds=3, workers=1, **options),
                    grid_many(comparisons, keys=keys, folds=3, workers=3, **options),
                    strict=True):
        pd.testing.assert_frame_equal(x, y, rtol=0, atol=1e-12)


def test_linear_penalties_do_not_depend_on_the_threads(rng):
    """The chosen penalties, fold by fold, are those of one pair at a time (the factors'
    weighted Grams, finished α by α while pairs share them, end the same)."""
    from convergent.metrics.backend import resolve_backend
    from convergent.metrics.engine import compare
    from convergent.metrics.layer import Layer, make_splits

    a, b = networks(rng, 2, widths=(30, 24, 18), m=90)
    backend = resolve_backend("cpu", "float64")
    splits = make_splits(90, 3, 0, backend)

    def notes(workers):
        xs = [Layer(k, v, splits, "pearson", backend) for k, v in a.items()]
        ys = [Layer(k, v, splits, "pearson", backend) for k, v in b.items()]
        pairs = [(x, y) for x in xs for y in ys]
        return ordered_map(lambda p: compare(*p, "linear").notes, pairs, workers)

    assert notes(1) == notes(2)


@given(st.integers(1, 4), st.integers(1, 5), st.integers(2, 5), st.integers(0, 6),
       st.sampled_from(["all", "diagonal"]))
def test_every_fold_is_factorised_once_before_its_layers_first_pair(nx, ny, folds, lookahead,
                                                                     pairs):
    order = [(0, i, j) for i in range(nx) for j in range(ny) if pairs == "all" or i == j]
    keys = [(("x", i), ("y", j)) for _, i, j in order]
    tasks = _tasks(order, keys, folds, lookahead)
    assert [t[1:] for t in tasks if t[0] == "pair"] == order
    fits = [t[1:] for t in tasks if t[0] == "fit"]
    layers = {k for pair_keys in keys for k in pair_keys}
    assert sorted(fits) == sorted((k, f) for k in layers for f in range(folds))
    position = {t[1:]: p for p, t in enumerate(tasks)}
    pair_position = [p for p, t in enumerate(tasks) if t[0] == "pair"]
    for key in layers:
        first_pair = min(q for q, pair_keys in enumerate(keys) if key in pair_keys)
        assert all(position[(key, f)] < pair_position[first_pair] for f in range(folds))
        # fold 0 comes `lookahead` pairs earlier than the other folds (where there are)
        assert position[(key, 0)] < min(position[(key, f)] for f in range(1, folds))
        if first_pair >= lookahead:
            assert position[(key, 0)] < pair_position[first_pair - lookahead]


def test_a_layers_pairs_on_threads_free_it_after_the_last(rng, monkeypatch):
    """With pairs on two threads, each layer is still freed once, after its last pair."""
    from convergent.metrics import engine

    released = []
    original = engine.Layer.release
    monkeypatch.setattr(engine.Layer, "release",
                        lambda self: (released.append(self.name), original(self))[1])
    a, b = networks(rng, 2)
    table = grid(a, b, metrics=["linear"], folds=3, workers=2)
    assert len(table) == 9
    assert sorted(released) == sorted([f"x:{k}" for k in a] + [f"y:{k}" for k in b])
    assert np.isfinite(table["score"]).all()
