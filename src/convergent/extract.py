"""Activations of one checkpoint on stimulus sets, and its accuracy on each."""

from __future__ import annotations

from pathlib import Path

from .data import build_stimset
from .io import write_layers, write_rows
from .models import extract_activations
from .train import load_checkpoint


def extract(checkpoint: Path, data: dict, stimuli: dict, stimsets: list[str], out_dir: Path,
            labels: dict, batch_size: int = 256, device="cpu") -> dict[str, float]:
    """For each stimulus set, write ``out_dir/<stimset>.safetensors`` (centre-pixel conv
    activations, layers in network order, stimulus ids in the metadata) and
    ``out_dir/<stimset>.accuracy.csv`` (``labels``, stimset, accuracy, stimuli).

    One job handles several sets of one checkpoint because starting Python with torch and
    torchvision costs seconds, more than extracting a set of a small network.
    """
    model, _ = load_checkpoint(checkpoint, device)
    accuracies = {}
    for stimset in stimsets:
        images = build_stimset(data, stimuli, stimset)
        batches = (images.images[i:i + batch_size] for i in range(0, len(images), batch_size))
        layers, logits = extract_activations(model, batches, device)
        accuracy = float((logits.argmax(1) == images.labels).float().mean())
        write_layers(Path(out_dir) / f"{stimset}.safetensors", layers, images.ids)
        write_rows([{**labels, "stimset": stimset, "accuracy": accuracy,
                     "stimuli": len(images)}], Path(out_dir) / f"{stimset}.accuracy.csv")
        accuracies[stimset] = accuracy
    return accuracies
