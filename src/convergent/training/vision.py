"""Training a vision model per (model, seed): supervised or MoCo v2, a ``.pt`` checkpoint per
epoch, resumable (the shared machinery is :mod:`convergent.training.checkpoints`).

Seeding: the batch order of epoch e is a permutation drawn from a generator seeded with
:func:`~convergent.training.checkpoints.epoch_seed` (seed, e), the epoch loop reseeds the
global torch generator with the same number (dropout), and each augmented view is a function of
(seed, e, image, view) alone (:class:`convergent.data.images.SeededViews`). A resumed run thus
ends with the weights of an uninterrupted one, whatever ``num_workers``.

Settings: the config's ``train`` section (defaults from the schema, :mod:`convergent.config`)
plus ``objective``, the model's training objective (default from the schema's model entry).
``num_workers`` (data-loader processes for an ``imagefolder`` source) cannot change results and
is left out of the settings fingerprint. The run keeps the checkpoints of its axis
(:mod:`.axis`: ``keep``, ``sub_epochs``). Objectives:

- ``supervised``: cross-entropy (with ``label_smoothing``), ``optimizer`` sgd (``momentum``) or
  adamw, both with ``weight_decay``; the rate follows ``schedule`` per optimisation step
  (:mod:`.schedule`). With ``augment`` each training image is seen as a random resized crop
  with a random horizontal flip; without it, as loaded. Logged per epoch and split (train,
  test): cross-entropy (without smoothing) and top-1 accuracy, the train split's on
  ``eval_train`` images when set (:func:`~convergent.training.checkpoints.eval_rows`).
- ``moco``: MoCo v2 (:mod:`convergent.models.moco`) with the settings under ``moco``; the
  top-level optimizer, ``lr``, schedule, ``momentum`` and ``weight_decay`` do not apply. SGD
  follows the cosine schedule per step, lr_t = lr · ½ (1 + cos(π t / T)) at step t of T, and
  an epoch's last incomplete batch is dropped. Logged: on the train split the mean InfoNCE loss
  of the epoch's steps so far (no accuracy; none at all in epoch 0); on the test split the
  weighted kNN accuracy (k = ``knn_k``, cosine similarity, weights exp(s / ``knn_temperature``))
  of the backbone's features, i.e. the projection head's input, with the train split as memory
  bank (no loss).

Both count their optimisation steps; the count is part of the checkpoint, so a resumed run
recomputes each step's rate exactly, and the optimiser's state (momentum, Adam's moments)
travels with it.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from ..config import default, with_defaults
from ..data.images import SeededViews, image_dataset, iterate_batches, training_augmentation
from ..errors import InputError
from ..io import fingerprint
from ..models import build_model, check_image_size
from ..models.moco import (
    MoCo,
    attach_projection_head,
    backbone_features,
    knn_predict,
    moco_augmentation,
    projection_sizes,
)
from .axis import checkpoint_axis
from .checkpoints import FileStore, epoch_seed, eval_rows, run_epochs
from .schedule import learning_rate, rate_of

__all__ = ["MocoRun", "OBJECTIVES", "SupervisedRun", "build_optimiser", "evaluate",
           "moco_settings", "train", "train_settings"]

#: Settings that do not change the weights, left out of the fingerprint (which checkpoints
#: are kept changes what a rerun must redo, which :func:`.checkpoints.last_checkpoint` sees).
NOT_FINGERPRINTED = ("num_workers", "keep", "sub_epochs")


def _order(seed: int, epoch: int, size: int) -> torch.Tensor:
    """The seeded batch order of one epoch."""
    return torch.randperm(size, generator=torch.Generator().manual_seed(epoch_seed(seed, epoch)))


def evaluate(model: nn.Module, images, batch_size: int, device, num_workers: int = 0,
             rows: list[int] | None = None) -> tuple[float, float]:
    """Mean cross-entropy and top-1 accuracy of ``model`` on a dataset of (image, label), or
    on its items ``rows``."""
    model.eval()
    order = torch.arange(len(images)) if rows is None else torch.tensor(rows)
    loss, correct = 0.0, 0
    with torch.no_grad():
        for x, y in iterate_batches(images, order, batch_size, num_workers):
            x, y = x.to(device), y.to(device)
            logits = model(x)
            loss += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
    return loss / len(order), correct / len(order)


def moco_settings(settings: dict) -> dict:
    """The MoCo settings: ``settings["moco"]`` over the schema's ``train.moco`` defaults."""
    return with_defaults(("train", "moco"), settings.get("moco"))


