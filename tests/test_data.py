"""In-distribution sources through one loader, and the named stimulus sets."""

import pytest
import torch

from convergent.data import build_stimset, load_images
from convergent.data.images import (
    ImageFolderStream,
    InMemoryImages,
    SeededViews,
    image_dataset,
    iterate_batches,
)
from convergent.errors import InputError

from conftest import make_folder

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


def make_image_folder(root, per_class=3):
    make_folder(root, per_class, size=(20, 24), classes=("cat", "dog"))


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


def image_folder_source(tmp_path):
    make_image_folder(tmp_path / "train", per_class=4)
    make_image_folder(tmp_path / "val", per_class=2)
    return {"name": "imagefolder", "train": str(tmp_path / "train"),
            "test": str(tmp_path / "val"), "image_size": 16}


def test_the_image_folder_dataset_streams_the_in_memory_loaders_tensors(tmp_path):
    from torchvision import transforms
    from torchvision.datasets import ImageFolder

    source = image_folder_source(tmp_path)
    stream = image_dataset(source, "train")
    assert isinstance(stream, ImageFolderStream) and len(stream) == 8
    loaded = load_images(source, "train")
    reference = ImageFolder(source["train"], transform=transforms.Compose(
        [transforms.Resize(16), transforms.CenterCrop(16), transforms.ToTensor()]))
    for i in range(len(stream)):
        image, label = stream[i]
        assert torch.equal(image, loaded.images[i]) and torch.equal(image, reference[i][0])
        assert int(label) == loaded.labels[i] == reference[i][1]
    assert stream.ids == loaded.ids and stream.classes == loaded.classes == ["cat", "dog"]
    assert stream.source_image(0).shape == (3, 20, 24)  # the whole file, for augmentations
    assert stream.source_image(0).dtype == torch.uint8
    chosen = load_images(source, "train", index=[5, 1])
    assert torch.equal(chosen.images, loaded.images[[5, 1]]) and chosen.ids == [
        loaded.ids[5], loaded.ids[1]]


def test_digits_stay_in_memory_behind_the_same_dataset_interface():
    dataset = image_dataset(DIGITS, "test")
    loaded = load_images(DIGITS, "test")
    assert isinstance(dataset, InMemoryImages) and len(dataset) == len(loaded)
    assert torch.equal(dataset[3][0], loaded.images[3]) and dataset.ids == loaded.ids


@pytest.mark.parametrize("workers", [0, 2])
def test_batches_come_in_the_given_order_with_or_without_workers(tmp_path, workers):
    stream = image_dataset(image_folder_source(tmp_path), "train")
    order = torch.tensor([6, 0, 3, 7, 1, 2, 5, 4])
    batches = list(iterate_batches(stream, order, 3, num_workers=workers))
    assert [len(y) for _, y in batches] == [3, 3, 2]
    assert torch.equal(torch.cat([x for x, _ in batches]),
                       torch.stack([stream[int(i)][0] for i in order]))
    kept = list(iterate_batches(stream, order, 3, num_workers=workers, drop_last=True))
    assert [len(y) for _, y in kept] == [3, 3]


def test_seeded_views_do_not_depend_on_worker_processes(tmp_path):
    from torchvision.transforms import v2

    stream = image_dataset(image_folder_source(tmp_path), "train")
    crop = v2.Compose([v2.RandomResizedCrop(12, antialias=True), v2.RandomHorizontalFlip(),
                       v2.ToDtype(torch.float32, scale=True)])
    views = SeededViews(stream, crop, seed=2, epoch=3, views=2)
    order = torch.arange(8)
    here = torch.cat([a for a, _, _ in iterate_batches(views, order, 4)])
    there = torch.cat([a for a, _, _ in iterate_batches(views, order, 4, num_workers=2)])
    assert torch.equal(here, there) and here.shape == (8, 3, 12, 12)
    first, second, label = views[5]
    assert not torch.equal(first, second) and int(label) == 1
    assert not torch.equal(SeededViews(stream, crop, seed=2, epoch=4)[5][0], first)


def test_an_image_folder_without_images_is_one_clear_error(tmp_path):
    (tmp_path / "empty" / "cat").mkdir(parents=True)
    with pytest.raises(InputError, match="data.test: .* holds no images"):
        image_dataset({"name": "imagefolder", "test": str(tmp_path / "empty"),
                       "image_size": 8}, "test")
