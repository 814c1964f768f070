"""What every training run shares: seeding by epoch, a checkpoint per epoch, resuming after a
kill, publishing the kept checkpoints, and the epoch loop that ties them together.

A run trains for E epochs and publishes the checkpoints of its axis (:mod:`.axis`): the kept
epochs, ``epoch0`` (the untrained network) and ``epochE`` among them, and checkpoints inside
epoch 1 after fractions of its steps (``epoch0.1``). Whatever is random in epoch e is seeded by
(seed, e) through :func:`epoch_seed`: the loop reseeds torch's global generator with it at the
start of each epoch (dropout), and each run draws its batch order from a generator seeded with
it. So a run resumed after any finished epoch reaches the same weights as one that never
stopped. Resuming is per whole epoch: a run killed inside epoch 1 redoes it, sub-epoch
checkpoints included.

Checkpoints accumulate in a *store*, a state folder that outlives a killed job; each is written
under a temporary name and renamed into place, so a half-written one never looks complete. The
store holds every kept checkpoint and the latest epoch (an epoch that is not kept is removed
once the next is stored, so a 90-epoch run keeping 12 never holds 91). Each carries a
fingerprint of the settings that produced it, and a rerun resumes after the latest epoch whose
fingerprint matches its own and before which every kept checkpoint is stored
(:func:`last_checkpoint`; changed settings start over). Two layouts:

- :class:`FileStore`: ``epoch{e}.pt``, one ``torch.save`` file per checkpoint (vision models);
- :class:`FolderStore`: ``epoch{e}/``, one ``save_pretrained`` folder per checkpoint plus
  ``convergent.json`` (language models, loadable as any Hugging Face model).

When every epoch is done, :func:`run_epochs` publishes each checkpoint at its declared output
path (hard links into the store where the file system allows) and writes the log table.

A *run* is what the loop trains. It provides ``train_epoch(epoch, pauses)`` (a generator that
trains the epoch and yields after step k for each k in ``pauses``), ``evaluate(epoch)`` (log
rows with epoch, split, loss, accuracy), ``summary(rows)`` (the progress line) and
``record(epoch, key, history)`` (the metadata stored beside the weights, with ``fingerprint``
and ``history``); for a :class:`FileStore` also ``state()`` / ``load_state(state)``, for a
:class:`FolderStore` ``save_files(folder)`` / ``load_files(folder)``; with sub-epoch
checkpoints also ``steps_per_epoch()``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

import torch

from ..errors import InputError
from ..io import atomic_dir, atomic_path, link_or_copy, write_table
from .axis import checkpoint_axis, epoch_label, epoch_value, sub_epoch_steps, whole_epochs


def eval_rows(count: int, eval_train: int | None) -> list[int]:
    """The training items a checkpoint's train-split loss and accuracy are measured on: all
    ``count`` of them, or ``eval_train`` of them drawn once from a fixed seed (0), the same for
    every checkpoint and every network seed, so their curves compare; in ascending order."""
    if eval_train is None or eval_train >= count:
        return list(range(count))
    order = torch.randperm(count, generator=torch.Generator().manual_seed(0))
    return sorted(order[:eval_train].tolist())


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of everything random in epoch ``epoch`` of a run from ``seed``."""
    return seed * 100_003 + epoch


class Run(Protocol):
    def train_epoch(self, epoch: int, pauses) -> Iterator[int]: ...

    def evaluate(self, epoch) -> list[dict]: ...

    def summary(self, rows: list[dict]) -> str: ...

    def record(self, epoch, key: str, history: list[dict]) -> dict: ...


