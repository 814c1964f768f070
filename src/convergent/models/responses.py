"""Recorded responses as a model: brain regions (the study's appendix A8), neurons, or another
lab's representation, saved in the format the project writes for activations.

One safetensors file per subject (``models.<name>.path`` with ``{seed}`` for the subject): one
float tensor (stimuli × units) per region, the metadata ``layers`` listing the regions in
hierarchy order (e.g. V1, V2, V4, IT) and ``stimulus_ids`` naming each row. Rows are matched to
the in-distribution stimuli by id, so a file may hold more stimuli, in any order;
:func:`convergent.io.write_layers` writes such a file::

    write_layers("data/brain/subject1.safetensors", {"V1": v1, "V4": v4, "IT": it},
                 stimulus_ids=["n01440764/img1.JPEG", ...])
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError
from ..io import read_layers


def load_responses(path: str | os.PathLike, stimulus_ids: list[str]
                   ) -> dict[str, np.ndarray]:
    """The regions of one subject's file (name → stimuli × units, float), their rows in the
    order of ``stimulus_ids``.

    Raises
    ------
    InputError
        The file has no stimulus ids, lacks some of ``stimulus_ids`` (the first few are named),
        repeats an id, or a region holds NaN or infinite values.
    """
    regions, ids = read_layers(path)
    if ids is None:
        raise InputError(f"{path}: no 'stimulus_ids' metadata: recorded responses are matched "
                         "to the stimuli by id")
    row = {}
    for i, stimulus in enumerate(ids):
        if stimulus in row:
            raise InputError(f"{path}: stimulus id {stimulus!r} appears twice")
        row[stimulus] = i
    missing = [s for s in stimulus_ids if s not in row]
    if missing:
        shown = ", ".join(map(repr, missing[:5])) + (" …" if len(missing) > 5 else "")
        raise InputError(f"{path}: no responses to {len(missing)} of the {len(stimulus_ids)} "
                         f"stimuli: {shown}")
    order = np.array([row[s] for s in stimulus_ids], dtype=np.int64)
    matched = {}
    for region, tensor in regions.items():
        values = tensor.double().numpy()
        if values.ndim != 2:
            raise InputError(f"{path}:{region}: expected stimuli × units, got shape "
                             f"{tuple(values.shape)}")
        values = values[order]
        if not np.isfinite(values).all():
            bad = int((~np.isfinite(values)).any(axis=1).sum())
            raise InputError(f"{path}:{region}: NaN or infinite values in {bad} of the "
                             f"{len(order)} stimuli")
        matched[region] = values
    return matched
