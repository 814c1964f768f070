"""The representations of one model on its stimuli, and how well it does on them.

Vision (:func:`extract`): layer activations on stimulus sets of images, and the classifier's
accuracy on each. Language (:func:`extract_text`): sentence representations after each block,
and the next-token loss and accuracy on the sentences, which stand in for a classifier's
accuracy.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .config import with_defaults
from .data import CATEGORIES, ImageSet, build_stimset, ood_accuracy
from .data.stimsets import in_distribution_ids
from .errors import InputError
from .io import write_layers, write_rows
from .models.language import run_sentences
from .models.responses import load_responses
from .models.sources import load_language_source
from .plan.models import IMAGES

if TYPE_CHECKING:
    from .data.sentences import SentenceSet
    from .models.language import SentenceScore


def classifier_accuracy(outputs: torch.Tensor, images: ImageSet, spec: dict,
                        summary: bool = False) -> float:
    """Top-1 accuracy of ``outputs`` (stimuli × outputs) on the images' labels.

    On a published OOD set (labels = the 16 benchmark categories) an ImageNet model's 1000
    outputs are mapped to the categories (ood.md: mean probability of each category's ImageNet
    indices), and with ``summary`` only the conditions of the published summary count. NaN when
    the model has no classifier for these classes: a MoCo encoder, or a model whose output count
    differs from the number of classes (e.g. ImageNet weights on another data set)."""
    if spec.get("objective", "supervised") != "supervised":
        return math.nan
    if images.classes == list(CATEGORIES) and outputs.shape[1] == 1000:
        return ood_accuracy(outputs, images.labels, imagenet16=True, ids=images.ids,
                            summary=summary)
    if outputs.shape[1] != len(images.classes):
        return math.nan
    return float((outputs.argmax(1) == images.labels).float().mean())


def extract(checkpoint: Path | str | os.PathLike | dict, data: dict, stimuli: dict,
            stimsets: list[str], activations: list[Path], accuracy: list[Path], labels: dict,
            batch_size: int = 256, device="cpu", point: str = "activation",
            images_of: Callable[[str], ImageSet] | None = None) -> dict[str, float]:
    """For each stimulus set ``stimsets[i]``, write ``activations[i]`` (a safetensors file: the
    model's layers under its rule — centre-pixel conv outputs, or the [CLS] token after each
    ViT block — in network order, stimulus ids in the metadata) and ``accuracy[i]`` (a one-row
    CSV: ``labels``, stimset, accuracy, stimuli; accuracy as in :func:`classifier_accuracy`).

    ``checkpoint`` is any source :func:`convergent.models.load_vision_model` takes: a
    checkpoint path, or a dict naming torchvision weights. One job handles several sets of one
    model because starting Python with torch and torchvision costs seconds, more than
    extracting a set of a small network. ``images_of`` (stimulus set name → images) replaces
    building each set here, e.g. to build a set once for several checkpoints.
    """
    if not len(stimsets) == len(activations) == len(accuracy):
        raise InputError(f"{len(stimsets)} stimulus sets need as many activation and accuracy "
                         f"paths, got {len(activations)} and {len(accuracy)}")
    # the sections as the CLI or a caller gives them, possibly partial: the schema fills them
    data, stimuli = with_defaults("data", data), with_defaults("stimuli", stimuli)
    if isinstance(checkpoint, dict) and "responses" in checkpoint:
        return extract_responses(checkpoint["responses"], data, stimuli, stimsets, activations,
                                 accuracy, labels)
    from .models import check_image_size, extract_activations, load_vision_model

    model, spec = load_vision_model(checkpoint, device)
    accuracies = {}
    for stimset, layers_path, accuracy_path in zip(stimsets, activations, accuracy,
                                                   strict=True):
        images = images_of(stimset) if images_of else build_stimset(data, stimuli, stimset)
        check_image_size(model, images.images.shape[-1], f"stimulus set {stimset!r}")
        batches = (images.images[i:i + batch_size] for i in range(0, len(images), batch_size))
        layers, outputs = extract_activations(model, batches, device, point)
        score = classifier_accuracy(outputs, images, spec,
                                    summary=bool(stimuli.get("ood_summary")))
        write_layers(layers_path, layers, images.ids)
        write_rows([{**labels, "stimset": stimset, "accuracy": score, "stimuli": len(images)}],
                   accuracy_path)
        accuracies[stimset] = score
    return accuracies


def extract_checkpoints(points: list[dict], data: dict, stimuli: dict, device="cpu",
                        point: str = "activation") -> list[dict[str, float]]:
    """:func:`extract` for several checkpoints in one process, each stimulus set built once.

    Each point is ``{"source", "stimsets", "activations", "accuracy", "labels"}``, the
    arguments of one :func:`extract` call (the workflow's ``extract.per: network``: every
    checkpoint of one network in one job, one start-up of Python and torch instead of one per
    checkpoint)."""
    data, stimuli = with_defaults("data", data), with_defaults("stimuli", stimuli)
    built: dict[str, ImageSet] = {}

    def images_of(stimset: str) -> ImageSet:
        if stimset not in built:
            built[stimset] = build_stimset(data, stimuli, stimset)
        return built[stimset]

    return [extract(p["source"], data, stimuli, p["stimsets"], list(map(Path, p["activations"])),
                    list(map(Path, p["accuracy"])), p.get("labels", {}), device=device,
                    point=point, images_of=images_of)
            for p in check_points(points, ("source", "stimsets", "activations", "accuracy"))]


def check_points(points: list, keys: tuple[str, ...]) -> list[dict]:
    """``points`` when each is an object with every key of ``keys``, else an InputError naming
    the first that is not."""
    if not points:
        raise InputError("--points is empty: give at least one checkpoint")
    for k, p in enumerate(points):
        if not isinstance(p, dict) or (missing := [key for key in keys if key not in p]):
            what = f"lacks {', '.join(missing)}" if isinstance(p, dict) else "is not an object"
            raise InputError(f"--points entry {k} {what} (each needs {', '.join(keys)})")
    return points


def extract_responses(path: str | os.PathLike, data: dict, stimuli: dict, stimsets: list[str],
                      activations: list[Path], accuracy: list[Path], labels: dict
                      ) -> dict[str, float]:
    """Recorded responses (:mod:`convergent.models.responses`) as an activation file of the
    in-distribution set: the regions in hierarchy order, rows matched to the stimuli by id.
    Responses have no accuracy (NaN)."""
    unknown = [s for s in stimsets if s != IMAGES]
    if unknown:
        raise InputError(f"recorded responses {path}: only the in-distribution set "
                         f"({IMAGES}) was recorded, not {unknown[0]!r}")
    ids = in_distribution_ids(data, stimuli)
    write_layers(activations[0], load_responses(path, ids), ids)
    write_rows([{**labels, "stimset": IMAGES, "accuracy": math.nan, "stimuli": len(ids)}],
               accuracy[0])
    return {IMAGES: math.nan}


def extract_text(source: str | os.PathLike | dict, sentences: SentenceSet, out_path: Path,
                 pooling: str = "mean", labels: dict | None = None, record: Path | None = None,
                 batch_size: int = 32, device="cpu", local_files_only: bool = False,
                 stimset: str | None = None) -> SentenceScore:
    """Write a language model's sentence representations and return its next-token score.

    ``source`` is any source :func:`convergent.models.load_language_source` takes: a folder or
    hub id, ``{"checkpoint": folder}`` (e.g. an epoch of
    :func:`convergent.training.train_language_model`) or ``{"hub_id": ..., "revision": ...}``.
    The safetensors file ``out_path`` holds one (sentences × hidden) tensor per layer
    (``embed``, ``block0`` …), sentences pooled by ``pooling``, with ``sentences.ids`` as its
    stimulus ids. ``record``, when given, receives a one-row CSV: ``labels``, stimset
    (``stimset``, default the set's name), loss, accuracy, tokens, stimuli.
    """
    model, tokenizer = load_language_source(source, device, local_files_only)
    layers, score = run_sentences(model, tokenizer, sentences.texts, pooling, batch_size,
                                  device)
    write_layers(Path(out_path), layers, sentences.ids)
    if record is not None:
        write_rows([{**(labels or {}), "stimset": stimset or sentences.name, "loss": score.loss,
                     "accuracy": score.accuracy, "tokens": score.tokens,
                     "stimuli": len(sentences)}], Path(record))
    return score


def extract_texts(points: list[dict], sentences: SentenceSet, pooling: str = "mean",
                  device="cpu", stimset: str | None = None) -> list[SentenceScore]:
    """:func:`extract_text` for several checkpoints in one process; each point is
    ``{"source", "out", "record", "labels"}``."""
    return [extract_text(p["source"], sentences, Path(p["out"]), pooling=pooling,
                         labels=p.get("labels", {}), record=Path(p["record"]), device=device,
                         stimset=stimset)
            for p in check_points(points, ("source", "out", "record"))]