class FileStore:
    """One ``torch.save`` file per epoch, ``root/epoch{e}.pt``: the run's ``state()`` and its
    ``record``, loaded back with ``weights_only=True``."""

    def __init__(self, root: Path, device="cpu"):
        self.root, self.device = Path(root), device

    def path(self, epoch) -> Path:
        return self.root / f"epoch{epoch_label(epoch)}.pt"

    def remove(self, epoch) -> None:
        self.path(epoch).unlink(missing_ok=True)

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

    def path(self, epoch) -> Path:
        return self.root / f"epoch{epoch_label(epoch)}"

    def remove(self, epoch) -> None:
        shutil.rmtree(self.path(epoch), ignore_errors=True)

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


def last_checkpoint(store, key: str, epochs: int, axis: Sequence | None = None) -> int:
    """The latest epoch e ≤ ``epochs`` stored with fingerprint ``key`` such that every
    checkpoint of ``axis`` up to e is too (default axis: every epoch, so e is the end of the
    first gap); -1 when there is none."""
    kept = list(range(epochs + 1)) if axis is None else list(axis)
    known: dict = {}

    def stored(label) -> bool:
        if label not in known:
            known[label] = store.fingerprint(label) == key
        return known[label]

    for epoch in range(epochs, -1, -1):
        if stored(epoch) and all(stored(label) for label in kept if label <= epoch):
            return epoch
    return -1


def _checkpoint(run: Run, store, key: str, label, history: list[dict]) -> None:
    """Evaluate ``run``, log it and store it as checkpoint ``label``."""
    rows = run.evaluate(epoch_value(label))
    history.extend(rows)
    print(f"epoch {epoch_label(label)}: {run.summary(rows)}", flush=True)
    store.save(label, run, run.record(epoch_value(label), key, history))


def run_epochs(run: Run, store, key: str, axis: int | Sequence, seed: int,
               checkpoints: Sequence[Path], log: Path, labels: dict | None = None,
               stop_after: int | None = None) -> None:
    """Train ``run`` along ``axis``, resuming from ``store``; then publish and write the log.

    ``axis`` is the run's checkpoint axis (:func:`.axis.checkpoint_axis`; an int E stands for
    every epoch 0 … E). Resumes after :func:`last_checkpoint`; each remaining epoch e reseeds
    torch with :func:`epoch_seed`, trains (e > 0; epoch 1 pausing for each sub-epoch
    checkpoint), evaluates and stores its checkpoint. Then checkpoint ``axis[i]`` is published
    at ``checkpoints[i]`` and ``log`` gets every checkpoint's rows, ``labels`` first.
    ``stop_after`` ends the run after storing that epoch, as a kill would (to test resuming).
    """
    axis = checkpoint_axis(axis) if isinstance(axis, int) else list(axis)
    if len(checkpoints) != len(axis):
        raise InputError(f"checkpoints: expected {len(axis)} paths (epochs "
                         f"{', '.join(map(epoch_label, axis))}), got {len(checkpoints)}")
    epochs, kept = int(axis[-1]), set(whole_epochs(axis))
    store.root.mkdir(parents=True, exist_ok=True)
    last = last_checkpoint(store, key, epochs, axis)
    history = []
    if last >= 0:
        history = store.load(last, run)
        print(f"resuming after epoch {last} ({store.path(last)})", flush=True)
    inside = sub_epoch_steps(axis, run.steps_per_epoch()) if len(kept) < len(axis) else {}
    for epoch in range(last + 1, epochs + 1):
        torch.manual_seed(epoch_seed(seed, epoch))
        if epoch > 0:
            for step in run.train_epoch(epoch, inside if epoch == 1 else {}):
                for label in inside[step]:
                    _checkpoint(run, store, key, label, history)
        _checkpoint(run, store, key, epoch, history)
        if epoch - 1 >= 0 and epoch - 1 not in kept:
            store.remove(epoch - 1)  # only needed to resume from, and epoch is stored now
        if stop_after is not None and epoch >= stop_after:
            return
    for label, path in zip(axis, checkpoints, strict=True):
        store.publish(label, Path(path))
    import pandas as pd  # only for the log, at the end: a training job's start-up skips it

    write_table(pd.DataFrame([{**(labels or {}), **row} for row in history]), log)
