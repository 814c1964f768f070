"""Activations of one model on stimulus sets, and its accuracy on each."""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

from .data import CATEGORIES, ImageSet, build_stimset, ood_accuracy
from .io import write_layers, write_rows
from .models import check_image_size, extract_activations, load_vision_model


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
            stimsets: list[str], out_dir: Path, labels: dict, batch_size: int = 256,
            device="cpu") -> dict[str, float]:
    """For each stimulus set, write ``out_dir/<stimset>.safetensors`` (the model's layers under
    its rule — centre-pixel conv outputs, or the [CLS] token after each ViT block — in network
    order, stimulus ids in the metadata) and ``out_dir/<stimset>.accuracy.csv`` (``labels``,
    stimset, accuracy, stimuli; accuracy as in :func:`classifier_accuracy`).

    ``checkpoint`` is any source :func:`convergent.models.load_vision_model` takes: a
    checkpoint path, or a dict naming torchvision weights. One job handles several sets of one
    model because starting Python with torch and torchvision costs seconds, more than
    extracting a set of a small network.
    """
    model, spec = load_vision_model(checkpoint, device)
    accuracies = {}
    for stimset in stimsets:
        images = build_stimset(data, stimuli, stimset)
        check_image_size(model, images.images.shape[-1], f"stimulus set {stimset!r}")
        batches = (images.images[i:i + batch_size] for i in range(0, len(images), batch_size))
        layers, outputs = extract_activations(model, batches, device)
        accuracy = classifier_accuracy(outputs, images, spec,
                                       summary=bool(stimuli.get("ood_summary")))
        write_layers(Path(out_dir) / f"{stimset}.safetensors", layers, images.ids)
        write_rows([{**labels, "stimset": stimset, "accuracy": accuracy,
                     "stimuli": len(images)}], Path(out_dir) / f"{stimset}.accuracy.csv")
        accuracies[stimset] = accuracy
    return accuracies
