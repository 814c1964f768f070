"""The learning rate of every optimisation step: a schedule over epochs, applied per step.

Torch-free arithmetic, so a resumed run recomputes the very rate an uninterrupted one used from
the number of steps taken (which the checkpoint stores). Schedules (``train.schedule``):

- ``constant``: the base rate;
- ``step``: the base rate times ``step_factor`` once per milestone epoch passed;
- ``cosine``: half a cosine from the base rate (after any warmup) to 0 at the end of the run.

Each may start with a linear warmup over ``warmup_epochs``: step t (0-based) of W warmup steps
runs at base · (t + 1) / W, so the first step already moves the weights and the last warmup
step runs at the base rate. Milestones count epochs from the start of the run, warmup
included; the cosine spans the steps after the warmup (torchvision's reference recipes do the
same, per epoch).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

SCHEDULES = ("constant", "step", "cosine")


def learning_rate(step: int, base: float, steps_per_epoch: int, epochs: int,
                  schedule: str = "constant", warmup_epochs: float = 0.0,
                  milestones: Sequence[int] = (), step_factor: float = 0.1) -> float:
    """The rate of optimisation step ``step`` (0-based) of a run of ``epochs`` epochs of
    ``steps_per_epoch`` steps each."""
    warmup = round(warmup_epochs * steps_per_epoch)
    if step < warmup:
        return base * (step + 1) / warmup
    if schedule == "constant":
        return base
    if schedule == "step":
        passed = sum(step >= m * steps_per_epoch for m in milestones)
        return base * step_factor ** passed
    if schedule == "cosine":
        total = epochs * steps_per_epoch
        progress = (step - warmup) / max(1, total - warmup)
        return base * 0.5 * (1 + math.cos(math.pi * progress))
    raise ValueError(f"train.schedule: unknown schedule {schedule!r}; choose from "
                     + ", ".join(SCHEDULES))


def rate_of(settings: dict, step: int, steps_per_epoch: int) -> float:
    """:func:`learning_rate` of a complete ``train`` section (its ``lr``, ``epochs``,
    ``schedule``, ``warmup_epochs``, ``milestones``, ``step_factor``)."""
    return learning_rate(step, settings["lr"], steps_per_epoch, settings["epochs"],
                         settings["schedule"], settings["warmup_epochs"],
                         settings["milestones"], settings["step_factor"])
