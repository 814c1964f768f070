"""Where a model comes from: for vision models one of our checkpoints or torchvision's
pretrained weights; for language models one of our checkpoint folders, a local Hugging Face
folder or a hub id.

:func:`load_vision_model` takes a *source*:

- a path (``str`` or ``os.PathLike``), or ``{"checkpoint": path}``: a checkpoint written by
  :func:`convergent.training.train`, loaded with ``weights_only=True``. Its ``spec`` rebuilds
  the module (``arch``, ``num_classes``, ``width``, ``small_input``; ``objective: moco`` adds
  the projection head in place of the classifier).
- ``{"arch": "resnet50", "weights": "torchvision:IMAGENET1K_V1"}``: torchvision's pretrained
  weights of that name for the architecture (VGGs are torchvision's batch-norm VGGs, e.g.
  ``vgg16`` → ``vgg16_bn``; ``vit_b16`` → ``vit_b_16``). The file is read from the torch hub
  cache, ``$TORCH_HOME/hub/checkpoints`` (``TORCH_HOME`` defaults to ``~/.cache/torch``), also
  with ``weights_only=True``. Nothing is downloaded unless the source says ``download: true``;
  a missing file, or a download that fails (offline), is an :class:`InputError` naming the
  weights, the URL and the path where the file must be.

:func:`load_language_source` takes a language model's source:

- a path or hub id (``str`` or ``os.PathLike``), as
  :func:`convergent.models.language.load_language_model` reads it;
- ``{"checkpoint": folder}``: a folder written by ``save_pretrained``, e.g. an epoch of
  :func:`convergent.training.train_language_model`;
- ``{"hub_id": "EleutherAI/pythia-70m", "revision": "step1000"}``: a Hugging Face hub model
  at an optional revision."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from ..errors import InputError
from .language import load_language_model
from .moco import attach_projection_head

#: Our architecture name → torchvision's model name for pretrained weights.
TORCHVISION_NAMES = {"resnet18": "resnet18", "resnet50": "resnet50", "vgg11": "vgg11_bn",
                     "vgg16": "vgg16_bn", "vgg19": "vgg19_bn", "vit_b16": "vit_b_16"}
WEIGHTS_PREFIX = "torchvision:"


def build_from_spec(spec: dict) -> nn.Module:
    """An untrained module shaped as a checkpoint's ``spec`` describes."""
    from .zoo import build_model  # torchvision: only where a vision model is built

    model = build_model(spec["arch"], spec["num_classes"], spec.get("width", 1.0),
                        spec.get("small_input", False))
    if spec.get("objective", "supervised") == "moco":
        attach_projection_head(model, spec["head"]["hidden"], spec["head"]["dim"])
    return model


def load_checkpoint(path: str | os.PathLike, device="cpu") -> tuple[nn.Module, dict]:
    """The model stored in one of our checkpoints (loaded with ``weights_only=True``) and its
    spec."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise InputError(f"checkpoint {path}: no such file") from None
    except Exception as err:  # torch raises several kinds for a file that is not a checkpoint
        raise InputError(f"checkpoint {path}: not a readable checkpoint "
                         f"({str(err).splitlines()[0]})") from None
    if not isinstance(state, dict) or "spec" not in state or "model" not in state:
        raise InputError(f"checkpoint {path}: no 'spec' and 'model' (not written by convergent)")
    spec = state["spec"]
    model = build_from_spec(spec)
    model.load_state_dict(state["model"])
    return model.to(device), spec


def weights_cache_path(url: str) -> Path:
    """Where torch hub keeps the file of ``url``: ``<torch hub dir>/checkpoints/<file name>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def _torchvision_weights(arch: str, weights: str):
    from torchvision.models import get_model_weights

    if arch not in TORCHVISION_NAMES:
        raise InputError(f"arch {arch!r} has no torchvision weights; choose from "
                         f"{', '.join(TORCHVISION_NAMES)}")
    if not weights.startswith(WEIGHTS_PREFIX):
        raise InputError(f"weights {weights!r}: expected '{WEIGHTS_PREFIX}<NAME>', "
                         f"e.g. '{WEIGHTS_PREFIX}IMAGENET1K_V1'")
    name = TORCHVISION_NAMES[arch]
    table = get_model_weights(name)
    try:
        return name, table[weights[len(WEIGHTS_PREFIX):]]
    except KeyError:
        raise InputError(f"weights {weights!r}: {name} has "
                         f"{', '.join(table.__members__)}") from None


def load_torchvision(arch: str, weights: str, download: bool = False) -> tuple[nn.Module, dict]:
    """torchvision's ``arch`` with the pretrained ``weights`` (``torchvision:<NAME>``) and a
    spec like a checkpoint's (``source: torchvision``, ``weights``, ``num_classes``)."""
    from torchvision.models import get_model

    name, entry = _torchvision_weights(arch, weights)
    cached = weights_cache_path(entry.url)
    where = (f"the file must be at {cached} (torch hub cache; set TORCH_HOME to move it), "
             f"from {entry.url}")
    if not cached.exists() and not download:
        raise InputError(f"torchvision weights {name} {entry.name} are not downloaded: {where}")
    config = {"num_classes": len(entry.meta["categories"])}
    if name.startswith("vit"):
        config["image_size"] = entry.meta["min_size"][0]  # as torchvision's builder sets it
    model = get_model(name, weights=None, **config)
    try:
        state = entry.get_state_dict(progress=False, check_hash=True, weights_only=True)
    except (OSError, RuntimeError, ValueError) as err:  # URLError is an OSError
        raise InputError(f"torchvision weights {name} {entry.name} could not be loaded "
                         f"({str(err).splitlines()[0]}); {where}") from None
    model.load_state_dict(state)
    return model, {"arch": arch, "source": "torchvision", "weights": weights, **config}


def load_vision_model(source: str | os.PathLike | dict, device="cpu"
                      ) -> tuple[nn.Module, dict]:
    """A model and its spec from a checkpoint path or a source dict (see the module docstring).
    """
    if isinstance(source, str | os.PathLike):
        return load_checkpoint(source, device)
    if not isinstance(source, dict):
        raise InputError(f"model source {source!r}: expected a checkpoint path or a mapping")
    if "checkpoint" in source:
        return load_checkpoint(source["checkpoint"], device)
    if "weights" in source and "arch" in source:
        model, spec = load_torchvision(source["arch"], source["weights"],
                                       bool(source.get("download", False)))
        return model.to(device), spec
    raise InputError(f"model source {source!r}: give 'checkpoint', or 'arch' and 'weights'")


def load_language_source(source: str | os.PathLike | dict, device="cpu",
                         local_files_only: bool = False):
    """A language model (eval mode, float32, on ``device``) and its tokenizer from a source
    (see the module docstring); ``local_files_only`` keeps hub ids to the local cache."""
    if isinstance(source, str | os.PathLike):
        where, revision = str(source), None
    elif isinstance(source, dict) and "checkpoint" in source:
        where, revision = str(source["checkpoint"]), None
    elif isinstance(source, dict) and "hub_id" in source:
        where, revision = source["hub_id"], source.get("revision")
    else:
        raise InputError(f"language model source {source!r}: give 'checkpoint' or 'hub_id'")
    return load_language_model(where, revision, device, local_files_only)
