"""A trained model's checkpoint axis: which checkpoints a run keeps, and how they are named.

Torch-free, so that the workflow's plan can read it while Snakemake builds its DAG.

A run trains for ``epochs`` whole epochs. Its axis holds:

- the epochs of ``keep`` (``None``: every epoch 0 … E), with the untrained network (epoch 0)
  and the last epoch always among them, since every analysis needs both ends;
- the fractions of ``sub_epochs``: checkpoints inside epoch 1, after that fraction of its
  optimisation steps (:func:`sub_epoch_steps`).

A checkpoint is named by :func:`epoch_label` (``epoch0.01.pt``), a label that never carries
binary noise such as ``0.30000000000000004``, so the plan and the trainer agree on file names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: Digits kept after the point in a fractional label: well past any fraction a user writes.
_DIGITS = 12


def epoch_label(epoch) -> str:
    """``3`` for a whole epoch (also given as ``3.0``), ``0.01`` for a fraction of one."""
    value = float(epoch)
    if value.is_integer():
        return str(int(value))
    return f"{value:.{_DIGITS}f}".rstrip("0")


def epoch_value(epoch) -> int | float:
    """The number a label stands for: an int for a whole epoch, else the float of its label."""
    label = epoch_label(epoch)
    return float(label) if "." in label else int(label)


def checkpoint_axis(epochs: int, keep: Iterable[int] | None = None,
                    sub_epochs: Iterable[float] = ()) -> list[int | float]:
    """The checkpoints a run of ``epochs`` epochs keeps, in training order (see the module).

    A ``ValueError`` names the setting at fault: a kept epoch after the last, a fraction
    outside (0, 1)."""
    kept = set(range(epochs + 1)) if keep is None else set(keep)
    late = sorted(e for e in kept if not 0 <= e <= epochs)
    if late:
        raise ValueError(f"train.keep: epoch {late[0]} is outside the run's epochs "
                         f"0 … {epochs}")
    fractions = {epoch_value(f) for f in sub_epochs}
    outside = sorted(f for f in fractions if not 0 < f < 1)
    if outside:
        raise ValueError(f"train.sub_epochs: {outside[0]} is not a fraction of epoch 1 "
                         "(between 0 and 1)")
    return sorted(kept | {0, epochs} | fractions)


def whole_epochs(axis: Sequence) -> list[int]:
    """The whole epochs of an axis."""
    return [e for e in axis if float(e).is_integer()]


def sub_epoch_steps(axis: Sequence, steps_per_epoch: int) -> dict[int, list]:
    """Step of epoch 1 → the fractional labels of the axis checkpointed after it: fraction f
    after round(f · steps) steps, at least one (with few steps per epoch, nearby fractions
    share a step, and the log's ``step`` column says which)."""
    steps: dict[int, list] = {}
    for label in axis:
        if not float(label).is_integer():
            step = min(steps_per_epoch, max(1, round(label * steps_per_epoch)))
            steps.setdefault(step, []).append(label)
    return steps
