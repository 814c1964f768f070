"""MoCo v2: projection head, momentum key encoder, queue, InfoNCE, kNN monitor, seeded views,
training with per-epoch checkpoints and resume, extraction from its checkpoints."""

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from convergent.data.images import InMemoryImages, SeededViews, iterate_batches, load_images
from convergent.errors import InputError
from convergent.io import read_layers
from convergent.models import build_model, layer_names, load_checkpoint
from convergent.models.moco import (
    MoCo,
    attach_projection_head,
    backbone_features,
    blur_kernel,
    knn_predict,
    moco_augmentation,
    projection_sizes,
)
from convergent.training import train

from conftest import extract_into, make_folder

pytestmark = pytest.mark.usefixtures("one_thread")


DIGITS = {"name": "digits", "image_size": 32, "test_fraction": 0.3, "seed": 0}


def encoder(arch="vgg11", seed=0, hidden=32, dim=16):
    width = 0.125 if arch.startswith("vgg") else 1.0
    return attach_projection_head(build_model(arch, 10, width, True, seed=seed), hidden, dim)


def two_views(count=12, seed=0):
    """Two MoCo views of the first ``count`` digits test images: (count, 3, 32, 32) each."""
    images = InMemoryImages(load_images(DIGITS, "test", index=range(count)))
    views = SeededViews(images, moco_augmentation(32), seed, epoch=1, views=2)
    view_q, view_k, _ = next(iterate_batches(views, torch.arange(count), count))
    return view_q, view_k


@pytest.mark.parametrize("arch,features", [("vgg11", 64), ("resnet18", 512), ("vit_small", 128)])
def test_the_projection_head_replaces_the_classifier_and_keeps_the_layers(arch, features):
    plain = build_model(arch, 10, 0.125 if arch == "vgg11" else 1.0, True)
    model = encoder(arch)
    assert layer_names(model) == layer_names(plain)
    images = torch.rand(2, 3, 32, 32)
    assert model(images).shape == (2, 16)
    assert backbone_features(model.eval(), images).shape == (2, features)
    assert projection_sizes(1.0) == (2048, 128) and projection_sizes(0.25) == (512, 32)


def test_the_loss_is_finite_and_falls_on_a_fixed_batch_against_fixed_negatives():
    torch.manual_seed(0)
    moco = MoCo(encoder(), queue_size=256, key_momentum=0.99, temperature=0.2)
    optimiser = torch.optim.SGD(moco.query.parameters(), lr=0.05, momentum=0.9)
    negatives = moco.queue.clone()
    view_q, view_k = two_views()
    losses = []
    for _ in range(6):
        # the same negatives each step: enqueued keys of this very batch would be hard
        # negatives identical to the positives and hide the descent
        moco.queue.copy_(negatives)
        moco.queue_ptr.zero_()
        loss, _ = moco(view_q, view_k)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    assert all(math.isfinite(x) for x in losses)
    assert losses[-1] < losses[0] - 0.1 and losses[-1] <= min(losses[:3])


def test_the_key_encoder_is_the_momentum_average_and_the_queue_takes_the_keys():
    torch.manual_seed(1)
    moco = MoCo(encoder(), queue_size=20, key_momentum=0.9, temperature=0.2).train()
    view_q, view_k = two_views()
    with torch.no_grad():  # a first step so that query and key differ
        for p in moco.query.parameters():
            p.add_(0.01 * torch.randn_like(p))
    key_before = copy.deepcopy(moco.key)
    query_before = [p.detach().clone() for p in moco.query.parameters()]
    loss, keys = moco(view_q, view_k)
    for k_after, k_before, q in zip(moco.key.parameters(), key_before.parameters(),
                                    query_before, strict=True):
        assert torch.allclose(k_after, 0.9 * k_before + 0.1 * q, atol=1e-6)
    assert not any(p.requires_grad for p in moco.key.parameters())
    assert torch.allclose(keys, F.normalize(copy.deepcopy(moco.key)(view_k), dim=1), atol=1e-5)
    assert torch.allclose(moco.queue[:, :12], keys.T) and int(moco.queue_ptr) == 12
    _, more = moco(view_q, view_k)  # 12 more keys wrap around a queue of 20
    assert torch.allclose(moco.queue[:, 12:], more[:8].T)
    assert torch.allclose(moco.queue[:, :4], more[8:].T) and int(moco.queue_ptr) == 4
    assert torch.allclose(moco.queue[:, 4:12], keys[4:].T)
    assert torch.allclose(moco.queue.norm(dim=0), torch.ones(20))


def test_views_are_seeded_augmentations_of_the_right_size():
    view_q, view_k = two_views(4, seed=3)
    again_q, again_k = two_views(4, seed=3)
    other_q, _ = two_views(4, seed=4)
    assert torch.equal(view_q, again_q) and torch.equal(view_k, again_k)
    assert not torch.equal(view_q, other_q) and not torch.equal(view_q, view_k)
    assert view_q.shape == (4, 3, 32, 32) and view_q.dtype == torch.float32
    assert float(view_q.min()) >= 0 and float(view_q.max()) <= 1
    assert blur_kernel(224) == 23 and blur_kernel(32) == 3


