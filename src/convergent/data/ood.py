"""The 17 out-of-distribution sets of the model-vs-human benchmark (``shared/spec/ood.md``),
generated from any image set: the 12 parametric manipulations as published, and stand-ins for the
5 non-parametric sets (edge, silhouette, cue-conflict, sketch, stylized; see ``ood_standins``).

Images are floats in [0, 1], N × 3 × H × W. Sizes in the published definitions (σ, reach, grain)
are in pixels of 224-pixel images; here they are scaled by ``H / 224`` so a manipulation removes
the same share of the spectrum at any image size. Every random draw comes from a generator seeded
by (seed, set, level), so a generated set is the same every time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.ndimage import gaussian_filter, map_coordinates

from ..errors import InputError
from . import ood_standins
from .images import ImageSet

LUMINANCE = np.array([0.2125, 0.7154, 0.0721])
#: The mean grey value the published filters pad with and shift to.
GREY = 0.4423
REFERENCE_SIZE = 224

#: Set name → its levels (conditions), as published.
OOD_SETS: dict[str, list] = {
    "colour": ["colour", "grey"],
    "contrast": [1.0, 0.5, 0.3, 0.15, 0.1, 0.05, 0.03, 0.01],
    "high-pass": [np.inf, 3, 1.5, 1, 0.7, 0.55, 0.45, 0.4],
    "low-pass": [0, 1, 3, 5, 7, 10, 15, 40],
    "phase-scrambling": [0, 30, 60, 90, 120, 150, 180],
    "power-equalisation": ["original", "equalised"],
    "false-colour": ["original", "opponent"],
    "rotation": [0, 90, 180, 270],
    "uniform-noise": [0.0, 0.03, 0.05, 0.1, 0.2, 0.35, 0.6, 0.9],
    "eidolonI": [1, 2, 4, 8, 16, 32, 64, 128],
    "eidolonII": [1, 2, 4, 8, 16, 32, 64, 128],
    "eidolonIII": [1, 2, 4, 8, 16, 32, 64, 128],
    # the non-parametric sets have one condition each; the 12 above keep their positions, which
    # seed their random draws
    "edge": ["canny"],
    "silhouette": ["filled"],
    "cue-conflict": ["shape-texture"],
    "sketch": ["line-drawing"],
    "stylized": ["texture-swap"],
}
#: The 12 sets defined by a parametric image manipulation, and the 5 with generated stand-ins.
PARAMETRIC = tuple(list(OOD_SETS)[:12])
NON_PARAMETRIC = tuple(list(OOD_SETS)[12:])
EIDOLON_COHERENCE = {"eidolonI": 1.0, "eidolonII": 0.3, "eidolonIII": 0.0}
EIDOLON_GRAIN = 10.0


def grey(images: np.ndarray) -> np.ndarray:
    """Luminance (N × H × W)."""
    return np.einsum("nchw,c->nhw", images, LUMINANCE)


def as_rgb(g: np.ndarray) -> np.ndarray:
    return np.repeat(g[:, None], 3, axis=1)


def _pixels(value: float, images: np.ndarray) -> float:
    return float(value) * images.shape[-1] / REFERENCE_SIZE


def _blur(g: np.ndarray, sigma: float, **kwargs) -> np.ndarray:
    """Gaussian blur of each image in a stack (N × H × W) over its two spatial axes."""
    return gaussian_filter(g, sigma=(0, sigma, sigma), **kwargs)


def colour(images, level, rng):
    return images if level == "colour" else as_rgb(grey(images))


def contrast(images, c, rng):
    return as_rgb((1 - c) / 2 + c * grey(images))


def high_pass(images, sigma, rng):
    g = grey(images)
    if np.isinf(sigma):
        return as_rgb(g)
    detail = g - _blur(g, _pixels(sigma, images), mode="constant", cval=GREY)
    detail += GREY - detail.mean(axis=(1, 2), keepdims=True)
    return as_rgb(np.clip(detail, 0, 1))


def low_pass(images, sigma, rng):
    g = grey(images)
    if sigma == 0:
        return as_rgb(g)
    return as_rgb(np.clip(_blur(g, _pixels(sigma, images), mode="constant", cval=GREY), 0, 1))


def antisymmetric_uniform(shape: tuple[int, int], width: float, rng) -> np.ndarray:
    """Uniform noise in [−width, width] with noise(−k) = −noise(k) on the FFT grid, so that
    adding it to the phases of a real image's spectrum keeps the image real."""
    h, w = shape
    noise = rng.uniform(-width, width, size=shape)
    mirror = noise[(-np.arange(h)) % h][:, (-np.arange(w)) % w]
    rows, cols = np.indices(shape)
    mirror_rows, mirror_cols = (-rows) % h, (-cols) % w
    first = (rows < mirror_rows) | ((rows == mirror_rows) & (cols < mirror_cols))
    self_mirror = (rows == mirror_rows) & (cols == mirror_cols)
    return np.where(first, noise, np.where(self_mirror, 0.0, -mirror))


