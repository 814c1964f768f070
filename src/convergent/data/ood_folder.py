"""The published OOD images, read from the directory layout of the model-vs-human toolbox
(``shared/spec/ood.md``, "Real layout"), and the conditions the published summary leaves out.

- colour … uniform-noise (the 12 parametric sets), sketch, stylized:
  ``<root>/<name>/dnn/session-1/<NNNN>_<exp>_dnn_<condition>_<category>_<num>_<orig>.png``;
  the condition is the 4th ``_`` field and the category the 5th.
- edge, silhouette, cue-conflict: ``<root>/<name>/<category>/<image>.png``; these have one
  condition each (the label of ``ood.OOD_SETS``). For cue-conflict the folder is the shape's
  category and the file name holds the texture's, e.g. ``cat3-elephant1.png``.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from .images import ImageSet
from .ood import NON_PARAMETRIC, OOD_SETS, TEXTURE_MARK, level_label

#: The 16 categories of the benchmark, in the published order; a real set's labels index them.
CATEGORIES = ["airplane", "bear", "bicycle", "bird", "boat", "bottle", "car", "cat", "chair",
              "clock", "dog", "elephant", "keyboard", "knife", "oven", "truck"]
#: Sets stored one folder per category rather than in session folders.
FOLDER_LAYOUT = ("edge", "silhouette", "cue-conflict")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: ``cat3-elephant1``: shape category and number, texture category and number.
CUE_CONFLICT_NAME = re.compile(r"^([a-z]+)\d+-([a-z]+)\d+$")

#: The condition labels in the published file names, in the order of ``ood.OOD_SETS``' levels
#: (sets not listed use the same labels as the generated sets).
PUBLISHED_CONDITIONS: dict[str, list[str]] = {
    "colour": ["cr", "bw"],
    "contrast": ["c100", "c50", "c30", "c15", "c10", "c05", "c03", "c01"],
    "power-equalisation": ["0", "pow"],
    "false-colour": ["True", "False"],
    **{name: [f"{reach}-{code}-10" for reach in OOD_SETS[name]]
       for name, code in (("eidolonI", 10), ("eidolonII", 3), ("eidolonIII", 0))},
}
#: Conditions the published summary leaves out (the undistorted control, or where humans scored
#: under 20 %), as ood.md lists them; every condition of the other sets counts.
SUMMARY_EXCLUDED: dict[str, list[str]] = {
    "colour": ["cr"],
    "contrast": ["c100", "c03", "c01"],
    "high-pass": ["inf", "0.55", "0.45", "0.4"],
    "low-pass": ["0", "15", "40"],
    "phase-scrambling": ["0", "150", "180"],
    "power-equalisation": ["0"],
    "false-colour": ["True"],
    "rotation": ["0"],
    "eidolonI": ["1", "64", "128"],
    "eidolonII": ["1", "32", "64", "128"],
    "eidolonIII": ["1", "16", "32", "64", "128"],
    "uniform-noise": ["0.0", "0.6", "0.9"],
}


def _label_key(label: str):
    """Numbers compare by value ("3.0" is level 3), anything else by its text."""
    try:
        return float(label)
    except ValueError:
        return label


def condition_level(name: str, condition: str) -> str:
    """The generated-set level label (as in stimulus ids of ``ood.make_ood_set``) of a condition
    given either as a published file-name label or as a generated label.

    Examples: ("contrast", "c05") → "0.05"; ("high-pass", "3.0") → "3"; ("eidolonII", "8-3-10")
    → "8"; ("colour", "grey") → "grey".

    Raises
    ------
    InputError
        for an unknown set or a condition that is not one of the set's.
    """
    if name not in OOD_SETS:
        raise InputError(f"unknown OOD set {name!r}; choose from {', '.join(OOD_SETS)}")
    levels = [level_label(level) for level in OOD_SETS[name]]
    published = PUBLISHED_CONDITIONS.get(name, levels)
    lookup = {_label_key(label): level for label, level in zip(published, levels, strict=True)}
    lookup.update({_label_key(level): level for level in levels})
    try:
        return lookup[_label_key(condition)]
    except KeyError:
        raise InputError(f"{name}: unknown condition {condition!r}; expected one of "
                         f"{', '.join(published)}") from None


def counts_in_summary(name: str, condition: str) -> bool:
    """Whether the published summary counts condition ``condition`` of set ``name`` (a published
    or a generated label). Every condition of the 5 non-parametric sets counts."""
    if name in NON_PARAMETRIC:
        return True
    level = condition_level(name, condition)  # checks the set and the condition
    return level not in {condition_level(name, label) for label in SUMMARY_EXCLUDED[name]}


def cue_conflict_texture(stimulus_id: str) -> str:
    """The texture class of a cue-conflict stimulus, from its id: a generated
    ``cue-conflict/shape-texture/<id>|texture=<class>|<id>`` or a published
    ``cue-conflict/shape-texture/cat3-elephant1.png``.

    Raises
    ------
    InputError
        for an id of neither form.
    """
    if TEXTURE_MARK in stimulus_id:
        return stimulus_id.split(TEXTURE_MARK, 1)[1].split("|", 1)[0]
    return _cue_conflict_categories(Path(stimulus_id))[1]


def _cue_conflict_categories(path: Path) -> tuple[str, str]:
    """(shape, texture) categories of a published cue-conflict file name."""
    match = CUE_CONFLICT_NAME.match(path.stem)
    if match is None:
        raise InputError(f"{path}: not a cue-conflict file name like 'cat3-elephant1.png'")
    for category in match.groups():
        _category_index(category, path)
    return match.group(1), match.group(2)


def _category_index(category: str, path: Path) -> int:
    if category not in CATEGORIES:
        raise InputError(f"{path}: unknown category {category!r}; expected one of "
                         f"{', '.join(CATEGORIES)}")
    return CATEGORIES.index(category)


def _visible(folder: Path) -> list[Path]:
    """The entries of a folder in sorted order, without hidden ones (``.DS_Store``, ...)."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _images_in(folder: Path) -> list[Path]:
    return [p for p in _visible(folder) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]


