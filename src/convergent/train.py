"""Training per (model, seed) with a checkpoint per epoch, resumable: supervised or MoCo v2.

``epoch0`` is the untrained network. Each epoch's checkpoint (model and optimiser state) is
written atomically to a state folder that outlives a killed job, and a rerun resumes after the
last checkpoint whose training settings match. Everything random in epoch e is seeded by
(seed, e): the batch order comes from a generator seeded with ``seed · 100003 + e``, the global
torch generator is reseeded with the same number at the start of the epoch (dropout), and each
augmented view is a function of (seed, e, image, view) alone
(:class:`convergent.data.images.SeededViews`). So a resumed run produces the same weights as an
uninterrupted one, whatever ``num_workers``.

Training settings (config key ``train``): ``epochs``, ``batch_size``, ``num_workers`` (data
loader processes for an ``imagefolder`` source, default 0; it does not change results, so it
is left out of the settings fingerprint) and ``objective``:

- ``supervised`` (the default): cross-entropy, SGD with ``lr``, ``momentum``, ``weight_decay``,
  constant learning rate. ``augment: true`` trains on a random resized crop and horizontal flip
  of each image (default false: the images as loaded). Accuracy log: cross-entropy and top-1
  accuracy on the train and test splits.
- ``moco``: MoCo v2 (:mod:`convergent.models.moco`) with the settings under ``moco``
  (:data:`MOCO_DEFAULTS`; the top-level ``lr``, ``momentum`` and ``weight_decay`` are not used).
  SGD with a cosine learning rate, lr_e = lr · ½ (1 + cos(π (e − 1) / E)) in epoch e = 1 … E;
  the last incomplete batch of an epoch is dropped. Accuracy log: on the train split the mean
  InfoNCE loss of the epoch's steps (accuracy NaN); on the test split the weighted kNN accuracy
  (k = ``knn_k``, cosine similarity, weights exp(s / ``knn_temperature``)) of the backbone
  features (the projection head's input) with the train split as the memory bank (loss NaN).
  Epoch 0 has no training loss (NaN).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from .data.images import SeededViews, image_dataset, iterate_batches, training_augmentation
from .errors import InputError
from .io import atomic_path, fingerprint, link_or_copy, write_table
from .models import build_model, check_image_size
from .models.moco import (
    MoCo,
    attach_projection_head,
    backbone_features,
    knn_predict,
    moco_augmentation,
    projection_sizes,
)
from .models.sources import load_checkpoint

__all__ = ["MOCO_DEFAULTS", "OBJECTIVES", "evaluate", "fingerprint", "load_checkpoint", "train"]

OBJECTIVES = ("supervised", "moco")

#: MoCo v2's settings (Chen et al. 2020), overridable under ``train.moco``. ``hidden`` and
#: ``dim`` (projection head) default to 2048 and 128 scaled by the model's width.
MOCO_DEFAULTS = {"lr": 0.03, "momentum": 0.9, "weight_decay": 1e-4, "key_momentum": 0.999,
                 "queue": 65536, "temperature": 0.2, "hidden": None, "dim": None,
                 "knn_k": 20, "knn_temperature": 0.07}

#: Settings that do not change results, left out of the fingerprint.
NOT_FINGERPRINTED = ("num_workers",)


def _epoch_seed(seed: int, epoch: int) -> int:
    return seed * 100_003 + epoch


def _order(seed: int, epoch: int, size: int) -> torch.Tensor:
    """The seeded batch order of one epoch."""
    return torch.randperm(size, generator=torch.Generator().manual_seed(_epoch_seed(seed, epoch)))


def evaluate(model: nn.Module, images, batch_size: int, device, num_workers: int = 0
             ) -> tuple[float, float]:
    """Mean cross-entropy and top-1 accuracy of ``model`` on a dataset of (image, label)."""
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for x, y in iterate_batches(images, torch.arange(len(images)), batch_size, num_workers):
            x, y = x.to(device), y.to(device)
            logits = model(x)
            loss += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
    return loss / len(images), correct / len(images)


class SupervisedRun:
    """Cross-entropy training of one architecture; the module is ``self.model``."""

    def __init__(self, model_spec: dict, seed: int, data: dict, settings: dict, sets: tuple,
                 device):
        self.train_set, self.test_set = sets
        self.seed, self.data, self.settings, self.device = seed, data, settings, device
        self.spec = {**model_spec, "num_classes": len(self.train_set.classes)}
        self.model = build_model(self.spec["arch"], self.spec["num_classes"], self.spec["width"],
                                 self.spec["small_input"], seed=seed).to(device)
        self.optimiser = torch.optim.SGD(self.model.parameters(), lr=settings["lr"],
                                         momentum=settings["momentum"],
                                         weight_decay=settings["weight_decay"])

    def train_epoch(self, epoch: int) -> None:
        self.model.train()
        images = self.train_set
        if self.settings.get("augment", False):
            images = SeededViews(images, training_augmentation(self.data["image_size"]),
                                 self.seed, epoch)
        order = _order(self.seed, epoch, len(images))
        for x, y in iterate_batches(images, order, self.settings["batch_size"],
                                    self.settings.get("num_workers", 0)):
            self.optimiser.zero_grad()
            loss = nn.functional.cross_entropy(self.model(x.to(self.device)), y.to(self.device))
            loss.backward()
            self.optimiser.step()

    def evaluate(self, epoch: int) -> list[dict]:
        rows = []
        for split, images in (("train", self.train_set), ("test", self.test_set)):
            loss, accuracy = evaluate(self.model, images, self.settings["batch_size"],
                                      self.device, self.settings.get("num_workers", 0))
            rows.append({"epoch": epoch, "split": split, "loss": loss, "accuracy": accuracy})
        return rows

    def state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimiser.state_dict()}

    def load_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimiser.load_state_dict(state["optimizer"])


def moco_settings(settings: dict) -> dict:
    """The MoCo settings: :data:`MOCO_DEFAULTS` updated by ``settings["moco"]``."""
    given = settings.get("moco") or {}
    unknown = sorted(set(given) - set(MOCO_DEFAULTS))
    if unknown:
        raise InputError(f"train.moco: unknown setting {unknown[0]!r}; choose from "
                         f"{', '.join(MOCO_DEFAULTS)}")
    return {**MOCO_DEFAULTS, **given}


class MocoRun:
    """MoCo v2 training; the query encoder (backbone and projection head) is ``self.model``."""

    def __init__(self, model_spec: dict, seed: int, data: dict, settings: dict, sets: tuple,
                 device):
        self.train_set, self.test_set = sets
        self.seed, self.data, self.settings, self.device = seed, data, settings, device
        self.moco_settings = cfg = moco_settings(settings)
        if len(self.train_set) < settings["batch_size"]:
            raise InputError(f"train.batch_size: {settings['batch_size']} is more than the "
                             f"{len(self.train_set)} training images (MoCo drops an incomplete "
                             "last batch)")
        if cfg["queue"] >= len(self.train_set):
            raise InputError(f"train.moco.queue: {cfg['queue']} keys for {len(self.train_set)} "
                             "training images would hold every image's own earlier keys as "
                             "negatives; use a queue smaller than the training set")
        hidden, dim = projection_sizes(model_spec["width"], cfg["hidden"], cfg["dim"])
        self.spec = {**model_spec, "num_classes": len(self.train_set.classes),
                     "objective": "moco", "head": {"hidden": hidden, "dim": dim}}
        backbone = build_model(self.spec["arch"], self.spec["num_classes"], self.spec["width"],
                               self.spec["small_input"], seed=seed)
        self.moco = MoCo(attach_projection_head(backbone, hidden, dim), cfg["queue"],
                         cfg["key_momentum"], cfg["temperature"]).to(device)
        self.model = self.moco.query
        self.optimiser = torch.optim.SGD(self.model.parameters(), lr=cfg["lr"],
                                         momentum=cfg["momentum"],
                                         weight_decay=cfg["weight_decay"])
        self.epoch_loss = math.nan

    def learning_rate(self, epoch: int) -> float:
        """The cosine schedule's rate in training epoch ``epoch`` (1 … E)."""
        progress = (epoch - 1) / self.settings["epochs"]
        return self.moco_settings["lr"] * 0.5 * (1 + math.cos(math.pi * progress))

    def train_epoch(self, epoch: int) -> None:
        for group in self.optimiser.param_groups:
            group["lr"] = self.learning_rate(epoch)
        self.moco.train()
        views = SeededViews(self.train_set, moco_augmentation(self.data["image_size"]),
                            self.seed, epoch, views=2)
        losses = []
        for view_q, view_k, _ in iterate_batches(
                views, _order(self.seed, epoch, len(views)), self.settings["batch_size"],
                self.settings.get("num_workers", 0), drop_last=True):
            loss, _ = self.moco(view_q.to(self.device), view_k.to(self.device))
            self.optimiser.zero_grad()
            loss.backward()
            self.optimiser.step()
            losses.append(float(loss.detach()))
        self.epoch_loss = sum(losses) / len(losses)

    @torch.no_grad()
    def _features(self, images):
        """(features, labels) batches of the query backbone on a dataset, in eval mode."""
        self.model.eval()
        for x, y in iterate_batches(images, torch.arange(len(images)),
                                    self.settings["batch_size"],
                                    self.settings.get("num_workers", 0)):
            yield backbone_features(self.model, x.to(self.device)), y

    def knn_accuracy(self) -> float:
        """Weighted kNN accuracy on the test split, the train split as memory bank."""
        test = list(self._features(self.test_set))
        features = torch.cat([f for f, _ in test])
        labels = torch.cat([y for _, y in test]).to(self.device)
        predicted = knn_predict(features, self._features(self.train_set),
                                len(self.train_set.classes), self.moco_settings["knn_k"],
                                self.moco_settings["knn_temperature"])
        return float((predicted == labels).float().mean())

    def evaluate(self, epoch: int) -> list[dict]:
        loss = self.epoch_loss if epoch > 0 else math.nan
        return [{"epoch": epoch, "split": "train", "loss": loss, "accuracy": math.nan},
                {"epoch": epoch, "split": "test", "loss": math.nan,
                 "accuracy": self.knn_accuracy()}]

    def state(self) -> dict:
        rest = {k: v for k, v in self.moco.state_dict().items() if not k.startswith("query.")}
        return {"model": self.model.state_dict(), "moco": rest,
                "optimizer": self.optimiser.state_dict()}

    def load_state(self, state: dict) -> None:
        query = {f"query.{k}": v for k, v in state["model"].items()}
        self.moco.load_state_dict({**query, **state["moco"]})
        self.optimiser.load_state_dict(state["optimizer"])