def phase_scrambling(images, degrees, rng):
    g = grey(images)
    out = np.empty_like(g)
    for i, image in enumerate(g):
        noise = np.deg2rad(antisymmetric_uniform(image.shape, degrees, rng))
        out[i] = np.fft.ifft2(np.fft.fft2(image) * np.exp(1j * noise)).real
    return as_rgb(np.clip(out, 0, 1))


def power_equalisation(images, level, rng):
    g = grey(images)
    if level == "original":
        return as_rgb(g)
    spectra = np.fft.fft2(g)
    mean_amplitude = np.abs(spectra).mean(axis=0)
    equalised = np.fft.ifft2(mean_amplitude * np.exp(1j * np.angle(spectra))).real
    return as_rgb(np.clip(equalised, 0, 1))


# A fixed linear RGB → (luminance, red-green, blue-yellow) transform: a documented stand-in for
# the published monitor-calibrated one.
OPPONENT = np.array([LUMINANCE, [1.0, -1.0, 0.0], [-0.5, -0.5, 1.0]])


def false_colour(images, level, rng):
    if level == "original":
        return images
    opponent = np.einsum("oc,nchw->nohw", OPPONENT, images)
    opponent[:, 1:] *= -1  # invert both colour-opponent channels, keep luminance
    return np.clip(np.einsum("co,nohw->nchw", np.linalg.inv(OPPONENT), opponent), 0, 1)


