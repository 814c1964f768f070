"""The real-data experiment (theory.md, "Real data"): an MLP trained by mini-batch SGD on a whole
digit data set, following one image of digit 0 and one of digit 1 at a hidden layer.

Sources: ``digits`` — scikit-learn's bundled 8 × 8 digits (1797 images, no download; pixel values
divided by 16); ``mnist`` — MNIST's training set read from its IDX files under ``root`` (as
LeCun distributes them, or torchvision's ``MNIST/raw`` folder; nothing is fetched), 28 × 28
pixels divided by 255. Images are flattened; targets are one-hot,
so for any two images of different digits dy2 = 2. The followed pair is the first image of each of
the two digits in ``pair`` (after a seeded shuffle, so each seed follows its own pair).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..errors import InputError
from ..training.checkpoints import epoch_seed
from .experiment import _record, half_mse, sgd_step
from .measure import TwoPoint
from .networks import build_network

#: The MNIST training files, as LeCun distributes them and torchvision stores them.
MNIST_FILES = {"images": "train-images-idx3-ubyte", "labels": "train-labels-idx1-ubyte"}


def read_idx(path: Path) -> np.ndarray:
    """An array from an IDX file (the MNIST format, gzipped when the name ends in ``.gz``):
    magic 0x0000 then a type byte (0x08 = unsigned bytes) and the number of dimensions, the
    dimensions as big-endian 32-bit integers, then the data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise InputError(f"theory.digits.root: {path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    shape = tuple(int(n) for n in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise InputError(f"theory.digits.root: {path} holds {data.size} values, its header "
                         f"says {shape}")
    return data.reshape(shape)


def _mnist_file(root: Path, name: str) -> Path:
    """``name`` (or ``name.gz``) in ``root`` or in torchvision's ``root/MNIST/raw``."""
    for folder in (root, root / "MNIST" / "raw"):
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise InputError(f"theory.digits.root: no MNIST under {str(root)!r} (looked for {name} or "
                     f"{name}.gz there and in MNIST/raw/; nothing is downloaded - put the "
                     "training files there or set theory.digits.source: digits)")


def load_mnist(root: str | os.PathLike | None) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST's training set from the IDX files under ``root``: images flattened and divided by
    255, integer labels."""
    if not root:
        raise InputError("theory.digits.root: source mnist needs the folder of the MNIST files")
    root = Path(root)
    images = read_idx(_mnist_file(root, MNIST_FILES["images"]))
    labels = read_idx(_mnist_file(root, MNIST_FILES["labels"]))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise InputError(f"theory.digits.root: the MNIST files under {str(root)!r} do not match "
                         f"(images {images.shape}, labels {labels.shape})")
    return (torch.as_tensor(images.reshape(len(images), -1) / 255.0, dtype=torch.float32),
            torch.as_tensor(labels.astype(np.int64)))


def load_digit_images(source: str, root: str | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Flattened images (N × pixels, float32 in [0, 1]) and integer labels."""
    if source == "digits":
        from ..data.images import _digits_file

        table = np.loadtxt(_digits_file(), delimiter=",")
        return (torch.as_tensor(table[:, :-1] / 16.0, dtype=torch.float32),
                torch.as_tensor(table[:, -1].astype(int)))
    if source == "mnist":
        return load_mnist(root)
    raise InputError(f"theory.digits.source: unknown source {source!r}; choose digits or mnist")


def followed_pair(labels: torch.Tensor, digits: tuple[int, int], seed: int) -> tuple[int, int]:
    """Indices of the first image of each digit in a seeded permutation of the data set."""
    order = np.random.default_rng(seed).permutation(len(labels))
    found = []
    for digit in digits:
        hits = order[labels.numpy()[order] == digit]
        if not len(hits):
            raise InputError(f"theory.digits.pair: the data set has no image of digit {digit}")
        found.append(int(hits[0]))
    return found[0], found[1]


#: The mean target the pair's mean output relaxes to, in the loss formula (theory/ode.loss).
LOSS_TARGETS = ("dataset", "pair")


def digit_pair_run(spec: dict) -> pd.DataFrame:
    """Train the spec's MLP on the whole data set for ``epochs`` epochs (batch order seeded by
    (seed, epoch) through :func:`~convergent.training.checkpoints.epoch_seed`, as in every
    training of the workflow); one row per ``record_every`` epochs with the followed pair's
    (h, y, w, loss).

    The trajectory's ``attrs`` carry the terms of the loss formula (``loss_terms``). With
    ``loss_target`` ``dataset`` (the default) the mean of the pair's outputs is taken to relax
    first to the data set's mean one-hot target ȳ_D — in mini-batch training on the whole set
    every image's output is pulled towards it before the network tells the images apart —
    and then to the pair's own mean target ȳ*; with ``pair`` it relaxes to ȳ* directly, the
    paper's formula for two points trained alone (full batch)."""
    images, labels = load_digit_images(spec["source"], spec.get("root"))
    target = spec.get("loss_target", "dataset")
    if target not in LOSS_TARGETS:
        raise InputError(f"theory.digits.loss_target: unknown {target!r}; choose from "
                         + ", ".join(LOSS_TARGETS))
    targets = torch.nn.functional.one_hot(labels, 10).float()
    a, b = followed_pair(labels, tuple(spec["pair"]), spec["seed"])
    points = TwoPoint(images[a], images[b], targets[a], targets[b])
    variant = {**spec["variant"], "kind": "mlp"}
    model, layer = build_network(variant, spec["seed"], d_in=images.shape[1], d_out=10)
    with torch.no_grad():
        mean0 = model(torch.stack([points.x_a, points.x_b])).mean(0)
    pair_mean = (points.target_a + points.target_b) / 2
    seen = targets.mean(0) if target == "dataset" else pair_mean
    first, second = mean0 - seen, seen - pair_mean
    loss_terms = {"mean_gap0": float(first @ first), "target_gap": float(second @ second),
                  "cross": float(first @ second)}
    parameters = list(model.parameters())
    rows = _record(model, layer, points, 0)
    for epoch in range(1, spec["epochs"] + 1):
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(
            epoch_seed(spec["seed"], epoch)))
        for start in range(0, len(order), spec["batch_size"]):
            idx = order[start:start + spec["batch_size"]]
            half_mse(model(images[idx]), targets[idx]).backward()
            sgd_step(parameters, spec["lr"])
        if epoch % spec["record_every"] == 0 or epoch == spec["epochs"]:
            rows += _record(model, layer, points, epoch)
    trajectory = pd.DataFrame(rows)
    trajectory.attrs.update(dx2=points.dx2, dy2=points.dy2, lr=spec["lr"],
                            loss_terms=loss_terms)
    return trajectory
