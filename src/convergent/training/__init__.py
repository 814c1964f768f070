"""Training the workflow's own models, per (model, seed), with a checkpoint per epoch.

- :mod:`.checkpoints`: what every run shares: :func:`~.checkpoints.epoch_seed`, the
  checkpoint stores (a ``.pt`` file or a model folder per epoch), resuming after the last
  checkpoint with matching settings, publishing, and the one epoch loop.
- :mod:`.vision`: :func:`train`, a vision architecture trained supervised or with MoCo v2.
- :mod:`.language`: :func:`train_language_model`, the tiny GPT-NeoX on the generated corpus.

``train`` and ``train_language_model`` are imported on first use, so that importing
:mod:`.checkpoints` alone (as the theory's digit runs do) loads no model code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .language import train_language_model
    from .vision import train

__all__ = ["train", "train_language_model"]


def __getattr__(name: str):
    if name == "train":
        from .vision import train

        return train
    if name == "train_language_model":
        from .language import train_language_model

        return train_language_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
