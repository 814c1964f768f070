"""Chance and significance on data whose truth is known: the stimulus-shuffle null gives related
layers a small p and independent ones a uniform p; the rotation test over K Haar draws finds the
privileged axes of sparse ReLU codes and none in isotropic Gaussian codes."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from convergent.cli import main
from convergent.errors import InputError
from convergent.io import read_pair, stimulus_count, subset_rows, write_layers
from convergent.metrics import grid, haar_rotation
from convergent.metrics.significance import permutations, summary


def test_the_p_value_counts_the_null_at_or_above_the_score():
    assert summary(0.5, [0.1, 0.2, 0.3]) == pytest.approx(
        {"null_mean": 0.2, "null_sd": 0.1, "null_draws": 3, "p_value": 0.25})
    assert summary(0.2, [0.1, 0.2, 0.3])["p_value"] == 0.75  # ties count against the score
    assert summary(float("nan"), [0.1])["p_value"] == 1.0
    first, again = permutations(10, 3, 7), permutations(10, 3, 7)
    assert all((a == b).all() for a, b in zip(first, again, strict=True))
    assert len({tuple(p) for p in first}) == 3


def test_related_layers_beat_every_shuffle(rng):
    latent = rng.standard_normal((80, 4))
    X = latent @ rng.standard_normal((4, 6)) + 0.3 * rng.standard_normal((80, 6))
    Y = latent @ rng.standard_normal((4, 5)) + 0.3 * rng.standard_normal((80, 5))
    table = grid([X], [Y], metrics=["procrustes", "linear", "cka"], folds=3, null=19)
    assert (table.p_value == 1 / 20).all()
    assert (table.score > table.null_mean + 3 * table.null_sd).all()


def test_independent_layers_have_uniform_p_values():
    """Over many independent pairs the p-values follow the uniform law (a KS test)."""
    rng = np.random.default_rng(777)
    pairs = [(rng.standard_normal((30, 4)), rng.standard_normal((30, 4))) for _ in range(100)]
    p_values = [grid([X], [Y], metrics=["procrustes"], folds=2, null=19, null_seed=k)
                .p_value.iloc[0] for k, (X, Y) in enumerate(pairs)]
    # discrete uniform on {1/20, …, 1}, at most 1/20 from the continuous law; the KS critical
    # value for 100 draws at the 1 % level is 0.163
    assert stats.kstest(p_values, "uniform").statistic < 0.163 + 0.05
    assert 0.4 < np.mean(p_values) < 0.65


def test_sparse_relu_codes_on_shared_axes_lose_score_under_rotation(rng):
    code = np.maximum(rng.standard_normal((200, 12)) - 1.0, 0)  # sparse, axis-aligned
    X = code + 0.05 * rng.standard_normal(code.shape)
    Y = code + 0.05 * rng.standard_normal(code.shape)
    table = grid([X], [Y], metrics=["permutation"], folds=3, rotate=0, rotations=20)
    native = table[table.metric == "permutation"].iloc[0]
    rotated = table[table.metric == "permutation_rotated"].iloc[0]
    assert native.score > rotated.score + 0.2
    assert rotated.p_value == 1 / 21 and rotated.null_mean == rotated.score
    assert rotated.null_sd > 0


def test_isotropic_gaussian_codes_related_by_a_rotation_have_no_privileged_axes(rng):
    p_values = []
    for seed in range(12):
        X = np.random.default_rng(seed).standard_normal((120, 8))
        Y = X @ haar_rotation(8, 100 + seed) + 0.1 * np.random.default_rng(seed).standard_normal(
            (120, 8))
        table = grid([X], [Y], metrics=["permutation"], folds=3, rotate=seed * 50,
                     rotations=19)
        p_values.append(table[table.metric == "permutation_rotated"].p_value.iloc[0])
    assert sum(p <= 0.05 for p in p_values) <= 2  # as often as chance would have it
    assert np.mean(p_values) > 0.3


def test_one_rotation_keeps_the_single_draw_table(rng):
    X, Y = rng.standard_normal((40, 5)), rng.standard_normal((40, 5))
    single = grid([X], [Y], metrics=["permutation"], folds=2, rotate=3)
    assert "p_value" not in single.columns
    draws = grid([X], [Y], metrics=["permutation"], folds=2, rotate=3, rotations=1, null=0)
    pd.testing.assert_frame_equal(single, draws)


def test_bad_test_settings_are_input_errors(rng):
    X = rng.standard_normal((30, 4))
    with pytest.raises(InputError, match="need a rotation seed"):
        grid([X], [X], metrics=["permutation"], folds=3, rotations=5)
    with pytest.raises(InputError, match="null: -1 shuffles"):
        grid([X], [X], folds=3, null=-1)


def test_grid_null_and_rotations_from_the_command_line(tmp_path, rng, capsys):
    latent = rng.standard_normal((60, 3))
    ids = [f"s{i}" for i in range(60)]
    write_layers(tmp_path / "a.safetensors",
                 {"l0": latent @ rng.standard_normal((3, 5)), "l1": rng.standard_normal((60, 4))},
                 ids)
    write_layers(tmp_path / "b.safetensors",
                 {"l0": latent @ rng.standard_normal((3, 5)), "l1": rng.standard_normal((60, 4))},
                 ids)
    out = tmp_path / "t.parquet"
    assert main(["grid", str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors"),
                 "--metrics", "procrustes,permutation", "--pairs", "diagonal", "--folds", "3",
                 "--null", "50", "--rotate", "1", "--rotations", "20", "--out", str(out)]) == 0
    table = pd.read_parquet(out)
    assert {"null_mean", "null_sd", "p_value"} <= set(table.columns)
    related = table[(table.index_x == 0) & (table.metric == "procrustes")].iloc[0]
    assert related.p_value == pytest.approx(1 / 51)
    rotated = table[table.metric == "permutation_rotated"]
    assert len(rotated) == 2 and rotated.null_sd.notna().all()
    assert main(["grid", str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors"),
                 "--rotations", "3", "--metrics", "permutation", "--out",
                 str(tmp_path / "bad.parquet")]) == 2
    assert "need a rotation seed" in capsys.readouterr().err
    assert not (tmp_path / "bad.parquet").exists()


def test_null_metrics_pick_which_rows_are_tested(rng):
    latent = rng.standard_normal((40, 3))
    X, Y = latent @ rng.standard_normal((3, 4)), latent @ rng.standard_normal((3, 4))
    table = grid([X], [Y], metrics=["linear", "procrustes"], folds=2, null=5,
                 null_metrics=["procrustes"])
    tested = table.set_index("metric").null_draws
    assert tested["procrustes"] == 5 and np.isnan(tested["linear"])
    with pytest.raises(InputError, match="null metrics: unknown ridge"):
        grid([X], [Y], folds=2, null=5, null_metrics=["ridge"])


def test_a_subset_is_seeded_sorted_and_the_same_on_both_sides(tmp_path, rng):
    rows = subset_rows(100, 30, seed=4)
    assert len(set(rows)) == 30 and (np.diff(rows) > 0).all()
    assert (subset_rows(100, 30, seed=4) == rows).all()
    assert not (subset_rows(100, 30, seed=5) == rows).all()
    assert (subset_rows(20, 30, seed=4) == np.arange(20)).all()  # not smaller: every row
    ids = [f"s{i}" for i in range(100)]
    X = rng.standard_normal((100, 4))
    write_layers(tmp_path / "a.safetensors", {"l0": X}, ids)
    write_layers(tmp_path / "b.safetensors", {"l0": X + 1}, ids)
    write_layers(tmp_path / "c.safetensors", {"l0": X[:30]}, ids[:30])
    assert stimulus_count(tmp_path / "c.safetensors") == 30
    a, b = read_pair(tmp_path / "a.safetensors", tmp_path / "b.safetensors", 30, 4)
    assert np.allclose(a["l0"].numpy(), X[rows]) and np.allclose(b["l0"].numpy(), X[rows] + 1)


def test_grid_on_a_subset_as_large_as_another_set_from_the_command_line(tmp_path, rng):
    ids = [f"s{i}" for i in range(90)]
    latent = rng.standard_normal((90, 3))
    for name in "ab":
        write_layers(tmp_path / f"{name}.safetensors",
                     {"l0": latent @ rng.standard_normal((3, 5))}, ids)
    write_layers(tmp_path / "ood.safetensors", {"l0": rng.standard_normal((40, 5))}, ids[:40])
    out = tmp_path / "t.parquet"
    args = ["grid", str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors"),
            "--folds", "2", "--out", str(out)]
    assert main(args + ["--subset-like", str(tmp_path / "ood.safetensors")]) == 0
    on_subset = pd.read_parquet(out)
    rows = subset_rows(90, 40, seed=0)
    a, b = read_pair(tmp_path / "a.safetensors", tmp_path / "b.safetensors")
    expected = grid({"l0": a["l0"][rows]}, {"l0": b["l0"][rows]}, folds=2)
    assert on_subset.score.iloc[0] == pytest.approx(expected.score.iloc[0])
    assert main(args) == 0
    assert pd.read_parquet(out).score.iloc[0] != pytest.approx(expected.score.iloc[0])