def _session_files(set_dir: Path) -> list[tuple[Path, str, int]]:
    """(file, condition, category index) of a set stored in ``dnn/session-1``."""
    session = set_dir / "dnn" / "session-1"
    if not session.is_dir():
        raise InputError(f"{session}: no such directory (the published layout keeps this set "
                         "in <name>/dnn/session-1)")
    files = []
    for path in _images_in(session):
        fields = path.stem.split("_")
        if len(fields) < 6 or fields[2] != "dnn":
            raise InputError(f"{path}: file name does not parse as "
                             "<NNNN>_<exp>_dnn_<condition>_<category>_<num>_<orig>")
        files.append((path, fields[3], _category_index(fields[4], path)))
    return files


def _category_files(set_dir: Path, name: str) -> list[tuple[Path, str, int]]:
    """(file, condition, category index) of a set stored one folder per category."""
    (condition,) = OOD_SETS[name]
    files = []
    for folder in (p for p in _visible(set_dir) if p.is_dir()):
        index = _category_index(folder.name, folder)
        for path in _images_in(folder):
            if name == "cue-conflict":
                _cue_conflict_categories(path)  # the texture must be recoverable from the name
            files.append((path, condition, index))
    return files


def _load(path: Path, size: int) -> torch.Tensor:
    """One image as 3 × size × size floats in [0, 1]: the shorter side resized to ``size``
    (bilinear, antialiased), centre-cropped, as torchvision's Resize + CenterCrop + ToTensor."""
    from PIL import Image, UnidentifiedImageError
    from torchvision.transforms import functional as TF

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
    except (UnidentifiedImageError, OSError) as err:
        raise InputError(f"{path}: not a readable image ({err})") from None
    return TF.to_tensor(TF.center_crop(TF.resize(image, size), size))


def read_ood_folder(root: str | Path, name: str, image_size: int) -> ImageSet:
    """The published images of OOD set ``name`` under ``root`` (ood.md's "Real layout").

    Files are read in sorted order into one preallocated N × 3 × S × S float32 tensor
    (S = ``image_size``): 12·S² bytes per image, 0.6 MB at S = 224, so about 0.8 GB for a set of
    1,280 images. Classes are the 16 ``CATEGORIES``, labels index them, and stimulus ids are
    ``name/condition/file name`` (the condition as in the file name; see ``condition_level``).

    Raises
    ------
    InputError
        for an unknown set, a missing directory, a set without images, a file name that does not
        parse, an unknown category, an unreadable image, or two files with one name.
    """
    if name not in OOD_SETS:
        raise InputError(f"unknown OOD set {name!r}; choose from {', '.join(OOD_SETS)}")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise InputError(f"image_size: expected a positive integer, got {image_size!r}")
    set_dir = Path(root) / name
    if not set_dir.is_dir():
        raise InputError(f"{set_dir}: no such directory (expected the published {name!r} set)")
    if name in FOLDER_LAYOUT:
        files = _category_files(set_dir, name)
    else:
        files = _session_files(set_dir)
    if not files:
        raise InputError(f"{set_dir}: holds no images ({', '.join(IMAGE_SUFFIXES)})")
    ids = [f"{name}/{condition}/{path.name}" for path, condition, _ in files]
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        raise InputError(f"{set_dir}: two images share the stimulus id {repeated[0]!r}")
    images = torch.empty((len(files), 3, image_size, image_size), dtype=torch.float32)
    for k, (path, _, _) in enumerate(files):
        images[k] = _load(path, image_size)
    labels = torch.as_tensor(np.array([index for _, _, index in files]), dtype=torch.long)
    return ImageSet(images, labels, ids, list(CATEGORIES))