def test_weighted_knn_lets_close_neighbours_outvote_many_far_ones():
    bank = torch.tensor([[1.0, 0.0], [0.9, 0.45], [0.9, -0.45], [0.0, 1.0]])
    labels = torch.tensor([1, 0, 0, 2])
    query = torch.tensor([[1.0, 0.05]])
    # k = 3: one class-1 neighbour at similarity ~1 against two class-0 ones at ~0.87-0.92
    assert knn_predict(query, [(bank, labels)], 3, k=3, temperature=0.01).item() == 1
    assert knn_predict(query, [(bank, labels)], 3, k=3, temperature=100.0).item() == 0
    assert knn_predict(torch.tensor([[0.1, 1.0]]), [(bank, labels)], 3, k=1).item() == 2
    with pytest.raises(InputError, match="memory bank is empty"):
        knn_predict(query, [], 3)


@hypothesis_settings(max_examples=20)
@given(seed=st.integers(0, 10_000), chunk=st.integers(1, 40), k=st.integers(1, 25),
       scale=st.floats(0.01, 100.0))
def test_knn_predictions_ignore_feature_scale_and_how_the_bank_is_streamed(seed, chunk, k,
                                                                          scale):
    generator = torch.Generator().manual_seed(seed)
    bank = torch.randn(40, 6, generator=generator)
    labels = torch.randint(0, 4, (40,), generator=generator)
    test = torch.randn(9, 6, generator=generator)
    whole = knn_predict(test, [(bank, labels)], 4, k=k)
    chunks = [(bank[i:i + chunk] * scale, labels[i:i + chunk]) for i in range(0, 40, chunk)]
    assert torch.equal(knn_predict(test * 3.0, chunks, 4, k=k), whole)
    assert ((whole >= 0) & (whole < 4)).all()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("moco_images")
    make_folder(root / "train", 8, 0)
    make_folder(root / "val", 3, 1)
    return {"name": "imagefolder", "train": str(root / "train"), "test": str(root / "val"),
            "image_size": 32}


SETTINGS = {"epochs": 3, "batch_size": 8, "objective": "moco",
            "moco": {"queue": 16, "knn_k": 5, "hidden": 32, "dim": 16, "key_momentum": 0.99}}
MODEL = {"arch": "vgg11", "width": 0.125, "small_input": True}


def run_moco(out: Path, data, seed=0, **kwargs):
    checkpoints = [out / "ckpt" / f"epoch{e}.pt" for e in range(SETTINGS["epochs"] + 1)]
    train(MODEL, seed, data, SETTINGS, out / "state", checkpoints, out / "acc.csv",
          labels={"model": "moco", "seed": seed}, **kwargs)
    return checkpoints


def weights(path):
    return torch.load(path, weights_only=True)


def test_moco_training_logs_knn_accuracy_and_resumes_to_the_same_state(tmp_path, folder):
    straight = run_moco(tmp_path / "straight", folder)
    log = pd.read_csv(tmp_path / "straight" / "acc.csv")
    test = log[log.split == "test"].set_index("epoch").accuracy
    train_loss = log[log.split == "train"].set_index("epoch").loss
    assert list(test.index) == [0, 1, 2, 3] and test.between(0, 1).all()
    assert math.isnan(train_loss[0]) and np.isfinite(train_loss[1:]).all()
    run_moco(tmp_path / "resumed", folder, stop_after=1)
    resumed = run_moco(tmp_path / "resumed", folder)
    a, b = weights(straight[-1]), weights(resumed[-1])
    for part in ("model", "moco"):
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part])
    assert pd.DataFrame(a["history"]).equals(pd.DataFrame(b["history"]))  # NaN-aware
    assert int(a["moco"]["queue_ptr"]) == (3 * 3 * 8) % 16  # three steps of 8 keys per epoch
    other = weights(run_moco(tmp_path / "other_seed", folder, seed=1)[-1])
    assert not torch.equal(a["model"]["features.0.weight"], other["model"]["features.0.weight"])


def test_a_moco_checkpoint_extracts_the_architectures_layers(tmp_path, folder):
    settings = {**SETTINGS, "epochs": 1}
    checkpoints = [tmp_path / f"epoch{e}.pt" for e in range(2)]
    train(MODEL, 0, folder, settings, tmp_path / "state", checkpoints, tmp_path / "acc.csv")
    model, spec = load_checkpoint(checkpoints[1])
    assert spec["objective"] == "moco" and spec["head"] == {"hidden": 32, "dim": 16}
    stimuli = {"max_images": None, "ood_images": 2, "seed": 0}
    accuracy = extract_into(tmp_path / "acts", checkpoints[1], folder, stimuli, ["test"], {})
    layers, ids = read_layers(tmp_path / "acts" / "test.safetensors")
    assert list(layers) == layer_names(build_model("vgg11", 3, 0.125, True)) and len(ids) == 9
    assert math.isnan(accuracy["test"])  # no classifier: a MoCo encoder has no accuracy


def test_bad_moco_settings_are_input_errors(tmp_path, folder):
    def attempt(settings):
        train(MODEL, 0, folder, settings, tmp_path / "state", [tmp_path / "e0.pt"],
              tmp_path / "acc.csv")

    with pytest.raises(InputError, match="train.objective: unknown objective 'byol'"):
        attempt({**SETTINGS, "objective": "byol"})
    with pytest.raises(InputError, match="train.moco: unknown setting 'queue_size'"):
        attempt({**SETTINGS, "moco": {"queue_size": 8}})
    with pytest.raises(InputError, match="train.batch_size: 64 is more than the 24 training"):
        attempt({**SETTINGS, "batch_size": 64})
    with pytest.raises(InputError, match="train.moco.queue: 24 keys for 24 training images"):
        attempt({**SETTINGS, "moco": {"queue": 24}})
    assert not (tmp_path / "state").exists()
