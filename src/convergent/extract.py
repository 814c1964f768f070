"""The representations of one model on its stimuli, and how well it does on them.

Vision (:func:`extract`): layer activations on stimulus sets of images, and the classifier's
accuracy on each. Language (:func:`extract_text`): sentence representations after each block,
and the next-token loss and accuracy on the sentences, which stand in for a classifier's
accuracy.
"""

from __future__ import annotations

import math
import os
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
            batch_size: int = 256, device="cpu", point: str = "activation"
            ) -> dict[str, float]:
    """For each stimulus set ``stimsets[i]``, write ``activations[i]`` (a safetensors file: the
    model's layers under its rule — centre-pixel conv outputs, or the [CLS] token after each
    ViT block — in network order, stimulus ids in the metadata) and ``accuracy[i]`` (a one-row
    CSV: ``labels``, stimset, accuracy, stimuli; accuracy as in :func:`classifier_accuracy`).

    ``checkpoint`` is any source :func:`convergent.models.load_vision_model` takes: a
    checkpoint path, or a dict naming torchvision weights. One job handles several sets of one
    model because starting Python with torch and torchvision costs seconds, more than
    extracting a set of a small network.
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
        images = build_stimset(data, stimuli, stimset)
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
