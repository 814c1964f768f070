"""The command-line contract: ``convergent score`` and ``convergent grid``."""

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from convergent.cli import main
from convergent.io import read_layers, write_layers
from convergent.metrics import METRICS, score

from conftest import structured_pair
from plain import plain_score

SCORE_KEYS = {"metric", "score", "folds", "score_xy", "score_yx", "x_units", "y_units",
              "x_dropped", "y_dropped", "solver"}
GRID_COLUMNS = {"layer_x", "layer_y", "metric", "score", "score_xy", "score_yx", "x_units",
                "y_units", "solver"}


@pytest.fixture
def npy_pair(tmp_path, rng):
    X, Y = structured_pair(rng, 120, 10, 7, dead=1)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "Y.npy", Y)
    return tmp_path / "X.npy", tmp_path / "Y.npy", X, Y


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("metric", METRICS)
def test_score_prints_the_contract_json(capsys, npy_pair, metric):
    x, y, X, Y = npy_pair
    out = run_json(capsys, ["score", str(x), str(y), "--metric", metric, "--folds", "4",
                            "--seed", "3", "--corr", "spearman"])
    assert SCORE_KEYS <= set(out)
    ref = plain_score(X, Y, metric, folds=4, seed=3, corr="spearman")
    assert out["score"] == pytest.approx(ref["score"], abs=1e-6)
    assert out["folds"] == pytest.approx(ref["folds"], abs=1e-6)
    assert (out["x_dropped"], out["y_dropped"]) == (1, 1)
    if metric in ("linear", "procrustes"):
        assert out["score_xy"] == pytest.approx(ref["score_xy"], abs=1e-6)
    else:
        assert out["score_xy"] is None and out["score_yx"] is None


def test_score_rotate(capsys, npy_pair):
    x, y, X, Y = npy_pair
    X = X[:, :7]
    np.save(x, X)
    out = run_json(capsys, ["score", str(x), str(y), "--metric", "permutation", "--rotate", "4"])
    native = score(X, Y, metric="permutation").score
    assert out["native"] == pytest.approx(native) and out["score"] == pytest.approx(native)
    assert out["change_pct"] == pytest.approx(
        (out["native"] - out["rotated"]) / out["rotated"] * 100)


@pytest.fixture
def activation_files(tmp_path, rng):
    latent = rng.standard_normal((100, 4))
    A = {f"conv{i}": np.maximum(latent @ rng.standard_normal((4, w)), 0).astype(np.float32)
         for i, w in zip((1, 2, 10), (5, 9, 6), strict=True)}
    B = {f"block{i}": np.tanh(latent @ rng.standard_normal((4, w))).astype(np.float32)
         for i, w in enumerate((7, 4, 8))}
    ids = [f"img{i}" for i in range(100)]
    write_layers(tmp_path / "A.safetensors", A, ids)
    write_layers(tmp_path / "B.safetensors", B, ids)
    return tmp_path, A, B


@pytest.mark.parametrize("pairs,n_pairs", [("all", 9), ("diagonal", 3)])
def test_grid_writes_one_row_per_pair_and_metric(activation_files, pairs, n_pairs):
    d, A, B = activation_files
    out = d / "out" / "grid.parquet"
    assert main(["grid", str(d / "A.safetensors"), str(d / "B.safetensors"), "--metrics",
                 "linear,procrustes,permutation", "--pairs", pairs, "--folds", "3",
                 "--out", str(out)]) == 0
    table = pd.read_parquet(out)
    assert GRID_COLUMNS | {"fold_0", "fold_1", "fold_2"} <= set(table.columns)
    assert len(table) == n_pairs * 3
    assert list(dict.fromkeys(table.layer_x)) == ["conv1", "conv2", "conv10"]  # network order
    row = table[(table.layer_x == "conv2") & (table.layer_y == "block1")
                & (table.metric == "procrustes")]
    if pairs == "all":
        expected = score(A["conv2"], B["block1"], metric="procrustes", folds=3).score
        assert row.score.item() == pytest.approx(expected, abs=1e-12)
    assert not list(out.parent.glob("*.partial"))


