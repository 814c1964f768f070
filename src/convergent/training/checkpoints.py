"""What every training run shares: seeding by epoch, a checkpoint per epoch, resuming after a
kill, publishing the finished checkpoints, and the epoch loop that ties them together.

A run trains for E epochs and keeps E + 1 checkpoints: ``epoch0`` is the untrained network.
Whatever is random in epoch e is seeded by (seed, e) through :func:`epoch_seed`: the loop
reseeds torch's global generator with it at the start of each epoch (dropout), and each run
draws its batch order from a generator seeded with it. So a run resumed after any finished epoch
reaches the same weights as one that never stopped.

Checkpoints accumulate in a *store*, a state folder that outlives a killed job; each is written
under a temporary name and renamed into place, so a half-written one never looks complete. Each
carries a fingerprint of the settings that produced it, and a rerun resumes after the last
consecutive epoch whose fingerprint matches its own (changed settings start over). Two layouts:

- :class:`FileStore`: ``epoch{e}.pt``, one ``torch.save`` file per epoch (vision models);
- :class:`FolderStore`: ``epoch{e}/``, one ``save_pretrained`` folder per epoch plus
  ``convergent.json`` (language models, loadable as any Hugging Face model).

When every epoch is done, :func:`run_epochs` publishes each checkpoint at its declared output
path (hard links into the store where the file system allows) and writes the log table.

A *run* is what the loop trains. It provides ``train_epoch(epoch)``, ``evaluate(epoch)`` (log
rows with epoch, split, loss, accuracy), ``summary(rows)`` (the progress line) and
``record(epoch, key, history)`` (the metadata stored beside the weights, with ``fingerprint``
and ``history``); for a :class:`FileStore` also ``state()`` / ``load_state(state)``, for a
:class:`FolderStore` ``save_files(folder)`` / ``load_files(folder)``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import pandas as pd
import torch

from ..io import atomic_dir, atomic_path, link_or_copy, write_table


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of everything random in epoch ``epoch`` of a run from ``seed``."""
    return seed * 100_003 + epoch


class Run(Protocol):
    def train_epoch(self, epoch: int) -> None: ...

    def evaluate(self, epoch: int) -> list[dict]: ...

    def summary(self, rows: list[dict]) -> str: ...

    def record(self, epoch: int, key: str, history: list[dict]) -> dict: ...


class FileStore:
    """One ``torch.save`` file per epoch, ``root/epoch{e}.pt``: the run's ``state()`` and its
    ``record``, loaded back with ``weights_only=True``."""

    def __init__(self, root: Path, device="cpu"):
        self.root, self.device = Path(root), device

    def path(self, epoch: int) -> Path:
        return self.root / f"epoch{epoch}.pt"

    def fingerprint(self, epoch: int) -> str | None:
        """The stored checkpoint's fingerprint; None when there is none."""
        path = self.path(epoch)
        if not path.exists():
            return None
        return torch.load(path, map_location="cpu", weights_only=True).get("fingerprint")

    def save(self, epoch: int, run, record: dict) -> None:
        with atomic_path(self.path(epoch)) as tmp:
            torch.save({**run.state(), **record}, tmp)

    def load(self, epoch: int, run) -> list[dict]:
        """Restore ``run`` to the end of ``epoch``; its log rows so far."""
        state = torch.load(self.path(epoch), map_location=self.device, weights_only=True)
        run.load_state(state)
        return state["history"]

    def publish(self, epoch: int, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()
        link_or_copy(self.path(epoch), target)


class FolderStore:
    """One folder per epoch, ``root/epoch{e}/``: what the run's ``save_files`` writes, and the
    run's ``record`` as ``convergent.json``, whose presence marks the folder complete."""

    STATE_FILE = "convergent.json"

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, epoch: int) -> Path:
        return self.root / f"epoch{epoch}"

    def fingerprint(self, epoch: int) -> str | None:
        state = self.path(epoch) / self.STATE_FILE
        if not state.is_file():
            return None
        return json.loads(state.read_text()).get("fingerprint")

    def save(self, epoch: int, run, record: dict) -> None:
        with atomic_dir(self.path(epoch)) as tmp:
            run.save_files(tmp)
            (tmp / self.STATE_FILE).write_text(json.dumps(record, indent=1))

    def load(self, epoch: int, run) -> list[dict]:
        folder = self.path(epoch)
        run.load_files(folder)
        return json.loads((folder / self.STATE_FILE).read_text())["history"]

    def publish(self, epoch: int, target: Path) -> None:
        with atomic_dir(target) as tmp:
            for file in sorted(self.path(epoch).iterdir()):
                link_or_copy(file, tmp / file.name)


def last_checkpoint(store, key: str, epochs: int) -> int:
    """The last epoch e ≤ ``epochs`` such that epochs 0 … e are all stored with fingerprint
    ``key``; -1 when epoch 0 is not."""
    last = -1
    for epoch in range(epochs + 1):
        if store.fingerprint(epoch) != key:
            break
        last = epoch
    return last


def run_epochs(run: Run, store, key: str, epochs: int, seed: int,
               checkpoints: Sequence[Path], log: Path, labels: dict | None = None,
               stop_after: int | None = None) -> None:
    """Train ``run`` to ``epochs``, resuming from ``store``; then publish and write the log.

    Resumes after :func:`last_checkpoint`; each remaining epoch e reseeds torch with
    :func:`epoch_seed`, trains (e > 0), evaluates and stores its checkpoint. Then checkpoint e
    is published at ``checkpoints[e]`` and ``log`` gets every epoch's rows, ``labels`` first.
    ``stop_after`` ends the run after storing that epoch, as a kill would (to test resuming).
    """
    store.root.mkdir(parents=True, exist_ok=True)
    last = last_checkpoint(store, key, epochs)
    history = []
    if last >= 0:
        history = store.load(last, run)
        print(f"resuming after epoch {last} ({store.path(last)})", flush=True)
    for epoch in range(last + 1, epochs + 1):
        torch.manual_seed(epoch_seed(seed, epoch))
        if epoch > 0:
            run.train_epoch(epoch)
        rows = run.evaluate(epoch)
        history.extend(rows)
        print(f"epoch {epoch}: {run.summary(rows)}", flush=True)
        store.save(epoch, run, run.record(epoch, key, history))
        if stop_after is not None and epoch >= stop_after:
            return
    for epoch, path in enumerate(checkpoints):
        store.publish(epoch, Path(path))
    write_table(pd.DataFrame([{**(labels or {}), **row} for row in history]), log)
