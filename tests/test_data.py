"""In-distribution sources through one loader, and the named stimulus sets."""

import numpy as np
import pytest
import torch
from PIL import Image

from convergent.data import build_stimset, load_images
from convergent.errors import InputError

DIGITS = {"name": "digits", "image_size": 16, "test_fraction": 0.3, "seed": 0}
STIMULI = {"max_images": 50, "ood_images": 5, "seed": 0, "ood": ["contrast"]}


def test_digits_split_is_stratified_coloured_and_seeded():
    train, test = load_images(DIGITS, "train"), load_images(DIGITS, "test")
    assert len(train) + len(test) == 1797 and abs(len(test) - 0.3 * 1797) < 2
    assert test.images.shape[1:] == (3, 16, 16) and set(test.labels.tolist()) == set(range(10))
    assert not set(train.ids) & set(test.ids)
    assert float(test.images.min()) >= 0 and float(test.images.max()) <= 1
    channels = test.images.mean(dim=(2, 3))
    assert (channels.std(dim=1) > 0.02).float().mean() > 0.5  # coloured, not grey
    assert torch.equal(load_images(DIGITS, "test").images, test.images)


def make_image_folder(root, classes=("cat", "dog"), per_class=3, size=20):
    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size, size + 4, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / c / f"{c}{i}.png")


def test_image_folder_loads_through_the_same_loader(tmp_path):
    make_image_folder(tmp_path / "train")
    make_image_folder(tmp_path / "val", per_class=2)
    source = {"name": "imagefolder", "train": str(tmp_path / "train"),
              "test": str(tmp_path / "val"), "image_size": 16}
    test = load_images(source, "test")
    assert test.images.shape == (4, 3, 16, 16) and test.classes == ["cat", "dog"]
    assert test.ids[0] == "cat/cat0.png" and test.labels.tolist() == [0, 0, 1, 1]
    stimset = build_stimset(source, STIMULI, "contrast")
    assert len(stimset) == 4 * 8


def test_missing_data_is_one_clear_error(tmp_path):
    with pytest.raises(InputError, match="data.test: .* is not a directory"):
        load_images({"name": "imagefolder", "test": str(tmp_path / "nope"), "image_size": 8},
                    "test")
    with pytest.raises(InputError, match="data.root: no CIFAR-100"):
        load_images({"name": "cifar100", "root": str(tmp_path), "image_size": 32}, "test")


def test_stimsets_cap_and_derive_from_the_test_split():
    test = build_stimset(DIGITS, STIMULI, "test")
    assert len(test) == 50 and test.ids == sorted(test.ids, key=lambda s: int(s.split("/")[1]))
    ood = build_stimset(DIGITS, STIMULI, "contrast")
    assert len(ood) == 5 * 8 and ood.ids[0].startswith("contrast/1.0/digits/")
    with pytest.raises(InputError, match="unknown stimulus set 'fog'"):
        build_stimset(DIGITS, STIMULI, "fog")
