"""Supervised training per (model, seed) with a checkpoint per epoch, resumable.

``epoch0`` is the untrained network. Each epoch's checkpoint (model and optimiser state) is
written atomically to a state folder that outlives a killed job, and a rerun resumes after the
last checkpoint whose training settings match. The batch order of epoch e is drawn from a
generator seeded by (seed, e), so a resumed run produces the same weights as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from .data import load_images
from .io import atomic_path, write_table
from .models import build_model


def fingerprint(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int,
             device) -> tuple[float, float]:
    """Mean cross-entropy and accuracy."""
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size].to(device)
            y = labels[start:start + batch_size].to(device)
            logits = model(x)
            loss += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
    return loss / len(images), correct / len(images)


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


def train(model_spec: dict, seed: int, data: dict, settings: dict, state_dir: Path,
          checkpoints: list[Path], log: Path, device="cpu", stop_after: int | None = None,
          labels: dict | None = None) -> None:
    """Train ``model_spec`` (arch, width, small_input) from ``seed`` for ``settings["epochs"]``.

    Writes ``checkpoints[e]`` for every epoch e = 0 … E (hard links into ``state_dir``) and the
    accuracy log ``log`` (``labels``, epoch, split, loss, accuracy). ``stop_after`` ends the run
    after that epoch, as a kill would (used to test resuming).
    """
    train_set, test_set = load_images(data, "train"), load_images(data, "test")
    num_classes = len(train_set.classes)
    spec = {**model_spec, "num_classes": num_classes}
    key = fingerprint({"model": spec, "seed": seed, "data": data, "train": settings})
    epochs, batch = settings["epochs"], settings["batch_size"]
    state_dir.mkdir(parents=True, exist_ok=True)

    model = build_model(spec["arch"], num_classes, spec["width"], spec["small_input"], seed=seed)
    model.to(device)
    optimiser = torch.optim.SGD(model.parameters(), lr=settings["lr"],
                                momentum=settings["momentum"],
                                weight_decay=settings["weight_decay"])
    last = _last_checkpoint(state_dir, key, epochs)
    history = []
    if last >= 0:
        state = torch.load(state_dir / f"epoch{last}.pt", map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimizer"])
        history = state["history"]
        print(f"resuming after epoch {last} ({state_dir / f'epoch{last}.pt'})", flush=True)

    for epoch in range(last + 1, epochs + 1):
        if epoch > 0:
            model.train()
            order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(
                seed * 100_003 + epoch))
            for start in range(0, len(order), batch):
                idx = order[start:start + batch]
                optimiser.zero_grad()
                loss = nn.functional.cross_entropy(model(train_set.images[idx].to(device)),
                                                   train_set.labels[idx].to(device))
                loss.backward()
                optimiser.step()
        for split, part in (("train", train_set), ("test", test_set)):
            loss, accuracy = evaluate(model, part.images, part.labels, batch, device)
            history.append({"epoch": epoch, "split": split, "loss": loss, "accuracy": accuracy})
        print(f"epoch {epoch}: " + ", ".join(f"{row['split']} accuracy {row['accuracy']:.3f}"
                                             for row in history[-2:]), flush=True)
        _save({"model": model.state_dict(), "optimizer": optimiser.state_dict(),
               "epoch": epoch, "spec": spec, "fingerprint": key, "history": history},
              state_dir / f"epoch{epoch}.pt")
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
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def load_checkpoint(path: str | os.PathLike, device="cpu") -> tuple[nn.Module, dict]:
    """The model stored in a checkpoint (loaded with ``weights_only=True``) and its spec."""
    state = torch.load(path, map_location=device, weights_only=True)
    spec = state["spec"]
    model = build_model(spec["arch"], spec["num_classes"], spec["width"], spec["small_input"])
    model.load_state_dict(state["model"])
    return model, spec