def rotation(images, angle, rng):
    return as_rgb(np.rot90(grey(images), k=int(angle) // 90, axes=(1, 2)).copy())


def uniform_noise(images, width, rng):
    g = 0.35 + 0.3 * grey(images)  # contrast 0.3: (1 − 0.3) / 2 + 0.3 g
    return as_rgb(np.clip(g + rng.uniform(-width, width, size=g.shape), 0, 1))


def _unit(field: np.ndarray) -> np.ndarray:
    return field / max(field.std(), 1e-12)


def eidolon(images, reach, rng, coherence: float):
    """Koenderink's eidolon disarray of the grey image.

    The image splits into a difference-of-Gaussians scale space (σ_k = 0.707·√2^k, scaled to the
    image size, up to a quarter of the image) plus the finest detail and the coarsest residual.
    Every level is resampled at pixel + reach × D_k, where D_k mixes a field coherent across
    scales (white noise blurred at every σ_j ≥ σ_k, scaled by σ_j / 64 and summed from coarse to
    fine) with weight ``coherence`` and independent noise blurred at the grain with weight
    1 − coherence; the mix is scaled to unit standard deviation so ``reach`` is the displacement's
    standard deviation in (224-pixel) pixels. The levels are then summed.
    """
    g = grey(images)
    size = g.shape[-1]
    scale = size / REFERENCE_SIZE
    sigmas = [s for s in (0.707 * np.sqrt(2) ** k * scale for k in range(40)) if s <= size / 4]
    sigmas = sigmas or [0.707 * scale]
    rows, cols = np.indices(g.shape[1:], dtype=float)
    out = np.empty_like(g)
    for i, image in enumerate(g):
        blurred = [image] + [gaussian_filter(image, s, mode="reflect") for s in sigmas]
        levels = [blurred[k] - blurred[k + 1] for k in range(len(sigmas))] + [blurred[-1]]
        white = rng.standard_normal((2, *image.shape))
        coherent, running = [], np.zeros_like(white)
        for s in reversed(sigmas):  # coarse to fine
            running = running + np.stack([gaussian_filter(w, s, mode="wrap") for w in white]) * (
                s / (64 * scale))
            coherent.append(running)
        coherent = coherent[::-1] + [coherent[-1]]  # the residual moves with the coarsest level
        warped = np.zeros_like(image)
        for level, field in zip(levels, coherent, strict=True):
            grain = np.stack([gaussian_filter(w, EIDOLON_GRAIN * scale, mode="wrap") for w in
                              rng.standard_normal((2, *image.shape))])
            mix = _unit(coherence * _unit(field) + (1 - coherence) * _unit(grain))
            shift = reach * scale * mix
            warped += map_coordinates(level, [rows + shift[0], cols + shift[1]], order=1,
                                      mode="reflect")
        out[i] = warped
    return as_rgb(np.clip(out, 0, 1))


#: Smoothing widths of the stand-ins in pixels of 224-pixel images, scaled like the published
#: sizes, and their floors in pixels of the image itself: below about a pixel, Canny's smoothing
#: no longer separates edges from pixel noise.
EDGE_SIGMA, EDGE_SIGMA_MIN = 2.0, 1.0
SKETCH_SIGMA, SKETCH_SIGMA_MIN = 3.0, 1.5
SKETCH_PEN, SKETCH_PEN_MIN = 1.0, 0.5


def _pixels_at_least(value: float, floor: float, images: np.ndarray) -> float:
    return max(floor, _pixels(value, images))


def edge(images, level, rng):
    """Stand-in for *edge*: Canny edges, dark lines on white (``ood_standins.edges_on_white``)."""
    sigma = _pixels_at_least(EDGE_SIGMA, EDGE_SIGMA_MIN, images)
    return as_rgb(ood_standins.edges_on_white(grey(images), sigma))


def silhouette(images, level, rng):
    """Stand-in for *silhouette*: the filled foreground, black on white
    (``ood_standins.filled_silhouettes``)."""
    return as_rgb(ood_standins.filled_silhouettes(grey(images)))


def sketch(images, level, rng):
    """Stand-in for *sketch*: a grey line drawing of the coarse contours
    (``ood_standins.line_drawings``)."""
    sigma = _pixels_at_least(SKETCH_SIGMA, SKETCH_SIGMA_MIN, images)
    pen = _pixels_at_least(SKETCH_PEN, SKETCH_PEN_MIN, images)
    return as_rgb(ood_standins.line_drawings(grey(images), sigma, pen))


def stylized(images, level, rng):
    """Stand-in for *stylized*: each image's content with the texture statistics of a seeded
    random other image of the set (``ood_standins.texture_transfer``). The published set
    renders ImageNet images in the style of paintings (AdaIN); here the styles come from the set
    itself, so no painting collection is needed."""
    partners = ood_standins.derangement(len(images), rng)
    return ood_standins.texture_transfer(images, grey(images), partners)


def cue_conflict(images, labels, rng):
    """Stand-in for *cue-conflict*: the content (shape) of each image with the texture
    statistics of a seeded random image of another class (``ood_standins.texture_transfer``),
    as the published set renders an object of one class in the texture of another by style
    transfer.

    Returns
    -------
    (N × 3 × H × W images, N indices of the texture images).
    """
    partners = ood_standins.other_class_partners(labels, rng)
    return ood_standins.texture_transfer(images, grey(images), partners), partners


#: Set name → manipulation ``f(images N × 3 × H × W, level, rng) -> images``: every set but
#: cue-conflict, which also needs the labels (``LABELLED_MANIPULATIONS``).
MANIPULATIONS: dict[str, Callable] = {
    "colour": colour, "contrast": contrast, "high-pass": high_pass, "low-pass": low_pass,
    "phase-scrambling": phase_scrambling, "power-equalisation": power_equalisation,
    "false-colour": false_colour, "rotation": rotation, "uniform-noise": uniform_noise,
    **{name: (lambda c: lambda im, level, rng: eidolon(im, level, rng, c))(coh)
       for name, coh in EIDOLON_COHERENCE.items()},
    "edge": edge, "silhouette": silhouette, "sketch": sketch, "stylized": stylized,
}
#: Set name → ``f(images, labels N, rng) -> (images, texture source indices N)``.
LABELLED_MANIPULATIONS: dict[str, Callable] = {"cue-conflict": cue_conflict}

#: Marks the texture class in a generated cue-conflict stimulus id:
#: ``cue-conflict/shape-texture/<shape image id>|texture=<class>|<texture image id>``.
TEXTURE_MARK = "|texture="


def level_label(level) -> str:
    return "inf" if isinstance(level, float) and np.isinf(level) else str(level)


def make_ood_set(source: ImageSet, name: str, seed: int = 0) -> ImageSet:
    """The union over the set's levels of the manipulated ``source`` images; stimulus ids are
    ``name/level/original id`` and the labels are the originals'.

    For cue-conflict the label is the shape's class (the source image's) and the id also names
    the texture's class and image: ``cue-conflict/shape-texture/<id>|texture=<class>|<id>``.

    Raises
    ------
    InputError
        for an unknown set name, or a source too small for a stand-in (stylized needs two
        images, cue-conflict two classes).
    """
    if name not in OOD_SETS:
        raise InputError(f"unknown OOD set {name!r}; choose from {', '.join(OOD_SETS)}")
    images = source.images.numpy().astype(np.float64)
    set_index = list(OOD_SETS).index(name)
    if name in LABELLED_MANIPULATIONS:
        return _labelled_set(source, images, name, np.random.default_rng([seed, set_index, 0]))
    manipulate = MANIPULATIONS[name]
    parts, ids = [], []
    for k, level in enumerate(OOD_SETS[name]):
        rng = np.random.default_rng([seed, set_index, k])
        parts.append(manipulate(images, level, rng))
        ids += [f"{name}/{level_label(level)}/{i}" for i in source.ids]
    levels = len(OOD_SETS[name])
    return ImageSet(torch.as_tensor(np.concatenate(parts), dtype=torch.float32),
                    source.labels.repeat(levels), ids, source.classes)


def _labelled_set(source: ImageSet, images: np.ndarray, name: str, rng) -> ImageSet:
    """A one-condition set whose manipulation pairs each image with a texture image."""
    labels = source.labels.numpy()
    out, partners = LABELLED_MANIPULATIONS[name](images, labels, rng)
    (condition,) = OOD_SETS[name]
    ids = [f"{name}/{condition}/{source.ids[i]}{TEXTURE_MARK}{source.classes[labels[p]]}|"
           f"{source.ids[p]}" for i, p in enumerate(partners)]
    return ImageSet(torch.as_tensor(out, dtype=torch.float32), source.labels.clone(), ids,
                    source.classes)
