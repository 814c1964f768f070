"""The config's models resolved for the workflow: modality, seeds, training axis and stimuli.

Read at DAG time (no torch import). Each model of ``config["models"]`` becomes a dict with its
schema defaults and:

- ``modality``: ``language`` for GPT-NeoX architectures, else ``vision``;
- ``seeds``: its own ``seeds`` or the top-level ones (torchvision weights: one network, seed 0);
- ``epochs``: the training axis — 0 … ``train.epochs`` for a vision model trained here,
  0 … ``language.train.epochs`` for a language model trained here, else the model's ``epochs``
  (Pythia's steps, say); the first is the untrained baseline, the last the final checkpoint;
- ``stimset``: the in-distribution stimulus set it is compared on: ``test`` (images) or
  ``sentences``.

Models are compared across architectures (the cross analysis) only within a *group*: the same
modality and the same training axis, so that "final" means the same checkpoint for both.
"""

from __future__ import annotations

LANGUAGE_ARCHS = ("gptneox_tiny", "gptneox")
IMAGES, SENTENCES = "test", "sentences"


def modality(arch: str) -> str:
    return "language" if arch in LANGUAGE_ARCHS else "vision"


def _check(name: str, spec: dict) -> None:
    lm = spec["arch"] in LANGUAGE_ARCHS
    if spec["source"] == "train" and spec["arch"] == "gptneox":
        raise ValueError(f"models.{name}: gptneox models come from the hub or a folder "
                         "(source hub or checkpoint); gptneox_tiny is trained here")
    if spec["source"] in ("hub", "checkpoint") and spec["arch"] == "gptneox_tiny":
        raise ValueError(f"models.{name}: use arch gptneox for a language model from the hub "
                         "or a folder")
    if spec["source"] == "hub" and not lm:
        raise ValueError(f"models.{name}: source hub is for language models (arch gptneox)")
    if spec["source"] == "torchvision" and lm:
        raise ValueError(f"models.{name}: source torchvision is for vision models")
    if spec["source"] == "torchvision" and len(spec["epochs"]) != 1:
        raise ValueError(f"models.{name}.epochs: torchvision weights are one checkpoint; give "
                         "one label, e.g. [90]")
    if spec.get("objective") == "moco" and (lm or spec["source"] != "train"):
        raise ValueError(f"models.{name}.objective: moco trains a vision model here")


def resolve_models(config: dict, defaults: dict) -> dict[str, dict]:
    """Every model of the validated ``config`` with ``defaults`` (the schema's per-model
    defaults) filled in and the keys above added; a ``ValueError`` names a bad combination."""
    models = {}
    for name, given in config["models"].items():
        spec = {**defaults, **given}
        _check(name, spec)
        spec["modality"] = modality(spec["arch"])
        if spec["source"] == "train":
            last = (config["language"]["train"]["epochs"] if spec["modality"] == "language"
                    else config["train"]["epochs"])
            spec["epochs"] = list(range(last + 1))
        spec["seeds"] = ([0] if spec["source"] == "torchvision"
                         else list(given.get("seeds") or config["seeds"]))
        spec["stimset"] = SENTENCES if spec["modality"] == "language" else IMAGES
        models[name] = spec
    return models


def groups(models: dict[str, dict]) -> list[list[str]]:
    """Models that the cross analysis compares with each other, in config order."""
    found: dict[tuple, list[str]] = {}
    for name, spec in models.items():
        found.setdefault((spec["modality"], tuple(spec["epochs"])), []).append(name)
    return list(found.values())
