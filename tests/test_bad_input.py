"""Bad input: one line naming the input and the problem, exit code 2, nothing written."""

import numpy as np
import pytest

from convergent.cli import main
from convergent.errors import InputError
from convergent.io import write_layers
from convergent.metrics import grid, score


@pytest.fixture
def good(rng):
    return rng.standard_normal((50, 6)), rng.standard_normal((50, 4))


@pytest.mark.parametrize("change,message", [
    (lambda X, Y: (X[:, 0], Y), "X: expected a 2-D array"),
    (lambda X, Y: (X, Y[:40]), "has 40 stimuli"),
    (lambda X, Y: (np.where(np.eye(50, 6) > 0, np.nan, X), Y), "X: contains NaN or infinite"),
    (lambda X, Y: (X, np.where(np.eye(50, 4) > 0, np.inf, Y)), "Y: contains NaN or infinite"),
    (lambda X, Y: (X[:9], Y[:9]), "fewer than 2 × folds = 10"),
    (lambda X, Y: (np.ones_like(X), Y), "X: every unit is constant"),
])
def test_python_api_rejects(good, change, message):
    X, Y = change(*good)
    with pytest.raises(InputError, match=message):
        score(X, Y, metric="linear")


def test_python_api_rejects_settings(good):
    X, Y = good
    with pytest.raises(InputError, match="folds must be an integer of at least 2"):
        score(X, Y, metric="procrustes", folds=1)
    with pytest.raises(InputError, match="unknown metric 'cca'"):
        score(X, Y, metric="cca")
    with pytest.raises(InputError, match="corr must be"):
        score(X, Y, metric="procrustes", corr="kendall")
    with pytest.raises(InputError, match="pairs='diagonal' needs equal layer counts"):
        grid([X, X], [Y], metrics=["cka"], pairs="diagonal")


def expect_cli_error(capsys, argv, *fragments):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.fixture
def files(tmp_path, good):
    X, Y = good
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "Y.npy", Y)
    ids = [f"s{i}" for i in range(50)]
    write_layers(tmp_path / "A.safetensors", {"l0": X, "l1": X[:, :3]}, ids)
    write_layers(tmp_path / "B.safetensors", {"l0": Y}, ids)
    return tmp_path


def test_cli_score_errors(capsys, files):
    d = files
    X = np.load(d / "X.npy")
    np.save(d / "nan.npy", np.where(np.eye(50, 6) > 0, np.nan, X))
    np.save(d / "short.npy", X[:30])
    np.save(d / "flat.npy", X[:, 0])
    (d / "junk.npy").write_text("not an array")
    x, y = str(d / "X.npy"), str(d / "Y.npy")
    expect_cli_error(capsys, ["score", str(d / "nan.npy"), y, "--metric", "cka"],
                     "nan.npy", "NaN")
    expect_cli_error(capsys, ["score", x, str(d / "short.npy"), "--metric", "cka"],
                     "short.npy", "30 stimuli")
    expect_cli_error(capsys, ["score", str(d / "flat.npy"), y, "--metric", "cka"],
                     "flat.npy", "2-D")
    expect_cli_error(capsys, ["score", str(d / "junk.npy"), y, "--metric", "cka"],
                     "junk.npy", "not a readable .npy")
    expect_cli_error(capsys, ["score", str(d / "missing.npy"), y, "--metric", "cka"],
                     "missing.npy", "no such file")
    expect_cli_error(capsys, ["score", x, y, "--metric", "cca"], "invalid choice: 'cca'")
    expect_cli_error(capsys, ["score", x, y, "--metric", "cka", "--folds", "1"], "folds")
    expect_cli_error(capsys, ["score", x, y, "--metric", "cka", "--folds", "30"],
                     "fewer than 2 × folds")
    expect_cli_error(capsys, ["score", x, y, "--metric", "linear", "--rotate", "1"],
                     "--rotate applies to --metric permutation")