def train_settings(settings: dict) -> dict:
    """``settings`` (the ``train`` section and ``objective``) with the schema's defaults."""
    given = {k: v for k, v in settings.items() if k != "objective"}
    objective = settings.get("objective", default(("models", "*", "objective")))
    if objective not in OBJECTIVES:
        raise InputError(f"train.objective: unknown objective {objective!r}; choose from "
                         f"{', '.join(OBJECTIVES)}")
    return {**with_defaults("train", given), "objective": objective}


def build_optimiser(parameters, name: str, lr: float, momentum: float,
                    weight_decay: float) -> torch.optim.Optimizer:
    """``sgd`` (with ``momentum``) or ``adamw`` (decoupled weight decay) at rate ``lr``."""
    if name == "adamw":
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    return torch.optim.SGD(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)


class _VisionRun:
    """What both objectives share: stepping on the schedule, pausing inside an epoch for a
    sub-epoch checkpoint, the checkpoint record and the progress line. A subclass provides
    ``batches(epoch)``, ``step(batch)`` (one optimisation step), ``rate(step)``,
    ``steps_per_epoch()`` and ``train_mode()``."""

    spec: dict
    optimiser: torch.optim.Optimizer
    steps_done = 0

    def train_epoch(self, epoch: int, pauses=()):
        """Train one epoch, one step at a time at the schedule's rate; after step k of the
        epoch for each k in ``pauses``, yield k (the caller evaluates and checkpoints; training
        mode is restored before going on)."""
        self.train_mode()
        for k, batch in enumerate(self.batches(epoch), start=1):
            rate = self.rate(self.steps_done)
            for group in self.optimiser.param_groups:
                group["lr"] = rate
            self.step(batch)
            self.steps_done += 1
            if k in pauses:
                yield k
                self.train_mode()

    def record(self, epoch, key: str, history: list[dict]) -> dict:
        return {"epoch": epoch, "step": self.steps_done, "spec": self.spec, "fingerprint": key,
                "history": history}

    def schedule_state(self) -> dict:
        return {"steps_done": self.steps_done}

    def load_schedule(self, state: dict) -> None:
        self.steps_done = int(state["schedule"]["steps_done"])

    @staticmethod
    def summary(rows: list[dict]) -> str:
        """'train loss 0.6, accuracy 0.75; test …', leaving out what is NaN."""
        return "; ".join(f"{row['split']} " + ", ".join(
            f"{what} {row[what]:.3f}" for what in ("loss", "accuracy")
            if not math.isnan(row[what])) for row in rows)


class SupervisedRun(_VisionRun):
    """Cross-entropy training of one architecture; the module is ``self.model``. ``settings``
    are complete (:func:`train_settings`)."""

    def __init__(self, model_spec: dict, seed: int, data: dict, settings: dict, sets: tuple,
                 device):
        self.train_set, self.test_set = sets
        self.seed, self.data, self.settings, self.device = seed, data, settings, device
        self.spec = {**model_spec, "num_classes": len(self.train_set.classes)}
        self.model = build_model(self.spec["arch"], self.spec["num_classes"], self.spec["width"],
                                 self.spec["small_input"], seed=seed).to(device)
        self.optimiser = build_optimiser(self.model.parameters(), settings["optimizer"],
                                         settings["lr"], settings["momentum"],
                                         settings["weight_decay"])

    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.train_set) / self.settings["batch_size"])

    def rate(self, step: int) -> float:
        return rate_of(self.settings, step, self.steps_per_epoch())

    def train_mode(self) -> None:
        self.model.train()

    def batches(self, epoch: int):
        images = self.train_set
        if self.settings["augment"]:
            images = SeededViews(images, training_augmentation(self.data["image_size"]),
                                 self.seed, epoch)
        return iterate_batches(images, _order(self.seed, epoch, len(images)),
                               self.settings["batch_size"], self.settings["num_workers"])

    def step(self, batch) -> None:
        x, y = batch
        self.optimiser.zero_grad()
        loss = nn.functional.cross_entropy(self.model(x.to(self.device)), y.to(self.device),
                                           label_smoothing=self.settings["label_smoothing"])
        loss.backward()
        self.optimiser.step()

    def evaluate(self, epoch) -> list[dict]:
        rows = []
        measured = eval_rows(len(self.train_set), self.settings["eval_train"])
        for split, images, subset in (("train", self.train_set, measured),
                                      ("test", self.test_set, None)):
            loss, accuracy = evaluate(self.model, images, self.settings["batch_size"],
                                      self.device, self.settings["num_workers"], subset)
            rows.append({"epoch": epoch, "split": split, "loss": loss, "accuracy": accuracy})
        return rows

    def state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimiser.state_dict(),
                "schedule": self.schedule_state()}

    def load_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimiser.load_state_dict(state["optimizer"])
        self.load_schedule(state)


