"""In-distribution images, from a source named in the config, all through one loader.

- ``digits``: scikit-learn's bundled handwritten digits (1797 8 × 8 images, 10 classes, no
  download), upscaled bilinearly and coloured with a seeded random ink and paper colour per
  image, so that the colour manipulations of the OOD sets have colour to act on.
- ``imagefolder``: any torchvision ``ImageFolder`` directory (one sub-folder per class), e.g.
  ImageNet; ``train`` and ``test`` name the two folders. Each image is resized (shorter side to
  ``image_size``, PIL bilinear with antialiasing) and centre-cropped to ``image_size``².
- ``cifar100``: torchvision's CIFAR-100 from ``root`` (already downloaded; nothing is fetched).

Two ways in: :func:`load_images` decodes a split into one tensor (fine for a validation or
stimulus set), :func:`image_dataset` gives a torch ``Dataset`` that decodes an ``imagefolder``
image only when asked (ImageNet's training split does not fit in memory); the other sources stay
in-memory tensors behind the same interface. :func:`iterate_batches` batches either in a given
order, through a ``DataLoader`` with worker processes where decoding is needed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

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


SOURCES = ("digits", "imagefolder", "cifar100")


def _check_source(source: dict) -> None:
    if source["name"] not in SOURCES:
        raise InputError(f"data.name: unknown source {source['name']!r}; "
                         f"choose from {', '.join(SOURCES)}")


def load_images(source: dict, split: str, index=None) -> ImageSet:
    """The ``split`` ("train" or "test") of the configured source (config key ``data``), in
    memory; with ``index`` (integer positions), only those images, in that order (an
    ``imagefolder`` then decodes only them)."""
    _check_source(source)
    if source["name"] == "imagefolder":
        return _imagefolder(source, split, index)
    images = {"digits": _digits, "cifar100": _cifar100}[source["name"]](source, split)
    return images if index is None else images.subset(index)


def image_dataset(source: dict, split: str) -> InMemoryImages | ImageFolderStream:
    """The ``split`` of the configured source as a torch ``Dataset`` of (image, label): an
    :class:`ImageFolderStream` for ``imagefolder`` (decoded on demand), else the in-memory
    images of :func:`load_images` as :class:`InMemoryImages`."""
    _check_source(source)
    if source["name"] == "imagefolder":
        return ImageFolderStream(source, split)
    return InMemoryImages(load_images(source, split))


class InMemoryImages(Dataset):
    """An :class:`ImageSet` as a ``Dataset``: item i is (image (3, H, W), label)."""

    def __init__(self, images: ImageSet):
        self.images, self.labels = images.images, images.labels
        self.ids, self.classes = images.ids, images.classes

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index], self.labels[index]

    def source_image(self, index: int) -> torch.Tensor:
        """The image augmentations start from: the stored (3, H, W) float image."""
        return self.images[index]


class ImageFolderStream(Dataset):
    """A split of an ``imagefolder`` source, decoded one image at a time.

    Item i is (image (3, S, S) float32 in [0, 1], label), S = ``image_size``, resized and
    centre-cropped exactly as :func:`load_images` does. Only the file list is held in memory.
    """

    def __init__(self, source: dict, split: str):
        from torchvision.datasets import ImageFolder

        root = source.get(split)
        if not root or not Path(root).is_dir():
            raise InputError(f"data.{split}: {root!r} is not a directory (an ImageFolder with "
                             "one sub-folder per class)")
        try:
            folder = ImageFolder(root)  # lists the files; decodes nothing
        except FileNotFoundError as err:
            raise InputError(f"data.{split}: {root} holds no images ({err})") from None
        self.paths = [path for path, _ in folder.samples]
        self.labels = torch.as_tensor(folder.targets)
        self.ids = [str(Path(path).relative_to(root)) for path in self.paths]
        self.classes = list(folder.classes)
        self.loader = folder.loader
        self.evaluation = _resize(source["image_size"])

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.evaluation(self.loader(self.paths[index])), self.labels[index]

    def source_image(self, index: int) -> torch.Tensor:
        """The image augmentations start from: the whole decoded file, (3, h, w) uint8."""
        from torchvision.transforms.v2.functional import pil_to_tensor

        return pil_to_tensor(self.loader(self.paths[index]))


def view_seed(seed: int, epoch: int, index: int, view: int) -> int:
    """The seed of one augmented view: a hash of (run seed, epoch, image, view)."""
    return int(np.random.SeedSequence([seed, epoch, index, view]).generate_state(1)[0])


class SeededViews(Dataset):
    """Random views of a dataset's images, each a pure function of (seed, epoch, image, view).

    Item i is (view_0, …, view_{n−1}, label). Every view is drawn with the global torch
    generator reseeded by :func:`view_seed` inside a forked generator state, so a view does not
    depend on worker processes, batch composition or anything drawn before it: a resumed run
    draws the same views as an uninterrupted one.
    """

    def __init__(self, images: InMemoryImages | ImageFolderStream,
                 transform: Callable[[torch.Tensor], torch.Tensor], seed: int, epoch: int,
                 views: int = 1):
        self.images, self.transform = images, transform
        self.seed, self.epoch, self.views = seed, epoch, views
        self.labels, self.classes = images.labels, images.classes

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        source = self.images.source_image(index)
        views = []
        for view in range(self.views):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(view_seed(self.seed, self.epoch, index, view))
                views.append(self.transform(source))
        return (*views, self.labels[index])


def training_augmentation(image_size: int):
    """The usual supervised ImageNet augmentation as ``transforms.v2`` on one image tensor:
    random resized crop (scale 0.08–1, aspect 3/4–4/3) to ``image_size`` and a horizontal
    flip; uint8 or float (3, h, w) → float32 (3, image_size, image_size). No normalisation."""
    from torchvision.transforms import v2

    return v2.Compose([v2.RandomResizedCrop(image_size, antialias=True),
                       v2.RandomHorizontalFlip(),
                       v2.ToDtype(torch.float32, scale=True)])


def iterate_batches(dataset: Dataset, order: torch.Tensor, batch_size: int,
                    num_workers: int = 0, drop_last: bool = False) -> Iterator[tuple]:
    """Batches of ``dataset`` items in ``order`` (a 1-D index tensor), each a tuple of stacked
    tensors, e.g. (images (b, 3, H, W), labels (b,)).

    :class:`InMemoryImages` are indexed directly (no copies per item); anything else goes
    through a ``DataLoader`` with ``num_workers`` processes, in the same order."""
    chunks = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    if drop_last and chunks and len(chunks[-1]) < batch_size:
        chunks.pop()
    if isinstance(dataset, InMemoryImages):
        for index in chunks:
            yield dataset.images[index], dataset.labels[index]
        return
    loader = DataLoader(dataset, batch_sampler=[chunk.tolist() for chunk in chunks],
                        num_workers=num_workers)
    yield from (tuple(batch) for batch in loader)


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


def _imagefolder(source: dict, split: str, index=None) -> ImageSet:
    stream = ImageFolderStream(source, split)
    index = np.arange(len(stream)) if index is None else np.asarray(index)
    size = source["image_size"]
    images = (torch.stack([stream[int(i)][0] for i in index]) if len(index)
              else torch.empty(0, 3, size, size))
    return ImageSet(images, stream.labels[index], [stream.ids[i] for i in index],
                    stream.classes)


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
