"""Training per seed: checkpoints per epoch, accuracy log, resume after a kill, streamed image
folders and ViTs."""

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from convergent.errors import InputError
from convergent.io import read_layers
from convergent.training import train

from conftest import extract_into, make_folder

DATA = {"name": "digits", "image_size": 32, "test_fraction": 0.3, "seed": 0}
SETTINGS = {"epochs": 3, "batch_size": 128, "lr": 0.05, "momentum": 0.9,
            "weight_decay": 0.0005}
MODEL = {"arch": "vgg11", "width": 0.25, "small_input": True}


def run_train(out: Path, **kwargs):
    checkpoints = [out / "ckpt" / f"epoch{e}.pt" for e in range(SETTINGS["epochs"] + 1)]
    train(MODEL, 1, DATA, SETTINGS, out / "state", checkpoints, out / "acc.csv",
          labels={"model": "vgg", "seed": 1}, **kwargs)
    return checkpoints


def weights(path):
    return torch.load(path, weights_only=True)["model"]


def same_weights(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_checkpoint_per_epoch_and_accuracy_log(tmp_path):
    torch.set_num_threads(1)
    checkpoints = run_train(tmp_path)
    assert all(p.exists() for p in checkpoints)
    log = pd.read_csv(tmp_path / "acc.csv")
    assert list(log.columns) == ["model", "seed", "epoch", "split", "loss", "accuracy"]
    assert sorted(log.epoch.unique()) == [0, 1, 2, 3]
    test = log[log.split == "test"].set_index("epoch").accuracy
    assert test[3] > test[0] + 0.2  # it learns
    stimuli = {"max_images": 40, "ood_images": 4, "seed": 0}
    accuracy = extract_into(tmp_path / "acts", checkpoints[3], DATA, stimuli,
                            ["test", "rotation"], labels={"model": "vgg", "seed": 1, "epoch": 3})
    layers, ids = read_layers(tmp_path / "acts" / "test.safetensors")
    assert len(layers) == 8 and len(ids) == 40 and 0 <= accuracy["test"] <= 1
    assert len(read_layers(tmp_path / "acts" / "rotation.safetensors")[1]) == 4 * 4
    row = pd.read_csv(tmp_path / "acts" / "test.accuracy.csv")
    assert row.accuracy.item() == accuracy["test"] and row.epoch.item() == 3


def test_a_run_stopped_after_an_epoch_resumes_to_the_same_weights(tmp_path):
    torch.set_num_threads(1)
    straight = run_train(tmp_path / "straight")
    run_train(tmp_path / "resumed", stop_after=1)
    state = tmp_path / "resumed" / "state"
    assert sorted(p.name for p in state.glob("epoch*.pt")) == ["epoch0.pt", "epoch1.pt"]
    first = (state / "epoch1.pt").stat().st_mtime_ns
    resumed = run_train(tmp_path / "resumed")
    assert (state / "epoch1.pt").stat().st_mtime_ns == first  # not retrained
    assert same_weights(weights(straight[-1]), weights(resumed[-1]))


def test_a_killed_training_process_resumes_from_its_last_checkpoint(tmp_path):
    """SIGKILL the real command in the middle of training, then rerun it."""
    out = tmp_path / "killed"
    import json

    args = [sys.executable, "-m", "convergent", "train", "--model", json.dumps(MODEL),
            "--seed", "1", "--data", json.dumps(DATA), "--settings",
            json.dumps({**SETTINGS, "epochs": 6}), "--state-dir", str(out / "state"),
            "--checkpoints", *[str(out / "ckpt" / f"epoch{e}.pt") for e in range(7)],
            "--log", str(out / "acc.csv"), "--threads", "1"]
    proc = subprocess.Popen(args, start_new_session=True)
    deadline = time.time() + 120
    while not (out / "state" / "epoch2.pt").exists() and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = sorted(int(p.stem[5:]) for p in (out / "state").glob("epoch*.pt"))
    assert 2 <= max(done) < 6 and not (out / "acc.csv").exists()
    kept = {e: (out / "state" / f"epoch{e}.pt").stat().st_mtime_ns for e in done}
    subprocess.run(args, check=True)
    assert all((out / "state" / f"epoch{e}.pt").stat().st_mtime_ns == t for e, t in kept.items())
    assert (out / "ckpt" / "epoch6.pt").exists()
    assert sorted(pd.read_csv(out / "acc.csv").epoch.unique()) == list(range(7))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_images")
    make_folder(root / "train", 6, 0)
    make_folder(root / "val", 2, 1)
    return {"name": "imagefolder", "train": str(root / "train"), "test": str(root / "val"),
            "image_size": 32}


VIT = {"arch": "vit_small", "width": 1.0, "small_input": True}
STREAMED = {"epochs": 2, "batch_size": 8, "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0,
            "augment": True}


def run_streamed(out: Path, data, settings, **kwargs):
    checkpoints = [out / "ckpt" / f"epoch{e}.pt" for e in range(settings["epochs"] + 1)]
    train(VIT, 0, data, settings, out / "state", checkpoints, out / "acc.csv", **kwargs)
    return checkpoints


def test_a_streamed_vit_run_resumes_with_other_workers_to_the_same_weights(tmp_path, folder):
    """Augmented supervised training of the small ViT from an image folder: stopped after an
    epoch with no worker processes, resumed with two, it ends where an uninterrupted run does.
    """
    torch.set_num_threads(1)
    straight = run_streamed(tmp_path / "straight", folder, STREAMED)
    run_streamed(tmp_path / "resumed", folder, STREAMED, stop_after=1)
    first = (tmp_path / "resumed" / "state" / "epoch1.pt").stat().st_mtime_ns
    resumed = run_streamed(tmp_path / "resumed", folder, {**STREAMED, "num_workers": 2})
    assert (tmp_path / "resumed" / "state" / "epoch1.pt").stat().st_mtime_ns == first
    assert same_weights(weights(straight[-1]), weights(resumed[-1]))
    assert not same_weights(weights(straight[0]), weights(straight[-1]))  # it trained
    unaugmented = run_streamed(tmp_path / "plain", folder, {**STREAMED, "augment": False})
    assert not same_weights(weights(straight[-1]), weights(unaugmented[-1]))
    log = pd.read_csv(tmp_path / "straight" / "acc.csv")
    assert log.accuracy.between(0, 1).all() and len(log) == 6
    stimuli = {"max_images": None, "ood_images": 2, "seed": 0}
    accuracy = extract_into(tmp_path / "acts", straight[-1], folder, stimuli, ["test"], {})
    layers, ids = read_layers(tmp_path / "acts" / "test.safetensors")
    assert list(layers) == [f"encoder.layers.encoder_layer_{i}" for i in range(4)]
    assert all(v.shape == (6, 128) for v in layers.values()) and len(ids) == 6
    assert 0 <= accuracy["test"] <= 1


def test_a_vit_and_images_of_another_size_fail_before_training(tmp_path, folder):
    with pytest.raises(InputError, match="data.image_size: the ViT takes 32-pixel images, not 24"):
        run_streamed(tmp_path, {**folder, "image_size": 24}, STREAMED)
    assert not (tmp_path / "state").exists()


RECIPE = {"epochs": 3, "batch_size": 128, "optimizer": "adamw", "lr": 0.003,
          "weight_decay": 0.05, "schedule": "cosine", "warmup_epochs": 0.5,
          "label_smoothing": 0.1, "keep": [1], "sub_epochs": [0.25, 0.5]}


def run_recipe(out: Path, settings=RECIPE, **kwargs):
    axis = [0, 0.25, 0.5, 1, 3]
    checkpoints = [out / "ckpt" / f"epoch{e}.pt" for e in axis]
    train(MODEL, 1, DATA, settings, out / "state", checkpoints, out / "acc.csv", **kwargs)
    return checkpoints


def test_a_scheduled_run_stopped_mid_way_resumes_to_the_same_weights(tmp_path):
    """AdamW on a warmup and cosine schedule, with checkpoints inside epoch 1 and an epoch
    that is not kept: stopped after epoch 2 and resumed, every published checkpoint equals
    the uninterrupted run's, and so do the optimiser's moments and the steps taken."""
    torch.set_num_threads(1)
    straight = run_recipe(tmp_path / "straight")
    run_recipe(tmp_path / "resumed", stop_after=2)
    state = tmp_path / "resumed" / "state"
    assert sorted(p.name for p in state.glob("epoch*.pt")) == [
        "epoch0.25.pt", "epoch0.5.pt", "epoch0.pt", "epoch1.pt", "epoch2.pt"]
    resumed = run_recipe(tmp_path / "resumed")
    assert "epoch2.pt" not in {p.name for p in state.iterdir()}  # not kept: gone once done
    for a, b in zip(straight, resumed, strict=True):
        assert same_weights(weights(a), weights(b))
    end = [torch.load(p[-1], weights_only=True) for p in (straight, resumed)]
    assert end[0]["schedule"] == end[1]["schedule"] == {"steps_done": 3 * 10}
    moments = [e["optimizer"]["state"] for e in end]
    assert all(torch.equal(moments[0][k]["exp_avg"], moments[1][k]["exp_avg"])
               for k in moments[0])
    log = pd.read_csv(tmp_path / "straight" / "acc.csv")
    assert sorted(log.epoch.unique()) == [0, 0.25, 0.5, 1, 2, 3]
    assert pd.read_csv(tmp_path / "resumed" / "acc.csv").equals(log)
    assert not same_weights(weights(straight[1]), weights(straight[2]))  # 0.25 ≠ 0.5


def test_the_schedule_sets_every_steps_rate_and_a_changed_recipe_starts_over(tmp_path):
    torch.set_num_threads(1)
    constant = {**RECIPE, "schedule": "constant", "warmup_epochs": 0, "epochs": 1,
                "keep": None, "sub_epochs": []}
    checkpoints = [tmp_path / "c" / f"epoch{e}.pt" for e in (0, 1)]
    train(MODEL, 1, DATA, constant, tmp_path / "state", checkpoints, tmp_path / "acc.csv")
    first = torch.load(checkpoints[1], weights_only=True)
    assert first["optimizer"]["param_groups"][0]["lr"] == 0.003
    cosine = {**constant, "schedule": "cosine", "epochs": 2}
    checkpoints = [tmp_path / "c" / f"epoch{e}.pt" for e in (0, 1, 2)]
    train(MODEL, 1, DATA, cosine, tmp_path / "state", checkpoints, tmp_path / "acc.csv")
    again = torch.load(checkpoints[1], weights_only=True)
    assert not same_weights(first["model"], again["model"])  # retrained under the new recipe
    last = again["optimizer"]["param_groups"][0]["lr"]  # step 9 of 20 on the cosine
    assert last == pytest.approx(0.003 * 0.5 * (1 + math.cos(math.pi * 9 / 20)))


def test_eval_train_measures_the_train_split_on_a_fixed_subset(tmp_path):
    """train.eval_train: N: the train rows of the log are the checkpoint's loss and accuracy on
    the same seeded N training images (evaluated again here); the test rows and the weights
    are those of a run measuring the whole train split."""
    from convergent.data.images import image_dataset
    from convergent.models import build_model
    from convergent.training.checkpoints import eval_rows
    from convergent.training.vision import evaluate

    torch.set_num_threads(1)
    settings = {**SETTINGS, "epochs": 1}
    logs, ends = {}, {}
    for eval_train in (None, 50):
        out = tmp_path / str(eval_train)
        checkpoints = [out / "ckpt" / f"epoch{e}.pt" for e in (0, 1)]
        train(MODEL, 1, DATA, {**settings, "eval_train": eval_train}, out / "state",
              checkpoints, out / "acc.csv", labels={"model": "vgg", "seed": 1})
        logs[eval_train] = pd.read_csv(out / "acc.csv").set_index(["epoch", "split"])
        ends[eval_train] = checkpoints[-1]
    assert same_weights(weights(ends[None]), weights(ends[50]))
    whole, subset = logs[None], logs[50]
    pd.testing.assert_series_equal(whole.xs("test", level="split").accuracy,
                                   subset.xs("test", level="split").accuracy)
    train_set = image_dataset(DATA, "train")
    rows = eval_rows(len(train_set), 50)
    assert len(rows) == 50 and rows == sorted(set(rows)) and rows == eval_rows(len(train_set), 50)
    model = build_model(MODEL["arch"], len(train_set.classes), MODEL["width"],
                        MODEL["small_input"])
    model.load_state_dict(weights(ends[50]))
    loss, accuracy = evaluate(model, train_set, 128, "cpu", rows=rows)
    logged = subset.loc[(1, "train")]
    assert logged.accuracy == pytest.approx(accuracy) and logged.loss == pytest.approx(loss)
    assert (logged.accuracy * 50) == pytest.approx(round(logged.accuracy * 50))
    assert eval_rows(30, None) == list(range(30)) == eval_rows(30, 40)
