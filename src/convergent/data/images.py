"""In-distribution images, from a source named in the config, all through one loader.

- ``digits``: scikit-learn's bundled handwritten digits (1797 8 × 8 images, 10 classes, no
  download), upscaled bilinearly and coloured with a seeded random ink and paper colour per
  image, so that the colour manipulations of the OOD sets have colour to act on.
- ``imagefolder``: any torchvision ``ImageFolder`` directory (one sub-folder per class), e.g.
  ImageNet's validation set; ``train`` and ``test`` name the two folders.
- ``cifar100``: torchvision's CIFAR-100 from ``root`` (already downloaded; nothing is fetched).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError


@dataclass
class ImageSet:
    """Images (N × 3 × H × W, float32 in [0, 1]), integer labels, stimulus ids, class names."""

    images: torch.Tensor
    labels: torch.Tensor
    ids: list[str]
    classes: list[str]

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, index) -> ImageSet:
        index = np.asarray(index)
        return ImageSet(self.images[index], self.labels[index], [self.ids[i] for i in index],
                        self.classes)


def load_images(source: dict, split: str) -> ImageSet:
    """The ``split`` ("train" or "test") of the configured source (config key ``data``)."""
    loaders = {"digits": _digits, "imagefolder": _imagefolder, "cifar100": _cifar100}
    if source["name"] not in loaders:
        raise InputError(f"data.name: unknown source {source['name']!r}; "
                         f"choose from {', '.join(loaders)}")
    return loaders[source["name"]](source, split)


def _digits_file() -> Path:
    """scikit-learn's bundled digits table, found without importing scikit-learn (whose import
    costs a second in every job)."""
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    if not path.exists():
        raise InputError(f"data.name: scikit-learn's digits are missing ({path})")
    return path


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int):
    """Seeded train/test indices with each class split in the same proportion."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        cut = int(round(test_fraction * len(members)))
        test.append(members[:cut])
        train.append(members[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _digits(source: dict, split: str) -> ImageSet:
    table = np.loadtxt(_digits_file(), delimiter=",")
    target = table[:, -1].astype(int)
    grey = torch.as_tensor(table[:, :-1].reshape(-1, 1, 8, 8) / 16.0, dtype=torch.float32)
    size = source["image_size"]
    grey = F.interpolate(grey, size=(size, size), mode="bilinear", align_corners=False)
    rng = np.random.default_rng(source["seed"])
    ink = torch.as_tensor(rng.uniform(0.5, 1.0, (len(grey), 3, 1, 1)), dtype=torch.float32)
    paper = torch.as_tensor(rng.uniform(0.0, 0.35, (len(grey), 3, 1, 1)), dtype=torch.float32)
    images = (paper + (ink - paper) * grey.clamp(0, 1)).clamp(0, 1)
    train, test = stratified_split(target, source["test_fraction"], source["seed"])
    chosen = train if split == "train" else test
    return ImageSet(images[chosen], torch.as_tensor(target[chosen]),
                    [f"digits/{i}" for i in chosen], [str(c) for c in range(10)])


def _resize(size: int):
    from torchvision import transforms

    return transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size),
                               transforms.ToTensor()])


def _imagefolder(source: dict, split: str) -> ImageSet:
    from torchvision.datasets import ImageFolder

    root = source.get(split)
    if not root or not Path(root).is_dir():
        raise InputError(f"data.{split}: {root!r} is not a directory (an ImageFolder with one "
                         "sub-folder per class)")
    folder = ImageFolder(root, transform=_resize(source["image_size"]))
    if not len(folder):
        raise InputError(f"data.{split}: {root} holds no images")
    images = torch.stack([folder[i][0] for i in range(len(folder))])
    ids = [str(Path(path).relative_to(root)) for path, _ in folder.samples]
    return ImageSet(images, torch.as_tensor(folder.targets), ids, list(folder.classes))


def _cifar100(source: dict, split: str) -> ImageSet:
    from torchvision.datasets import CIFAR100

    root = source.get("root")
    try:
        data = CIFAR100(root, train=split == "train", download=False)
    except RuntimeError as err:
        raise InputError(f"data.root: no CIFAR-100 under {root!r} ({err})") from None
    images = torch.as_tensor(data.data).permute(0, 3, 1, 2).float() / 255.0
    if source["image_size"] != 32:
        images = F.interpolate(images, size=source["image_size"], mode="bilinear",
                               align_corners=False)
    return ImageSet(images, torch.as_tensor(data.targets),
                    [f"cifar100-{split}/{i}" for i in range(len(images))], list(data.classes))