def test_grid_scores_under_each_correlation_as_separate_runs_do(activation_files):
    d, _, _ = activation_files
    files = [str(d / "A.safetensors"), str(d / "B.safetensors")]
    common = ["--metrics", "procrustes,permutation", "--pairs", "diagonal", "--folds", "3"]
    tables = {}
    for corr in ("pearson,spearman", "spearman", "pearson"):
        out = d / f"{corr}.parquet"
        assert main(["grid", *files, *common, "--corr", corr, "--out", str(out)]) == 0
        tables[corr] = pd.read_parquet(out)
    both = tables["pearson,spearman"]
    assert list(both["corr"].unique()) == ["pearson", "spearman"]
    for corr in ("pearson", "spearman"):
        alone = both[both["corr"] == corr].reset_index(drop=True)
        pd.testing.assert_frame_equal(alone, tables[corr])
    assert not tables["pearson"].score.equals(tables["spearman"].score)


def test_grid_at_several_points_equals_a_grid_per_point(activation_files, rng):
    """An align task: one table of every point, each labelled, a matched point on a subset
    as large as another file's stimulus set."""
    d, A, B = activation_files
    files = [str(d / "A.safetensors"), str(d / "B.safetensors")]
    ids = [f"img{i}" for i in range(30)]
    write_layers(d / "small.safetensors", {"conv1": rng.standard_normal((30, 3))}, ids)
    common = ["--metrics", "procrustes,cka", "--pairs", "diagonal", "--folds", "3",
              "--subset-seed", "4", "--label", "analysis=ood"]
    points = [{"a": files[0], "b": files[1], "labels": {"epoch": 2, "stimset": "whole"}},
              {"a": files[0], "b": files[1], "labels": {"epoch": 2, "stimset": "test@small"},
               "subset_like": str(d / "small.safetensors")}]
    out = d / "points.parquet"
    assert main(["grid", "--points", json.dumps(points), *common, "--out", str(out)]) == 0
    table = pd.read_parquet(out)
    assert list(table.stimset.unique()) == ["whole", "test@small"]
    assert (table.epoch == 2).all() and (table.analysis == "ood").all()
    matched = ["--subset-like", points[1]["subset_like"]]
    for point, subset in ((points[0], []), (points[1], matched)):
        alone = d / "alone.parquet"
        assert main(["grid", *files, *common, *subset, "--out", str(alone)]) == 0
        mine = table[table.stimset == point["labels"]["stimset"]].reset_index(drop=True)
        expected = pd.read_parquet(alone)
        pd.testing.assert_series_equal(mine.score, expected.score)
    whole, matched = (table[table.stimset == s].score.to_numpy() for s in ("whole", "test@small"))
    assert not np.allclose(whole, matched)  # 30 of the 100 stimuli


@pytest.mark.parametrize("argv,message", [
    (["--points", "[]"], "non-empty JSON list"),
    (["--points", '[{"a": "x"}]'], r"--points\[0\]: expected an object with a, b"),
    ([], "two activation files A B, or --points"),
])
def test_grid_names_a_bad_set_of_points(activation_files, capsys, argv, message):
    d, _, _ = activation_files
    code = main(["grid", *argv, "--out", str(d / "x.parquet")])
    assert code != 0 and re.search(message, capsys.readouterr().err)
    assert not (d / "x.parquet").exists()


def test_grid_names_an_unknown_correlation(activation_files, capsys):
    d, _, _ = activation_files
    code = main(["grid", str(d / "A.safetensors"), str(d / "B.safetensors"), "--corr",
                 "pearson,kendall", "--out", str(d / "x.parquet")])
    assert code != 0 and "kendall: not pearson or spearman" in capsys.readouterr().err
    assert not (d / "x.parquet").exists()


def test_grid_rotate_adds_rotated_rows(activation_files):
    d, _, _ = activation_files
    out = d / "rot.csv"
    assert main(["grid", str(d / "A.safetensors"), str(d / "B.safetensors"), "--metrics",
                 "permutation", "--pairs", "diagonal", "--rotate", "1", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert sorted(table.metric.unique()) == ["permutation", "permutation_rotated"]


def test_grid_layer_order_without_metadata_is_natural(tmp_path):
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    save_file({name: rng.standard_normal((20, 3)) for name in ("l10", "l2", "l1")},
              str(tmp_path / "plain.safetensors"))
    layers, ids = read_layers(tmp_path / "plain.safetensors")
    assert list(layers) == ["l1", "l2", "l10"] and ids is None


def test_progress_bar_absent_when_piped(activation_files):
    d, _, _ = activation_files
    done = subprocess.run(
        [sys.executable, "-m", "convergent", "grid", str(d / "A.safetensors"),
         str(d / "B.safetensors"), "--metrics", "cka", "--out", str(d / "piped.parquet")],
        capture_output=True, text=True, check=True)
    assert done.stdout == "" and done.stderr == ""
