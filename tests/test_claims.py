"""The study's claims as tests (convergent.analysis.claims): Holm's procedure against a plain
adjusted-p implementation, the parametric p's calibration, and the per-layer tests on engine
grids whose truth is known."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from convergent.analysis.claims import (
    TEST_COLUMNS,
    chance_test,
    claim_counts,
    holm,
    parametric_p,
    rotation_test,
)
from convergent.errors import InputError
from convergent.metrics import grid


def holm_adjusted(p, alpha=0.05):
    """Plain reference: Holm-adjusted p-values, p_(k) · (m − k) made monotone, against alpha."""
    order = np.argsort(p, kind="stable")
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for k, index in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[index]))
        adjusted[index] = running
    return adjusted <= alpha


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_holm_agrees_with_the_adjusted_p_values(p):
    assert (holm(p) == holm_adjusted(np.asarray(p))).all()


def test_holm_stops_at_the_first_p_above_its_threshold():
    # thresholds 0.05/4, 0.05/3, 0.05/2, 0.05: 0.001 and 0.01 pass, 0.03 fails, so 0.04 (below
    # its own 0.05) is not reached
    assert list(holm([0.03, 0.01, 0.04, 0.001])) == [False, True, False, True]
    assert list(holm([0.2, np.nan, 0.001])) == [False, False, True]


def test_the_parametric_p_is_calibrated_under_the_null():
    """A score drawn from the same normal law as its K null draws gets a uniform p (the
    Student t prediction test is exact there)."""
    rng = np.random.default_rng(0)
    draws = rng.normal(0.3, 0.05, size=(4000, 11))
    null, score = draws[:, :10], draws[:, 10]
    p = parametric_p(score, null.mean(1), null.std(1, ddof=1), 10)
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert parametric_p(0.5, 0.5, 0.0, 10) == 1.0 and parametric_p(0.6, 0.5, 0.0, 10) == 0.0
    assert np.isnan(parametric_p(0.5, 0.4, np.nan, 1))


def _rows(table, analysis, model="net", seeds=(0, 1), epoch=3):
    return table.assign(analysis=analysis, model_x=model, seed_x=seeds[0], model_y=model,
                        seed_y=seeds[1], epoch=epoch, stimset="test")


def _sparse_codes(seed, m=300, units=(12, 12, 12)):
    """Layers of sparse ReLU codes: per layer, a shared latent read by two networks whose units
    share axes (each unit a rectified latent coordinate, independent noise per network)."""
    rng = np.random.default_rng(seed)
    latents = [rng.standard_normal((m, n)) for n in units]
    return [[np.maximum(z + 0.3 * rng.standard_normal(z.shape), 0) for z in latents]
            for _ in range(2)]


def test_related_layers_beat_the_shuffle_null_and_lose_score_under_rotation():
    x, y = _sparse_codes(0)
    independent = np.random.default_rng(9).standard_normal((300, 12))
    seeds = grid(x + [independent], y + [np.random.default_rng(8).standard_normal((300, 12))],
                 metrics=["permutation"], pairs="diagonal", folds=3, null=19)
    rotation = grid(x, y, metrics=["permutation"], pairs="diagonal", folds=3, rotate=0,
                    rotations=19)
    alignment = pd.concat([_rows(seeds, "seeds"), _rows(rotation, "rotation")])
    chance = chance_test(alignment)
    assert list(chance.columns) == TEST_COLUMNS
    assert list(chance.holm) == [True, True, True, False]  # the independent pair is chance
    assert (chance.p_value[:3] == 1 / 20).all()
    rotated = rotation_test(alignment)
    assert rotated.holm.all() and (rotated.null_mean < rotated.score).all()
    counts = claim_counts(rotated)
    assert counts.to_dict("records") == [dict(model="net", end="trained", significant=3,
                                              layers=3)]


def test_isotropic_codes_related_by_a_rotation_show_no_privileged_basis():
    rng = np.random.default_rng(1)
    x = [rng.standard_normal((300, 10)) for _ in range(3)]
    turns = [stats.special_ortho_group.rvs(10, random_state=k) for k in range(3)]
    y = [layer @ q + 0.3 * rng.standard_normal((300, 10)) for layer, q in zip(x, turns,
                                                                                strict=True)]
    rotation = grid(x, y, metrics=["permutation"], pairs="diagonal", folds=3, rotate=0,
                    rotations=19)
    rotated = rotation_test(_rows(rotation, "rotation"))
    assert not rotated.holm.any()


def test_a_seed_pair_that_fails_fails_its_layer():
    """A layer is above chance only if every seed pair is (the largest p counts)."""
    x, y = _sparse_codes(2, units=(12,))
    good = grid(x, y, metrics=["permutation"], pairs="diagonal", folds=3, null=19)
    noise = np.random.default_rng(3).standard_normal((300, 12))
    bad = grid(x, [noise], metrics=["permutation"], pairs="diagonal", folds=3, null=19)
    table = chance_test(pd.concat([_rows(good, "seeds"), _rows(bad, "seeds", seeds=(0, 2))]))
    assert table.pairs.tolist() == [2] and not table.holm.any()


def test_no_draws_is_an_error_that_names_the_setting():
    x, y = _sparse_codes(4, units=(8,))
    plain = grid(x, y, metrics=["permutation"], pairs="diagonal", folds=3)
    with pytest.raises(InputError, match="align.null_draws"):
        chance_test(_rows(plain, "seeds"))
