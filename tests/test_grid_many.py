"""grid_many: several comparisons that share networks, each shared layer prepared once, every
table exactly the one grid gives for its comparison alone."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convergent.errors import InputError
from convergent.metrics import engine, grid, grid_many, layer
from convergent.metrics.engine import connected

from conftest import structured_pair


def networks(rng, count: int, widths=(7, 5, 9), m: int = 40) -> list[dict]:
    """``count`` networks of three ReLU layers reading one latent code (seeds of a model)."""
    latent = rng.standard_normal((m, 4))
    nets = []
    for _ in range(count):
        nets.append({f"layer{k}": np.maximum(latent @ rng.standard_normal((4, n))
                                             + 0.5 * rng.standard_normal((m, n)), 0)
                     for k, n in enumerate(widths)})
    return nets


SEED_PAIRS = [(0, 1), (0, 2), (1, 2)]


@pytest.mark.parametrize("options", [
    dict(metrics=["linear", "procrustes", "permutation", "softmatch", "cka"], pairs="diagonal"),
    dict(metrics=["permutation", "cka"], pairs="diagonal", null=3, null_metrics=["cka"]),
    dict(metrics=["permutation"], pairs="diagonal", rotate=7, rotations=3),
    dict(metrics=["linear", "permutation"], pairs="all", rotate=2),
])
def test_each_table_is_the_grid_of_its_comparison_alone(rng, options):
    """Seeds 0-1, 0-2, 1-2 at two checkpoints: the tables, in order, equal one grid each."""
    checkpoints = [networks(rng, 3), networks(rng, 3)]
    comparisons, keys = [], []
    for a, b in SEED_PAIRS:
        for epoch, nets in enumerate(checkpoints):
            comparisons.append((nets[a], nets[b]))
            keys.append(((a, epoch), (b, epoch)))
    tables = grid_many(comparisons, keys=keys, folds=3, seed=1, **options)
    assert len(tables) == len(comparisons)
    for (x, y), table in zip(comparisons, tables, strict=True):
        pd.testing.assert_frame_equal(table, grid(x, y, folds=3, seed=1, **options))


class Counting(engine.Layer):
    built = 0

    def __init__(self, *args, **kwargs):
        Counting.built += 1
        super().__init__(*args, **kwargs)


@pytest.mark.parametrize("pairs", ["diagonal", "all"])
def test_a_shared_layer_is_prepared_once(rng, monkeypatch, pairs):
    monkeypatch.setattr(engine, "Layer", Counting)
    nets = networks(rng, 3)
    comparisons = [(nets[a], nets[b]) for a, b in SEED_PAIRS]
    Counting.built = 0
    grid_many(comparisons, keys=SEED_PAIRS, metrics=["linear"], pairs=pairs, folds=3)
    assert Counting.built == 3 * 3  # three networks of three layers
    Counting.built = 0
    grid_many(comparisons, metrics=["linear"], pairs=pairs, folds=3)  # no keys: no sharing
    assert Counting.built == 3 * 2 * 3


def test_a_shared_x_layer_draws_its_rotations_once(rng, monkeypatch):
    """Network 0 is x in two comparisons: its layers' five Haar draws are made once."""
    monkeypatch.setattr(engine, "Layer", Counting)
    monkeypatch.setattr(layer, "Layer", Counting)  # where Layer.rotated builds its result
    nets = networks(rng, 3)
    Counting.built = 0
    grid_many([(nets[0], nets[1]), (nets[0], nets[2])], keys=[(0, 1), (0, 2)],
              metrics=["permutation"], pairs="diagonal", folds=3, rotate=0, rotations=5)
    assert Counting.built == 3 * 3 + 3 * 5


def test_different_row_counts_are_separate_comparisons(rng):
    """Keys are the caller's: a file and its row subset; a subset is another side."""
    X, Y = structured_pair(rng, 50, 6, 4)
    small = [X[:20]], [Y[:20]]
    tables = grid_many([([X], [Y]), small], keys=[(("a", None), ("b", None)),
                                                 (("a", 20), ("b", 20))],
                       metrics=["procrustes"], folds=3)
    pd.testing.assert_frame_equal(tables[1], grid(*small, metrics=["procrustes"], folds=3))
    assert tables[0].score[0] != tables[1].score[0]


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=12))
def test_connected_groups_are_the_components_of_shared_keys(keys):
    groups = connected(keys)
    assert sorted(c for g in groups for c in g) == list(range(len(keys)))
    assert all(g == sorted(g) for g in groups)
    assert [g[0] for g in groups] == sorted(g[0] for g in groups)
    of = {c: n for n, g in enumerate(groups) for c in g}
    for c, pair in enumerate(keys):  # a shared key means one group
        for d, other in enumerate(keys):
            if set(pair) & set(other):
                assert of[c] == of[d]
    for g in groups:  # and a group is connected: grown from its first member, it is whole
        reached, frontier = {g[0]}, [g[0]]
        while frontier:
            c = frontier.pop()
            for d in g:
                if d not in reached and set(keys[c]) & set(keys[d]):
                    reached.add(d)
                    frontier.append(d)
        assert reached == set(g)


def test_grid_many_refuses_what_grid_refuses(rng):
    nets = networks(rng, 2)
    bad = {**nets[1], "layer1": np.full((40, 5), np.nan)}
    with pytest.raises(InputError, match="NaN"):
        grid_many([(nets[0], nets[1]), (nets[0], bad)], keys=[(0, 1), (0, 2)],
                  metrics=["cka"], pairs="diagonal", folds=3)
    with pytest.raises(InputError, match="diagonal"):
        grid_many([(nets[0], {"only": nets[1]["layer0"]})], metrics=["cka"], pairs="diagonal")
