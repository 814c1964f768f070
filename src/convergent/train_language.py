"""A tiny GPT-NeoX trained from scratch per seed on the generated corpus, with a checkpoint per
epoch, resumable; and sentence activations of any language model.

``epoch0`` is the untrained model. Every seed trains on the same corpus and vocabulary (drawn
from ``settings["corpus"]``); the seed sets the initial weights and the batch order, which for
epoch e comes from a generator seeded by (seed, e), so a run resumed after a kill reaches the
same weights as an uninterrupted one. Each sentence is trained on as ``<eos> words <eos>``, so
the model also learns how sentences start and end. The loss is AdamW on the mean next-token
cross-entropy of a batch's real tokens.

A checkpoint is a directory written by ``save_pretrained`` (model and tokenizer), the format of
a Hugging Face model, so ``load_language_model`` reads it exactly as it reads Pythia from the
hub or a local folder. Beside those files it holds ``optimizer.pt`` (the AdamW state, loaded
with ``weights_only=True``) and ``convergent.json`` (epoch, settings fingerprint, loss history).
It is written into a temporary directory and renamed into place, so a killed job never leaves a
directory that looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import torch

from .data.sentences import SentenceSet, training_corpus
from .errors import InputError
from .io import UMASK, fingerprint, link_or_copy, write_layers, write_rows, write_table
from .models.language import (
    SentenceScore,
    build_language_model,
    build_word_tokenizer,
    load_language_model,
    next_token_stats,
    pad_right,
    run_sentences,
    tiny_gptneox_config,
)

#: The embedded default: about 4000 sentences, a 2-block GPT-NeoX of width 64.
DEFAULT_LANGUAGE_SETTINGS = {
    "corpus": {"seed": 0, "train_sentences": 4000, "test_sentences": 400},
    "model": {"hidden_size": 64, "layers": 2, "heads": 4, "max_length": 64},
    "train": {"epochs": 3, "batch_size": 32, "lr": 0.003, "weight_decay": 0.01},
}
STATE_FILE, OPTIMIZER_FILE = "convergent.json", "optimizer.pt"


def language_settings(settings: dict | None = None) -> dict:
    """``settings`` (sections corpus, model, train) over ``DEFAULT_LANGUAGE_SETTINGS``; an
    unknown section or key is an ``InputError`` naming it."""
    settings = settings or {}
    resolved = {}
    for section, defaults in DEFAULT_LANGUAGE_SETTINGS.items():
        given = settings.get(section) or {}
        unknown = sorted(set(given) - set(defaults))
        if unknown:
            raise InputError(f"{section}.{unknown[0]}: unknown language-model setting; known: "
                             + ", ".join(defaults))
        resolved[section] = {**defaults, **given}
    _check_numbers(resolved)
    extra = sorted(set(settings) - set(DEFAULT_LANGUAGE_SETTINGS))
    if extra:
        raise InputError(f"{extra[0]}: unknown language-model settings section; known: "
                         + ", ".join(DEFAULT_LANGUAGE_SETTINGS))
    return resolved


def _check_numbers(settings: dict) -> None:
    """Counts must be whole numbers (epochs may be 0), rates non-negative numbers."""
    for section, values in settings.items():
        for key, value in values.items():
            if key in ("lr", "weight_decay"):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and value >= 0
            else:
                ok = isinstance(value, int) and not isinstance(value, bool) and (
                    value >= 0 if key in ("epochs", "seed") else value >= 1)
            if not ok:
                raise InputError(f"{section}.{key}: {value!r} is not a valid value")


def settings_key(seed: int, settings: dict) -> str:
    """The fingerprint a checkpoint must carry for a rerun with these settings to resume."""
    return fingerprint({"kind": "tiny-gptneox", "seed": seed, "settings": settings})


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


def _train_epoch(model, optimiser, sequences: list[list[int]], batch_size: int, seed: int,
                 epoch: int, device) -> None:
    model.train()
    order = torch.randperm(len(sequences), generator=torch.Generator().manual_seed(
        seed * 100_003 + epoch))
    for start in range(0, len(order), batch_size):
        batch = [sequences[i] for i in order[start:start + batch_size].tolist()]
        ids, mask = (t.to(device) for t in pad_right(batch))
        logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
        loss, _, count = next_token_stats(logits, ids, mask)
        optimiser.zero_grad()
        (loss / count).backward()
        optimiser.step()


def train_language_model(seed: int, settings: dict | None, state_dir: Path,
                         checkpoints: Sequence[Path], log: Path, device="cpu",
                         stop_after: int | None = None, labels: dict | None = None) -> None:
    """Train the tiny GPT-NeoX from ``seed`` for ``settings["train"]["epochs"]`` epochs.

    Writes the checkpoint directory ``checkpoints[e]`` for every epoch e = 0 … E (files hard-
    linked from ``state_dir/epoch{e}``) and the log ``log``: one row per epoch and split
    ("train", "test") with ``labels``, epoch, split, loss (mean next-token cross-entropy,
    nats) and accuracy (top-1 next-token accuracy). ``stop_after`` ends the run after that
    epoch, as a kill would (used to test resuming).
    """
    settings = language_settings(settings)
    corpus, net, opt = settings["corpus"], settings["model"], settings["train"]
    epochs = opt["epochs"]
    if len(checkpoints) != epochs + 1:
        raise InputError(f"checkpoints: expected {epochs + 1} paths (epochs 0 … {epochs}), "
                         f"got {len(checkpoints)}")
    key = settings_key(seed, settings)
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)

    train_texts, test_texts = training_corpus(corpus["seed"], corpus["train_sentences"],
                                              corpus["test_sentences"])
    tokenizer = build_word_tokenizer(train_texts)
    splits = {"train": _frame(tokenizer, train_texts), "test": _frame(tokenizer, test_texts)}
    longest = max(len(ids) for part in splits.values() for ids in part)
    if longest > net["max_length"]:
        raise InputError(f"model.max_length ({net['max_length']}) is shorter than the longest "
                         f"framed corpus sentence ({longest} tokens)")

    last = _last_checkpoint(state_dir, key, epochs)
    if last >= 0:
        model, _ = load_language_model(str(state_dir / f"epoch{last}"), device=device)
        history = json.loads((state_dir / f"epoch{last}" / STATE_FILE).read_text())["history"]
        print(f"resuming after epoch {last} ({state_dir / f'epoch{last}'})", flush=True)
    else:
        config = tiny_gptneox_config(len(tokenizer), net["hidden_size"], net["layers"],
                                     net["heads"], max_length=net["max_length"],
                                     pad_token_id=tokenizer.pad_token_id,
                                     eos_token_id=tokenizer.eos_token_id)
        model, history = build_language_model(config, seed).to(device), []
    optimiser = torch.optim.AdamW(model.parameters(), lr=opt["lr"],
                                  weight_decay=opt["weight_decay"])
    if last >= 0:
        optimiser.load_state_dict(torch.load(state_dir / f"epoch{last}" / OPTIMIZER_FILE,
                                             map_location=device, weights_only=True))

    for epoch in range(last + 1, epochs + 1):
        if epoch > 0:
            _train_epoch(model, optimiser, splits["train"], opt["batch_size"], seed, epoch,
                         device)
        for split, sequences in splits.items():
            loss, accuracy = _evaluate(model, sequences, opt["batch_size"], device)
            history.append({"epoch": epoch, "split": split, "loss": loss, "accuracy": accuracy})
        print(f"epoch {epoch}: " + ", ".join(f"{row['split']} loss {row['loss']:.3f}"
                                             for row in history[-2:]), flush=True)
        _save_epoch(model, tokenizer, optimiser, state_dir / f"epoch{epoch}",
                    {"epoch": epoch, "seed": seed, "fingerprint": key, "settings": settings,
                     "history": history})
        if stop_after is not None and epoch >= stop_after:
            return
    for epoch, path in enumerate(checkpoints):
        _publish(state_dir / f"epoch{epoch}", Path(path))
    import pandas as pd

    write_table(pd.DataFrame([{**(labels or {}), **row} for row in history]), log)


def _last_checkpoint(state_dir: Path, key: str, epochs: int) -> int:
    """The last epoch whose checkpoint directory is complete and has the same fingerprint."""
    last = -1
    for epoch in range(epochs + 1):
        state = state_dir / f"epoch{epoch}" / STATE_FILE
        if not state.is_file() or json.loads(state.read_text()).get("fingerprint") != key:
            break
        last = epoch
    return last


def _save_epoch(model, tokenizer, optimiser, target: Path, state: dict) -> None:
    """Write one checkpoint directory under a temporary name, then rename it into place."""
    with _atomic_dir(target) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        torch.save(optimiser.state_dict(), tmp / OPTIMIZER_FILE)
        (tmp / STATE_FILE).write_text(json.dumps(state, indent=1))


@contextmanager
def _atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``target``; it replaces ``target`` when the block
    succeeds and is removed when it fails."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield tmp
        # mkdtemp creates 0700 and safetensors files come out 0600; outputs get the usual mode
        os.chmod(tmp, 0o777 & ~UMASK)
        for file in tmp.iterdir():
            os.chmod(file, 0o666 & ~UMASK)
        if target.exists():
            # rename() cannot replace a non-empty directory: move the old one aside first.
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old",
                                        dir=target.parent))
            os.replace(target, old / target.name)
            os.replace(tmp, target)
            shutil.rmtree(old)
        else:
            os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _publish(source: Path, target: Path) -> None:
    """Put a finished checkpoint directory at its declared path (hard links when possible)."""
    with _atomic_dir(target) as tmp:
        for file in sorted(source.iterdir()):
            link_or_copy(file, tmp / file.name)


def extract_sentences(source: str, revision: str | None, sentences: SentenceSet,
                      out_path: Path, pooling: str = "mean", labels: dict | None = None,
                      record: Path | None = None, batch_size: int = 32, device="cpu",
                      local_files_only: bool = False, stimset: str | None = None
                      ) -> SentenceScore:
    """Write the sentence representations of a language model and return its next-token score.

    ``source``/``revision`` name the model as ``load_language_model`` takes them (a checkpoint
    directory of ``train_language_model``, a local Hugging Face folder, or a hub id). The
    safetensors file ``out_path`` holds one (sentences × hidden) tensor per layer (``embed``,
    ``block0`` …) with ``sentences.ids`` as its stimulus ids. ``record``, when given, receives a
    one-row CSV: ``labels``, stimset (``stimset``, default the set's name), loss, accuracy,
    tokens, stimuli.
    """
    model, tokenizer = load_language_model(source, revision, device, local_files_only)
    layers, score = run_sentences(model, tokenizer, sentences.texts, pooling, batch_size,
                                  device)
    write_layers(Path(out_path), layers, sentences.ids)
    if record is not None:
        write_rows([{**(labels or {}), "stimset": stimset or sentences.name, "loss": score.loss,
                     "accuracy": score.accuracy, "tokens": score.tokens,
                     "stimuli": len(sentences)}], Path(record))
    return score
