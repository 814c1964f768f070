"""The real-data experiment (theory.md, "Real data"): an MLP trained by mini-batch SGD on a whole
digit data set, following one image of digit 0 and one of digit 1 at a hidden layer.

Sources: ``digits`` — scikit-learn's bundled 8 × 8 digits (1797 images, no download; pixel values
divided by 16); ``mnist`` — torchvision's MNIST training set from ``root`` (already downloaded;
nothing is fetched), 28 × 28 pixels divided by 255. Images are flattened; targets are one-hot,
so for any two images of different digits dy2 = 2. The followed pair is the first image of each of
the two digits in ``pair`` (after a seeded shuffle, so each seed follows its own pair).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..errors import InputError
from ..training.checkpoints import epoch_seed
from .experiment import _record, half_mse
from .measure import TwoPoint
from .networks import build_network


def load_digit_images(source: str, root: str | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Flattened images (N × pixels, float32 in [0, 1]) and integer labels."""
    if source == "digits":
        from ..data.images import _digits_file

        table = np.loadtxt(_digits_file(), delimiter=",")
        return (torch.as_tensor(table[:, :-1] / 16.0, dtype=torch.float32),
                torch.as_tensor(table[:, -1].astype(int)))
    if source == "mnist":
        from torchvision.datasets import MNIST

        try:
            data = MNIST(root, train=True, download=False)
        except RuntimeError as err:
            raise InputError(f"theory.digits.root: no MNIST under {root!r} ({err})") from None
        return data.data.flatten(1).float() / 255.0, data.targets.clone()
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


def digit_pair_run(spec: dict) -> pd.DataFrame:
    """Train the spec's MLP on the whole data set for ``epochs`` epochs (batch order seeded by
    (seed, epoch) through :func:`~convergent.training.checkpoints.epoch_seed`, as in every
    training of the workflow); one row per ``record_every`` epochs with the followed pair's
    (h, y, w, loss)."""
    images, labels = load_digit_images(spec["source"], spec.get("root"))
    targets = torch.nn.functional.one_hot(labels, 10).float()
    a, b = followed_pair(labels, tuple(spec["pair"]), spec["seed"])
    points = TwoPoint(images[a], images[b], targets[a], targets[b])
    variant = {**spec["variant"], "kind": "mlp"}
    model, layer = build_network(variant, spec["seed"], d_in=images.shape[1], d_out=10)
    optimiser = torch.optim.SGD(model.parameters(), lr=spec["lr"])
    rows = [_record(model, layer, points, 0)]
    for epoch in range(1, spec["epochs"] + 1):
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(
            epoch_seed(spec["seed"], epoch)))
        for start in range(0, len(order), spec["batch_size"]):
            idx = order[start:start + spec["batch_size"]]
            optimiser.zero_grad()
            half_mse(model(images[idx]), targets[idx]).backward()
            optimiser.step()
        if epoch % spec["record_every"] == 0 or epoch == spec["epochs"]:
            rows.append(_record(model, layer, points, epoch))
    trajectory = pd.DataFrame(rows)
    trajectory.attrs.update(dx2=points.dx2, dy2=points.dy2, lr=spec["lr"])
    return trajectory
