"""A grid split into blocks and run as a submitit job array (the local executor here; the real
SLURM cluster in test_slurm.py)."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from convergent.distributed import GridSpec, grid_in_blocks, plan_blocks, run_block
from convergent.errors import ConvergentError, InputError
from convergent.io import read_layers, write_layers
from convergent.metrics import grid

METRICS = ("procrustes", "permutation")


def network(path, seed, widths=(6, 9, 12, 7), stimuli=60, nan_layer=None):
    rng = np.random.default_rng(seed)
    h = np.random.default_rng(0).standard_normal((stimuli, 5))
    layers = {}
    for k, width in enumerate(widths):
        h = np.maximum(h @ rng.standard_normal((h.shape[1], width)), 0) + 0.05 * rng.random(
            (stimuli, width))
        layers[f"conv{k}"] = h.copy()
    if nan_layer is not None:
        layers[nan_layer][3, 0] = np.nan
    write_layers(path, layers, [f"s{i}" for i in range(stimuli)])
    return path


@pytest.fixture
def files(tmp_path):
    return network(tmp_path / "a.safetensors", 1), network(tmp_path / "b.safetensors", 2)


def whole_grid(a, b, **settings):
    return grid(read_layers(a)[0], read_layers(b)[0], names=(str(a), str(b)), **settings)


def test_blocks_cover_the_layers_once_in_order():
    assert plan_blocks(10, 3) == [(0, 4), (4, 8), (8, 10)]
    assert plan_blocks(3, 8) == [(0, 1), (1, 2), (2, 3)]
    assert plan_blocks(5, 1) == [(0, 5)]


@pytest.mark.parametrize("pairs", ["all", "diagonal"])
def test_local_job_array_equals_the_whole_grid(files, tmp_path, pairs):
    a, b = files
    spec = GridSpec(str(a), str(b), metrics=METRICS, pairs=pairs, folds=3, rotate=4)
    table = grid_in_blocks(spec, executor="local", blocks=3, work_dir=tmp_path / "work",
                           poll_s=0.2)
    expected = whole_grid(a, b, metrics=METRICS, pairs=pairs, folds=3, rotate=4)
    pd.testing.assert_frame_equal(table, expected)
    assert not (tmp_path / "work" / spec.key()).exists()  # blocks removed once merged


def test_blocks_already_done_are_not_submitted_again(files, tmp_path):
    a, b = files
    spec = GridSpec(str(a), str(b), metrics=("procrustes",), folds=3)
    folder = tmp_path / "work" / spec.key()
    assert run_block(spec, (0, 2), str(folder / "block0000.parquet")) is None
    done = pd.read_parquet(folder / "block0000.parquet")
    done["score"] = 42.0  # a marker no real score can take
    done.to_parquet(folder / "block0000.parquet")
    table = grid_in_blocks(spec, executor="local", blocks=2, work_dir=tmp_path / "work",
                           poll_s=0.2)
    assert (table[table.index_x < 2].score == 42.0).all()  # reused, not recomputed
    assert (table[table.index_x >= 2].score < 1.0).all()
    logs = tmp_path / "work" / "logs" / spec.key()
    submitted = sorted(p.name for p in logs.glob("*_submitted.pkl"))
    assert len(submitted) == 1  # only the missing block went out


def test_other_settings_never_reuse_a_block(files):
    a, b = files
    assert GridSpec(str(a), str(b), folds=3).key() != GridSpec(str(a), str(b), folds=4).key()
    assert GridSpec(str(a), str(b)).key() == GridSpec(str(a), str(b)).key()


def test_a_bad_layer_inside_a_block_is_one_clear_error(tmp_path):
    a = network(tmp_path / "a.safetensors", 1, nan_layer="conv2")
    b = network(tmp_path / "b.safetensors", 2)
    spec = GridSpec(str(a), str(b), folds=3)
    with pytest.raises(ConvergentError, match=r"block \(2, 3\): .*conv2.*NaN"):
        grid_in_blocks(spec, executor="local", blocks=4, work_dir=tmp_path / "work", poll_s=0.2)


def test_mismatched_files_fail_before_any_job(tmp_path):
    a = network(tmp_path / "a.safetensors", 1)
    b = network(tmp_path / "b.safetensors", 2, widths=(4, 4))
    with pytest.raises(InputError, match="diagonal.*equal layer counts"):
        grid_in_blocks(GridSpec(str(a), str(b), pairs="diagonal"), work_dir=tmp_path / "w")
    assert not (tmp_path / "w").exists()
    with pytest.raises(InputError, match="no such file"):
        grid_in_blocks(GridSpec(str(tmp_path / "nope.safetensors"), str(b)))
    with pytest.raises(InputError, match="unknown metric 'rsa'"):
        grid_in_blocks(GridSpec(str(a), str(b), metrics=("rsa",)), work_dir=tmp_path / "w")
    with pytest.raises(InputError, match="folds"):
        grid_in_blocks(GridSpec(str(a), str(b), folds=1), work_dir=tmp_path / "w")
    assert not (tmp_path / "w").exists()


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "convergent", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True)


def test_cli_grid_with_the_local_executor(files, tmp_path):
    a, b = files
    out = tmp_path / "grid.parquet"
    done = run_cli("grid", a, b, "--metrics", "procrustes,cka", "--folds", "3", "--executor",
                   "local", "--blocks", "2", "--label", "pair=ab", "--out", out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = pd.read_parquet(out)
    expected = whole_grid(a, b, metrics=["procrustes", "cka"], folds=3)
    pd.testing.assert_frame_equal(table.drop(columns="pair"), expected)
    assert set(table.pair) == {"ab"}
    assert not list((tmp_path / "convergent-blocks").glob("*/block*"))
    assert list((tmp_path / "convergent-blocks" / "logs").glob("*/*.out"))


def test_cli_reports_a_failed_block_in_one_line_and_writes_nothing(tmp_path):
    a = network(tmp_path / "a.safetensors", 1, nan_layer="conv0")
    b = network(tmp_path / "b.safetensors", 2)
    out = tmp_path / "grid.parquet"
    done = run_cli("grid", a, b, "--executor", "local", "--blocks", "2", "--folds", "3",
                   "--out", out, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "NaN" in done.stderr, done.stderr
    assert not out.exists()