RUNS = {"supervised": SupervisedRun, "moco": MocoRun}


def _save(state: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _last_checkpoint(state_dir: Path, key: str, epochs: int) -> int:
    """The last epoch whose checkpoint exists and was trained with the same settings."""
    last = -1
    for e in range(epochs + 1):
        path = state_dir / f"epoch{e}.pt"
        if not path.exists():
            break
        if torch.load(path, map_location="cpu", weights_only=True).get("fingerprint") != key:
            break
        last = e
    return last


def _start(model_spec: dict, seed: int, data: dict, settings: dict, device):
    objective = settings.get("objective", "supervised")
    if objective not in OBJECTIVES:
        raise InputError(f"train.objective: unknown objective {objective!r}; choose from "
                         f"{', '.join(OBJECTIVES)}")
    sets = (image_dataset(data, "train"), image_dataset(data, "test"))
    run = RUNS[objective](model_spec, seed, data, settings, sets, device)
    check_image_size(run.model, data["image_size"])
    return run


def _summary(rows: list[dict]) -> str:
    """'train loss 0.6, accuracy 0.75; test …', leaving out what is NaN."""
    return "; ".join(f"{row['split']} " + ", ".join(
        f"{what} {row[what]:.3f}" for what in ("loss", "accuracy") if not math.isnan(row[what]))
        for row in rows)


def train(model_spec: dict, seed: int, data: dict, settings: dict, state_dir: Path,
          checkpoints: list[Path], log: Path, device="cpu", stop_after: int | None = None,
          labels: dict | None = None) -> None:
    """Train ``model_spec`` (arch, width, small_input) from ``seed`` for ``settings["epochs"]``.

    Writes ``checkpoints[e]`` for every epoch e = 0 … E (hard links into ``state_dir``) and the
    accuracy log ``log`` (``labels``, epoch, split, loss, accuracy). ``stop_after`` ends the run
    after that epoch, as a kill would (used to test resuming). A checkpoint holds ``model`` (the
    state of the module :func:`load_checkpoint` rebuilds from ``spec``; for MoCo, the query
    encoder), ``optimizer``, ``epoch``, ``spec``, ``fingerprint`` and ``history``; a MoCo
    checkpoint also holds ``moco`` (key encoder, queue and queue position).
    """
    run = _start(model_spec, seed, data, settings, device)
    result_settings = {k: v for k, v in settings.items() if k not in NOT_FINGERPRINTED}
    key = fingerprint({"model": run.spec, "seed": seed, "data": data, "train": result_settings})
    epochs = settings["epochs"]
    state_dir.mkdir(parents=True, exist_ok=True)
    last = _last_checkpoint(state_dir, key, epochs)
    history = []
    if last >= 0:
        state = torch.load(state_dir / f"epoch{last}.pt", map_location=device, weights_only=True)
        run.load_state(state)
        history = state["history"]
        print(f"resuming after epoch {last} ({state_dir / f'epoch{last}.pt'})", flush=True)

    for epoch in range(last + 1, epochs + 1):
        torch.manual_seed(_epoch_seed(seed, epoch))
        if epoch > 0:
            run.train_epoch(epoch)
        history.extend(run.evaluate(epoch))
        print(f"epoch {epoch}: {_summary(history[-2:])}", flush=True)
        _save({**run.state(), "epoch": epoch, "spec": run.spec, "fingerprint": key,
               "history": history}, state_dir / f"epoch{epoch}.pt")
        if stop_after is not None and epoch >= stop_after:
            return
    for epoch, path in enumerate(checkpoints):
        _publish(state_dir / f"epoch{epoch}.pt", Path(path))
    write_table(pd.DataFrame([{**(labels or {}), **row} for row in history]), log)


def _publish(source: Path, target: Path) -> None:
    """Put a finished checkpoint at its declared output path (a hard link when possible)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    link_or_copy(source, target)
