"""Training the tiny GPT-NeoX from scratch per seed on the generated corpus: a model folder per
epoch, resumable (the shared machinery is :mod:`convergent.training.checkpoints`).

All seeds share one corpus and one word vocabulary, both drawn from ``settings["corpus"]``; the
seed chooses the initial weights and, through
:func:`~convergent.training.checkpoints.epoch_seed`, each epoch's batch order. A sentence is
trained on framed as ``<eos> words <eos>``, so the model also learns how sentences begin and
end. The objective is AdamW on the mean next-token cross-entropy over a batch's real tokens.

Settings: the config's ``language`` section (``corpus``, ``model``, ``train``), with the
schema's defaults (:mod:`convergent.config`); its ``threads`` key is a job resource, not a
training setting, and is left out.

Each checkpoint is a folder in the Hugging Face format, written by ``save_pretrained`` (model
and tokenizer), so :func:`convergent.models.language.load_language_model` reads it like Pythia
from the hub. It also holds ``optimizer.pt`` (the AdamW state and the steps taken, read with
``weights_only=True``)
and ``convergent.json`` (epoch, seed, settings fingerprint, settings, log rows so far).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch

from ..config import with_defaults
from ..data.sentences import training_corpus
from ..errors import InputError
from ..io import fingerprint
from ..models.language import (
    build_language_model,
    build_word_tokenizer,
    load_language_model,
    next_token_stats,
    pad_right,
    tiny_gptneox_config,
)
from .axis import checkpoint_axis, epoch_label
from .checkpoints import FolderStore, epoch_seed, eval_rows, run_epochs

__all__ = ["LanguageRun", "language_settings", "settings_key", "train_language_model"]

OPTIMIZER_FILE = "optimizer.pt"
#: Keys of the config's ``language`` section that are not training settings.
NOT_SETTINGS = ("threads",)


def language_settings(settings: dict | None = None) -> dict:
    """The training settings (sections corpus, model, train): ``settings`` over the schema's
    defaults of the ``language`` section, validated; an unknown key is an ``InputError``
    naming it."""
    resolved = with_defaults("language", settings)
    return {k: v for k, v in resolved.items() if k not in NOT_SETTINGS}


def settings_key(seed: int, settings: dict) -> str:
    """The fingerprint a checkpoint must carry for a rerun with these settings to resume
    (which checkpoints inside epoch 1 are kept does not change the weights)."""
    train = {k: v for k, v in settings["train"].items() if k != "sub_epochs"}
    return fingerprint({"kind": "tiny-gptneox", "seed": seed,
                        "settings": {**settings, "train": train}})


def _frame(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """Each sentence as ``<eos> tokens <eos>``: the first word is predicted from the start
    marker and the end is predicted after the last word."""
    eos = tokenizer.eos_token_id
    return [[eos, *ids, eos] for ids in tokenizer(list(texts))["input_ids"]]


@torch.no_grad()
def _evaluate(model, sequences: list[list[int]], batch_size: int, device) -> tuple[float, float]:
    """Mean next-token cross-entropy and top-1 accuracy over all predicted tokens."""
    model.eval()
    loss, correct, count = 0.0, 0, 0
    for start in range(0, len(sequences), batch_size):
        ids, mask = (t.to(device) for t in pad_right(sequences[start:start + batch_size]))
        logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
        batch_loss, batch_correct, batch_count = next_token_stats(logits, ids, mask)
        loss, correct, count = (loss + float(batch_loss), correct + int(batch_correct),
                                count + int(batch_count))
    return loss / count, correct / count


class LanguageRun:
    """The tiny GPT-NeoX of one seed with its tokenizer, framed corpus and AdamW optimiser.
    ``settings`` are complete (:func:`language_settings`)."""

    def __init__(self, seed: int, settings: dict, device):
        self.seed, self.settings, self.device = seed, settings, device
        corpus, net = settings["corpus"], settings["model"]
        train_texts, test_texts = training_corpus(corpus["seed"], corpus["train_sentences"],
                                                  corpus["test_sentences"])
        self.tokenizer = build_word_tokenizer(train_texts)
        self.splits = {"train": _frame(self.tokenizer, train_texts),
                       "test": _frame(self.tokenizer, test_texts)}
        longest = max(len(ids) for part in self.splits.values() for ids in part)
        if longest > net["max_length"]:
            raise InputError(f"model.max_length ({net['max_length']}) is shorter than the "
                             f"longest framed corpus sentence ({longest} tokens)")
        config = tiny_gptneox_config(len(self.tokenizer), net["hidden_size"], net["layers"],
                                     net["heads"], max_length=net["max_length"],
                                     pad_token_id=self.tokenizer.pad_token_id,
                                     eos_token_id=self.tokenizer.eos_token_id)
        self.model = build_language_model(config, seed).to(device)
        self.optimiser = self._optimiser()
        self.steps_done = 0

    def _optimiser(self) -> torch.optim.Optimizer:
        opt = self.settings["train"]
        return torch.optim.AdamW(self.model.parameters(), lr=opt["lr"],
                                 weight_decay=opt["weight_decay"])

    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.splits["train"]) / self.settings["train"]["batch_size"])

    def train_epoch(self, epoch: int, pauses=()):
        """Train one epoch; after step k for each k in ``pauses``, yield k (the caller
        checkpoints; training mode is restored before going on)."""
        sequences, batch_size = self.splits["train"], self.settings["train"]["batch_size"]
        self.model.train()
        order = torch.randperm(len(sequences), generator=torch.Generator().manual_seed(
            epoch_seed(self.seed, epoch)))
        for k, start in enumerate(range(0, len(order), batch_size), start=1):
            batch = [sequences[i] for i in order[start:start + batch_size].tolist()]
            ids, mask = (t.to(self.device) for t in pad_right(batch))
            logits = self.model(input_ids=ids, attention_mask=mask, use_cache=False).logits
            loss, _, count = next_token_stats(logits, ids, mask)
            self.optimiser.zero_grad()
            (loss / count).backward()
            self.optimiser.step()
            self.steps_done += 1
            if k in pauses:
                yield k
                self.model.train()

    def evaluate(self, epoch) -> list[dict]:
        """Loss and next-token accuracy per split (the train split's on ``eval_train`` of its
        sentences when set), and ``tokens``: the training tokens predicted so far (the
        training-time axis of the figures; inside epoch 1, those of the steps taken)."""
        tokens = self._tokens_seen(epoch)
        rows = []
        measured = eval_rows(len(self.splits["train"]),
                             self.settings["train"]["eval_train"])
        for split, sequences in self.splits.items():
            if split == "train":
                sequences = [sequences[i] for i in measured]
            loss, accuracy = _evaluate(self.model, sequences,
                                       self.settings["train"]["batch_size"], self.device)
            rows.append({"epoch": epoch, "split": split, "loss": loss, "accuracy": accuracy,
                         "tokens": tokens})
        return rows

    def _tokens_seen(self, epoch) -> int:
        per_epoch = sum(len(ids) - 1 for ids in self.splits["train"])
        if float(epoch).is_integer():
            return int(epoch) * per_epoch
        size, order = self.settings["train"]["batch_size"], torch.randperm(
            len(self.splits["train"]), generator=torch.Generator().manual_seed(
                epoch_seed(self.seed, 1)))
        seen = order[:self.steps_done * size].tolist()
        return sum(len(self.splits["train"][i]) - 1 for i in seen)

    @staticmethod
    def summary(rows: list[dict]) -> str:
        return ", ".join(f"{row['split']} loss {row['loss']:.3f}" for row in rows)

    def record(self, epoch: int, key: str, history: list[dict]) -> dict:
        return {"epoch": epoch, "seed": self.seed, "fingerprint": key,
                "settings": self.settings, "history": history}

    def save_files(self, folder: Path) -> None:
        """Model and tokenizer as ``save_pretrained`` writes them, and the optimiser state."""
        self.model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        torch.save({**self.optimiser.state_dict(), "steps_done": self.steps_done},
                   folder / OPTIMIZER_FILE)

    def load_files(self, folder: Path) -> None:
        """Continue from a folder written by :meth:`save_files`."""
        self.model, _ = load_language_model(str(folder), device=self.device)
        self.optimiser = self._optimiser()
        state = torch.load(folder / OPTIMIZER_FILE, map_location=self.device,
                           weights_only=True)
        self.steps_done = int(state.pop("steps_done", 0))
        self.optimiser.load_state_dict(state)


def train_language_model(seed: int, settings: dict | None, state_dir: Path,
                         checkpoints: Sequence[Path], log: Path, device="cpu",
                         stop_after: int | None = None, labels: dict | None = None) -> None:
    """Train the tiny GPT-NeoX from ``seed`` for ``settings["train"]["epochs"]`` epochs.

    Writes a checkpoint folder of ``checkpoints`` for every epoch e = 0 … E, after each
    fraction of ``sub_epochs`` of epoch 1 (in axis order, :func:`.axis.checkpoint_axis`;
    its files hard links into ``state_dir/epoch{e}`` where possible) and the log ``log``: one
    row per epoch and split (train, test) with ``labels``, epoch, split, loss (mean next-token
    cross-entropy, nats) and accuracy (top-1 next-token accuracy). ``stop_after`` ends the run
    after that epoch, as a kill would (for tests of resuming).
    """
    settings = language_settings(settings)
    axis = checkpoint_axis(settings["train"]["epochs"],
                           sub_epochs=settings["train"]["sub_epochs"])
    if len(checkpoints) != len(axis):
        raise InputError(f"checkpoints: expected {len(axis)} paths (epochs "
                         f"{', '.join(map(epoch_label, axis))}), got {len(checkpoints)}")
    run = LanguageRun(seed, settings, device)
    run_epochs(run, FolderStore(Path(state_dir)), settings_key(seed, settings), axis, seed,
               checkpoints, log, labels=labels, stop_after=stop_after)
