"""Reading and writing activations and tables: safetensors for activations (never pickles),
parquet for tables, and every output written under a temporary name and renamed into place so
that a killed job never leaves a file that looks complete."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError

if TYPE_CHECKING:  # imported where used: the table verbs never need torch
    import pandas as pd
    import torch

UMASK = os.umask(0)
os.umask(UMASK)

#: safetensors metadata keys: the layer names in network order, and the stimulus ids (JSON lists).
LAYERS_KEY, STIMULI_KEY = "layers", "stimulus_ids"


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp creates 0600; outputs get the usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; it replaces ``path`` (an earlier directory
    included) only if the block succeeds, and is removed if it fails."""
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        yield tmp
        # mkdtemp creates 0700 and safetensors files come out 0600; outputs get the usual mode
        os.chmod(tmp, 0o777 & ~UMASK)
        for file in tmp.iterdir():
            os.chmod(file, 0o666 & ~UMASK)
        if path.exists():
            # rename() cannot replace a non-empty directory: move the old one aside first
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_array(path: str | os.PathLike) -> np.ndarray:
    """A ``.npy`` array (pickles refused)."""
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (ValueError, OSError, EOFError) as err:
        raise InputError(f"{path}: not a readable .npy array ({_first_line(err)})") from None


def natural_key(name: str) -> list:
    """Sort key that puts ``layer2`` before ``layer10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def read_layers(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], list[str] | None]:
    """Layers of a safetensors activation file, in network order, and its stimulus ids.

    The order is the metadata's ``layers`` list when present (``convergent`` writes it), else the
    tensor names in natural sort order.
    """
    import torch
    from safetensors import SafetensorError, safe_open
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
            names = list(handle.keys())
            order = json.loads(meta[LAYERS_KEY]) if LAYERS_KEY in meta else sorted(
                names, key=natural_key)
            if sorted(order) != sorted(names):
                raise InputError(
                    f"{path}: metadata '{LAYERS_KEY}' does not list the file's tensors")
            layers = {name: handle.get_tensor(name) for name in order}
        ids = json.loads(meta[STIMULI_KEY]) if STIMULI_KEY in meta else None
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (SafetensorError, OSError, ValueError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError(f"{path}: not a readable safetensors file ({_first_line(err)})") from None
    for name, tensor in layers.items():
        if not (tensor.is_floating_point() or tensor.dtype in (torch.int32, torch.int64)):
            raise InputError(f"{path}:{name}: expected a float tensor, got {tensor.dtype}")
    return layers, ids


def read_layer_shapes(path: str | os.PathLike
                      ) -> tuple[dict[str, tuple[int, ...]], list[str] | None]:
    """The shape of every layer of a safetensors activation file and its stimulus ids, read from
    the header alone (no tensor is loaded)."""
    from safetensors import SafetensorError, safe_open
    try:
        with safe_open(str(path), framework="np") as handle:
            meta = handle.metadata() or {}
            shapes = {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (SafetensorError, OSError, ValueError) as err:
        raise InputError(f"{path}: not a readable safetensors file ({_first_line(err)})") from None
    if not shapes:
        raise InputError(f"{path}: holds no layers")
    ids = json.loads(meta[STIMULI_KEY]) if STIMULI_KEY in meta else None
    return shapes, ids


def write_layers(path: str | os.PathLike, layers: Mapping[str, np.ndarray | torch.Tensor],
                 stimulus_ids: Sequence[str] | None = None) -> None:
    """Write layers (name → stimuli × units) in the given order, with their order and the
    stimulus ids in the metadata."""
    import torch
    from safetensors.torch import save_file
    tensors = {name: torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a)
               .contiguous() for name, a in layers.items()}
    meta = {LAYERS_KEY: json.dumps(list(tensors))}
    if stimulus_ids is not None:
        meta[STIMULI_KEY] = json.dumps([str(s) for s in stimulus_ids])
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def check_same_stimuli(ids_a, ids_b, path_a, path_b) -> None:
    """Two activation files must hold the same stimuli in the same order."""
    if ids_a is None or ids_b is None or list(ids_a) == list(ids_b):
        return
    if len(ids_a) != len(ids_b):
        raise InputError(f"{path_b}: holds {len(ids_b)} stimulus ids but {path_a} holds "
                         f"{len(ids_a)}")
    k = next(i for i, (a, b) in enumerate(zip(ids_a, ids_b, strict=True)) if a != b)
    raise InputError(f"{path_b}: stimuli differ from {path_a} (row {k}: {ids_b[k]!r} vs "
                     f"{ids_a[k]!r}); both must hold the same stimuli in the same order")


def stimulus_count(path: str | os.PathLike) -> int:
    """How many stimuli an activation file holds, from its header alone."""
    shapes, ids = read_layer_shapes(path)
    return len(ids) if ids is not None else next(iter(shapes.values()))[0]


def subset_rows(m: int, size: int, seed: int) -> np.ndarray:
    """A seeded subset of ``size`` of m rows, in their original order; all rows when ``size``
    is not smaller. The draw depends on (seed, m, size) only, so both sides of a pair, and a
    rerun, get the same rows."""
    if size >= m:
        return np.arange(m)
    return np.sort(np.random.default_rng([seed, m, size]).choice(m, size, replace=False))


def read_pair(path_a: str | os.PathLike, path_b: str | os.PathLike, subset: int | None = None,
              subset_seed: int = 0) -> tuple[dict, dict]:
    """The layers of two activation files that hold the same stimuli, optionally restricted to
    the same seeded subset of ``subset`` stimuli (:func:`subset_rows`)."""
    return subset_of(read_layers(path_a), read_layers(path_b), path_a, path_b, subset,
                     subset_seed)


def subset_of(read_a: tuple[dict, list], read_b: tuple[dict, list], path_a, path_b,
              subset: int | None = None, subset_seed: int = 0) -> tuple[dict, dict]:
    """:func:`read_pair` of two files already read (:func:`read_layers`)."""
    (layers_a, ids_a), (layers_b, ids_b) = read_a, read_b
    check_same_stimuli(ids_a, ids_b, path_a, path_b)
    if subset is None:
        return layers_a, layers_b
    m = next(iter(layers_a.values())).shape[0]
    rows = subset_rows(m, subset, subset_seed)
    return ({k: v[rows] for k, v in layers_a.items()}, {k: v[rows] for k, v in layers_b.items()})


def write_rows(rows: Sequence[Mapping], path: str | os.PathLike) -> None:
    """A small CSV from a list of same-keyed dicts, atomically (no pandas import needed)."""
    import csv

    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def link_or_copy(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """A hard link of ``source`` at ``target`` (a new path), or a copy where the file system
    cannot link: published checkpoints share their bytes with the training state."""
    try:
        os.link(source, target)
    except OSError:
        import shutil

        shutil.copyfile(source, target)


def fingerprint(settings: Mapping) -> str:
    """A short stable hash of JSON-able settings: which checkpoints a rerun may resume from."""
    import hashlib

    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a table as parquet (or CSV for a ``.csv`` path), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            table.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