class MocoRun(_VisionRun):
    """MoCo v2 training; the query encoder (backbone and projection head) is ``self.model``.
    ``settings`` are complete (:func:`train_settings`)."""

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
        self.optimiser = build_optimiser(self.model.parameters(), "sgd", cfg["lr"],
                                         cfg["momentum"], cfg["weight_decay"])
        self.losses: list[float] = []

    def steps_per_epoch(self) -> int:
        return len(self.train_set) // self.settings["batch_size"]  # the last batch is dropped

    def rate(self, step: int) -> float:
        """MoCo v2's cosine schedule, per step."""
        return learning_rate(step, self.moco_settings["lr"], self.steps_per_epoch(),
                             self.settings["epochs"], "cosine")

    def train_mode(self) -> None:
        self.moco.train()

    def batches(self, epoch: int):
        self.losses = []
        views = SeededViews(self.train_set, moco_augmentation(self.data["image_size"]),
                            self.seed, epoch, views=2)
        return iterate_batches(views, _order(self.seed, epoch, len(views)),
                               self.settings["batch_size"], self.settings["num_workers"],
                               drop_last=True)

    def step(self, batch) -> None:
        view_q, view_k, _ = batch
        loss, _ = self.moco(view_q.to(self.device), view_k.to(self.device))
        self.optimiser.zero_grad()
        loss.backward()
        self.optimiser.step()
        self.losses.append(float(loss.detach()))

    @torch.no_grad()
    def _features(self, images):
        """(features, labels) batches of the query backbone on a dataset, in eval mode."""
        self.model.eval()
        for x, y in iterate_batches(images, torch.arange(len(images)),
                                    self.settings["batch_size"], self.settings["num_workers"]):
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

    def evaluate(self, epoch) -> list[dict]:
        loss = sum(self.losses) / len(self.losses) if epoch > 0 and self.losses else math.nan
        return [{"epoch": epoch, "split": "train", "loss": loss, "accuracy": math.nan},
                {"epoch": epoch, "split": "test", "loss": math.nan,
                 "accuracy": self.knn_accuracy()}]

    def state(self) -> dict:
        rest = {k: v for k, v in self.moco.state_dict().items() if not k.startswith("query.")}
        return {"model": self.model.state_dict(), "moco": rest,
                "optimizer": self.optimiser.state_dict(), "schedule": self.schedule_state()}

    def load_state(self, state: dict) -> None:
        query = {f"query.{k}": v for k, v in state["model"].items()}
        self.moco.load_state_dict({**query, **state["moco"]})
        self.optimiser.load_state_dict(state["optimizer"])
        self.load_schedule(state)


RUNS = {"supervised": SupervisedRun, "moco": MocoRun}
OBJECTIVES = tuple(RUNS)


def _start(model_spec: dict, seed: int, data: dict, settings: dict, device):
    settings = train_settings(settings)
    sets = (image_dataset(data, "train"), image_dataset(data, "test"))
    run = RUNS[settings["objective"]](model_spec, seed, data, settings, sets, device)
    check_image_size(run.model, data["image_size"])
    return run


def train(model_spec: dict, seed: int, data: dict, settings: dict, state_dir: Path,
          checkpoints: list[Path], log: Path, device="cpu", stop_after: int | None = None,
          labels: dict | None = None) -> None:
    """Train ``model_spec`` (arch, width, small_input) from ``seed`` for ``settings["epochs"]``.

    Writes one path of ``checkpoints`` per checkpoint of the run's axis, in order
    (:func:`.axis.checkpoint_axis`: the kept epochs and the sub-epoch fractions; hard links
    into ``state_dir``) and the log ``log`` (``labels``, epoch, split, loss, accuracy).
    ``stop_after`` ends the run after that epoch, as a kill would (for tests of resuming). A
    checkpoint holds ``model`` (the state of the module
    :func:`convergent.models.load_checkpoint` rebuilds from ``spec``; for MoCo, the query
    encoder), ``optimizer``, ``schedule`` (the steps taken), ``epoch``,
    ``step``, ``spec``, ``fingerprint`` and ``history``; a MoCo checkpoint also holds ``moco``
    (key encoder, queue and its position).
    The fingerprint covers the model's spec, the seed, ``data`` and ``settings`` as given
    (without :data:`NOT_FINGERPRINTED`), so a rerun with the same inputs resumes.
    """
    run = _start(model_spec, seed, data, settings, device)
    result_settings = {k: v for k, v in settings.items() if k not in NOT_FINGERPRINTED}
    key = fingerprint({"model": run.spec, "seed": seed, "data": data, "train": result_settings})
    axis = checkpoint_axis(run.settings["epochs"], run.settings["keep"],
                           run.settings["sub_epochs"])
    run_epochs(run, FileStore(Path(state_dir), device), key, axis, seed, checkpoints, log,
               labels=labels, stop_after=stop_after)
