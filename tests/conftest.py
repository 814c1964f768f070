import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

# plain.py (the deliberately plain reference) is imported by several test modules.
sys.path.insert(0, str(Path(__file__).parent))

settings.register_profile(
    "convergent", deadline=None, max_examples=25, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", parent=settings.get_profile("convergent"), max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "convergent"))


def structured_pair(rng: np.random.Generator, m: int, nx: int, ny: int, dead: int = 0,
                    noise: float = 0.5):
    """Two ReLU layers reading the same latent code: unequal widths, partly aligned, with
    ``dead`` constant units on each side."""
    latent = rng.standard_normal((m, 6))
    X = np.maximum(latent @ rng.standard_normal((6, nx)) + noise * rng.standard_normal((m, nx)), 0)
    Y = np.maximum(latent @ rng.standard_normal((6, ny)) + noise * rng.standard_normal((m, ny)), 0)
    X[:, :dead] = 0.0
    Y[:, ny - dead:] = 3.0
    return X, Y


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def one_thread():
    """Tiny models run fastest on one thread, above all on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_folder(root: Path, per_class: int, seed: int = 0, size=(36, 40),
                classes=("a", "b", "c")):
    """Random RGB images (``size`` = height, width), ``per_class`` in each class folder: a tiny
    torchvision ImageFolder."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / c / f"{c}{i}.png")


def extract_into(folder: Path, source, data: dict, stimuli: dict, stimsets: list[str],
                 labels: dict) -> dict[str, float]:
    """``convergent.extract.extract`` with ``folder/<stimset>.safetensors`` and
    ``folder/<stimset>.accuracy.csv`` as the output paths (the workflow's own layout)."""
    from convergent.extract import extract

    return extract(source, data, stimuli, stimsets,
                   [folder / f"{s}.safetensors" for s in stimsets],
                   [folder / f"{s}.accuracy.csv" for s in stimsets], labels=labels)