def test_cli_grid_errors_write_nothing(capsys, files, rng):
    d = files
    a, b, out = str(d / "A.safetensors"), str(d / "B.safetensors"), d / "out.parquet"
    expect_cli_error(capsys, ["grid", a, b, "--pairs", "diagonal", "--out", str(out)],
                     "A.safetensors has 2 layers", "B.safetensors has 1")
    expect_cli_error(capsys, ["grid", a, b, "--metrics", "linear,cca", "--out", str(out)],
                     "unknown metric 'cca'")
    write_layers(d / "C.safetensors", {"l0": rng.standard_normal((50, 3))},
                 [f"t{i}" for i in range(50)])
    expect_cli_error(capsys, ["grid", a, str(d / "C.safetensors"), "--out", str(out)],
                     "C.safetensors: stimuli differ", "row 0")
    bad = rng.standard_normal((50, 3))
    bad[4, 1] = np.nan
    write_layers(d / "D.safetensors", {"l0": bad}, [f"s{i}" for i in range(50)])
    expect_cli_error(capsys, ["grid", a, str(d / "D.safetensors"), "--out", str(out)],
                     "D.safetensors:l0: contains NaN")
    (d / "E.safetensors").write_bytes(b"\x00garbage")
    expect_cli_error(capsys, ["grid", a, str(d / "E.safetensors"), "--out", str(out)],
                     "E.safetensors: not a readable safetensors file")
    write_layers(d / "F.safetensors", {"l0": rng.standard_normal((40, 3))})
    expect_cli_error(capsys, ["grid", a, str(d / "F.safetensors"), "--out", str(out)],
                     "has 40 stimuli")
    expect_cli_error(capsys, ["grid", a, b, "--metrics", "procrustes", "--rotate", "1",
                              "--out", str(out)], "needs permutation among the metrics")
    expect_cli_error(capsys, ["grid", a, b, "--metrics", "procrustes", "--rotate", "1",
                              "--executor", "local", "--work-dir", str(d / "blocks"),
                              "--out", str(out)], "needs permutation among the metrics")
    assert not out.exists() and not list(d.glob("*.partial"))


def test_cli_usage_error_is_one_line(capsys):
    assert main(["grid", "only-one-file"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err


def test_grid_refuses_a_rotation_without_permutation_as_the_cli_does(rng):
    X = rng.standard_normal((30, 4))
    with pytest.raises(InputError, match="needs permutation"):
        grid([X], [X], metrics=["procrustes"], rotate=0, folds=3)


@pytest.mark.parametrize("argv,fragment", [
    (["--points", '[{"source": {"checkpoint": "c.pt"}}]', "--stimsets", "test"],
     "--points replaces a checkpoint file or --source, --stimsets"),
    (["--points", '[{"source": {"checkpoint": "c.pt"}, "stimsets": ["test"]}]'],
     "--points entry 0 lacks activations, accuracy"),
    (["--points", "[]"], "--points is empty"),
    (["--points", '["c.pt"]'], "--points entry 0 is not an object"),
    (["--source", '{"checkpoint": "c.pt"}', "--stimsets", "test"], "give --activations"),
])
def test_cli_extract_points_errors(capsys, tmp_path, argv, fragment):
    """One checkpoint's options or --points, never both; each point complete."""
    expect_cli_error(capsys, ["extract", "--data", "{}", "--stimuli", "{}", "--device", "cpu",
                              *argv], fragment)
    assert not list(tmp_path.iterdir())


def test_cli_extract_text_points_errors(capsys):
    expect_cli_error(capsys, ["extract-text", "--sentences", "{}", "--points",
                              '[{"source": {}, "out": "a.safetensors"}]', "--device", "cpu"],
                     "--points entry 0 lacks record")
    expect_cli_error(capsys, ["extract-text", "--sentences", "{}", "--out", "a.safetensors"],
                     "give --source (or --points)")


@pytest.mark.parametrize("argv,fragment", [
    (["--runs", "[]"], "--runs is empty"),
    (["--runs", '[{"spec": {}}]'], "--runs entry 0: expected an object with exactly spec"),
    (["--runs", '[{"spec": {}, "trajectory": "t.parquet", "fit": "f.csv"}]', "--fit", "f.csv"],
     "--runs replaces --spec, --trajectory, --fit: drop --fit"),
    (["--spec", "{}", "--trajectory", "t.parquet"], "give --fit (or --runs)"),
])
def test_cli_theory_run_batch_errors(capsys, argv, fragment):
    """One run's options or --runs, never both; each run complete."""
    expect_cli_error(capsys, ["theory", "run", *argv], fragment)
