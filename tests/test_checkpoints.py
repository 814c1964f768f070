"""The shared epoch loop and its checkpoint stores, on a toy run that trains in milliseconds:
seeding by epoch, resuming after a stop to the same weights, fingerprints, publishing."""

import json
import math

import pandas as pd
import pytest
import torch
from torch import nn

from convergent.theory import digits
from convergent.training import checkpoints as ck
from convergent.training import language, vision
from convergent.training.checkpoints import (
    FileStore,
    FolderStore,
    epoch_seed,
    last_checkpoint,
    run_epochs,
)

pytestmark = pytest.mark.usefixtures("one_thread")

EPOCHS = 3


class ToyRun:
    """A linear regression whose steps use both the seeded batch order and the global torch
    generator (noise standing in for dropout): resuming is exact only if both are reseeded."""

    def __init__(self, seed: int):
        self.seed = seed
        generator = torch.Generator().manual_seed(0)
        self.x, self.y = torch.randn(40, 3, generator=generator), torch.randn(40, 1,
                                                                             generator=generator)
        torch.manual_seed(seed)
        self.model = nn.Linear(3, 1)
        self.optimiser = torch.optim.SGD(self.model.parameters(), lr=0.1, momentum=0.9)
        self.trained = []

    def train_epoch(self, epoch, pauses=()):
        self.trained.append(epoch)
        order = torch.randperm(40, generator=torch.Generator().manual_seed(
            epoch_seed(self.seed, epoch)))
        for k, start in enumerate(range(0, 40, 8), start=1):
            idx = order[start:start + 8]
            noise = 0.1 * torch.randn(len(idx), 1)
            loss = ((self.model(self.x[idx]) + noise - self.y[idx]) ** 2).mean()
            self.optimiser.zero_grad()
            loss.backward()
            self.optimiser.step()
            if k in pauses:
                yield k

    @staticmethod
    def steps_per_epoch():
        return 5

    def evaluate(self, epoch):
        with torch.no_grad():
            loss = float(((self.model(self.x) - self.y) ** 2).mean())
        return [{"epoch": epoch, "split": "train", "loss": loss, "accuracy": math.nan}]

    @staticmethod
    def summary(rows):
        return f"loss {rows[0]['loss']:.3f}"

    def record(self, epoch, key, history):
        return {"epoch": epoch, "fingerprint": key, "history": history}

    def state(self):
        return {"model": self.model.state_dict(), "optimizer": self.optimiser.state_dict()}

    def load_state(self, state):
        self.model.load_state_dict(state["model"])
        self.optimiser.load_state_dict(state["optimizer"])

    def save_files(self, folder):
        torch.save(self.state(), folder / "state.pt")

    def load_files(self, folder):
        self.load_state(torch.load(folder / "state.pt", weights_only=True))


def file_run(out, key="k", stop_after=None, seed=1):
    run = ToyRun(seed)
    targets = [out / "published" / f"epoch{e}.pt" for e in range(EPOCHS + 1)]
    run_epochs(run, FileStore(out / "state"), key, EPOCHS, seed, targets, out / "log.csv",
               labels={"model": "toy"}, stop_after=stop_after)
    return run, targets


def weights(path):
    return torch.load(path, weights_only=True)["model"]


def test_the_epoch_seed_is_one_formula_everywhere():
    assert epoch_seed(0, 0) == 0 and epoch_seed(2, 5) == 2 * 100_003 + 5
    assert len({epoch_seed(s, e) for s in range(5) for e in range(50)}) == 250
    for module in (vision, language, digits):
        assert module.epoch_seed is ck.epoch_seed


def test_a_run_stopped_after_an_epoch_resumes_to_the_same_weights(tmp_path, capsys):
    straight, published = file_run(tmp_path / "straight")
    assert straight.trained == [1, 2, 3]
    first, _ = file_run(tmp_path / "resumed", stop_after=1)
    state = tmp_path / "resumed" / "state"
    assert first.trained == [1] and sorted(p.name for p in state.iterdir()) == [
        "epoch0.pt", "epoch1.pt"]
    assert not (tmp_path / "resumed" / "log.csv").exists()
    assert not (tmp_path / "resumed" / "published").exists()
    stamp = (state / "epoch1.pt").stat().st_mtime_ns
    capsys.readouterr()
    resumed, targets = file_run(tmp_path / "resumed")
    assert resumed.trained == [2, 3] and (state / "epoch1.pt").stat().st_mtime_ns == stamp
    assert f"resuming after epoch 1 ({state / 'epoch1.pt'})" in capsys.readouterr().out
    for a, b in zip(published, targets, strict=True):
        assert all(torch.equal(weights(a)[k], weights(b)[k]) for k in weights(a))
    assert not torch.equal(weights(published[0])["weight"], weights(published[3])["weight"])
    assert pd.read_csv(tmp_path / "straight" / "log.csv").equals(
        pd.read_csv(tmp_path / "resumed" / "log.csv"))
    assert list(pd.read_csv(tmp_path / "straight" / "log.csv").columns) == [
        "model", "epoch", "split", "loss", "accuracy"]
    # a finished run resumes after its last epoch and trains nothing
    again, _ = file_run(tmp_path / "resumed")
    assert again.trained == []


def test_other_settings_start_over(tmp_path):
    file_run(tmp_path, stop_after=1)
    store = FileStore(tmp_path / "state")
    assert last_checkpoint(store, "k", EPOCHS) == 1
    assert last_checkpoint(store, "other", EPOCHS) == -1
    run, _ = file_run(tmp_path, key="other")
    assert run.trained == [1, 2, 3]
    assert all(store.fingerprint(e) == "other" for e in range(EPOCHS + 1))


def test_the_folder_store_resumes_and_ignores_partial_folders(tmp_path):
    def folder_run(out, stop_after=None):
        run = ToyRun(seed=2)
        targets = [out / "published" / f"epoch{e}" for e in range(EPOCHS + 1)]
        run_epochs(run, FolderStore(out / "state"), "k", EPOCHS, 2, targets, out / "log.csv",
                   stop_after=stop_after)
        return run, targets

    _, straight = folder_run(tmp_path / "straight")
    folder_run(tmp_path / "resumed", stop_after=1)
    state = tmp_path / "resumed" / "state"
    # what a kill while writing epoch 2 leaves behind does not count as epoch 2
    (state / ".epoch2.x.partial").mkdir()
    (state / ".epoch2.x.partial" / "state.pt").write_bytes(b"")
    (state / "epoch2").mkdir()  # no convergent.json: incomplete
    assert last_checkpoint(FolderStore(state), "k", EPOCHS) == 1
    resumed, targets = folder_run(tmp_path / "resumed")
    assert resumed.trained == [2, 3]
    for a, b in zip(straight, targets, strict=True):
        assert sorted(p.name for p in b.iterdir()) == ["convergent.json", "state.pt"]
        wa, wb = (torch.load(p / "state.pt", weights_only=True)["model"] for p in (a, b))
        assert all(torch.equal(wa[k], wb[k]) for k in wa)
    record = json.loads((targets[3] / "convergent.json").read_text())
    assert record["epoch"] == 3 and record["fingerprint"] == "k" and len(record["history"]) == 4
