"""Generated stand-ins for the 5 non-parametric OOD sets of the model-vs-human benchmark
(``shared/spec/ood.md``): edge, silhouette, sketch, stylized and cue-conflict.

The published sets are fixed photographs, drawings and style-transfer outputs that cannot be
derived from an arbitrary image set; these stand-ins derive from any image set the property each
published set isolates, so that the embedded default and the tests need no download. When a
directory with the published images is configured, it is read instead (``ood_folder``).

The functions here work on plain arrays: grey images are N × H × W and colour images
N × 3 × H × W, floats in [0, 1]. Sizes are in pixels of the image they receive; ``ood`` scales
the published 224-pixel sizes to the image size and registers the sets.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import binary_fill_holes, gaussian_filter, sobel

from ..errors import InputError

#: Canny's hysteresis thresholds as fractions of the image's strongest smoothed gradient: an edge
#: then depends on the image's shapes, not on its contrast, its (random) ink and paper colours, or
#: how far an upscaled image spreads a step over pixels.
CANNY_LOW, CANNY_HIGH = 0.1, 0.25
#: The faintest stroke of a sketch (its darkness relative to the strongest edge of the image):
#: weak contours stay visible, as in a drawing, but lighter.
FAINTEST_STROKE = 0.35


def _stretched(image: np.ndarray) -> np.ndarray | None:
    """The image mapped linearly onto [0, 1], or None for a constant image (nothing to draw);
    Canny's smoothing and thresholds then act alike on faint and strong images."""
    span = float(np.ptp(image))
    return None if span <= 1e-8 else (image - image.min()) / span


def _gradient_strength(image: np.ndarray, sigma: float) -> np.ndarray:
    """Sobel gradient magnitude (H × W) of the image smoothed at ``sigma``, as Canny sees it."""
    smooth = gaussian_filter(image, sigma, mode="nearest")
    return np.hypot(sobel(smooth, axis=0), sobel(smooth, axis=1))


def _canny(image: np.ndarray, sigma: float) -> np.ndarray:
    """Boolean Canny edge map (H × W) of an image, thresholds relative to its strongest edge."""
    from skimage.feature import canny  # imported here: scikit-image costs a second to import

    strongest = float(_gradient_strength(image, sigma).max())
    if strongest <= 1e-12:
        return np.zeros(image.shape, dtype=bool)
    return canny(image, sigma=sigma, low_threshold=CANNY_LOW * strongest,
                 high_threshold=CANNY_HIGH * strongest)


def edges_on_white(g: np.ndarray, sigma: float) -> np.ndarray:
    """Stand-in for the published *edge* set: the Canny edge map of each image, dark lines
    (0) on white (1).

    The published set shows Canny edge maps of the 160 object photographs of the texture-shape
    study, black lines on white: shape outlines without texture, colour or shading. Canny's
    detector applied to any image gives the same kind of stimulus, so it is a fair stand-in; the
    images differ only in the photographs the edges come from.

    Parameters
    ----------
    g : N × H × W grey images in [0, 1].
    sigma : width in pixels of Canny's Gaussian smoothing.

    Returns
    -------
    N × H × W array with values in {0, 1}; a constant image gives a blank (white) page.
    """
    out = np.ones_like(g)
    for page, image in zip(out, g, strict=True):
        stretched = _stretched(image)
        if stretched is not None:
            page[_canny(stretched, sigma)] = 0.0
    return out


def _two_level_threshold(image: np.ndarray) -> float:
    """A grey level between object and background: Otsu's threshold, moved to the midpoint of
    the two classes' means until it settles (Ridler and Calvard's isodata rule). Otsu alone
    leans into the larger class when the object is small, so that pixel noise in the background
    would cross it; the midpoint stays in the gap between the two levels."""
    from skimage.filters import threshold_otsu  # imported here: scikit-image is slow to import

    threshold = float(threshold_otsu(image))
    for _ in range(20):
        above = image > threshold
        if above.all() or not above.any():
            break
        midpoint = 0.5 * float(image[above].mean() + image[~above].mean())
        if abs(midpoint - threshold) < 1e-9:
            break
        threshold = midpoint
    return threshold


def _foreground(image: np.ndarray) -> np.ndarray:
    """Boolean foreground mask (H × W): the grey levels split in two (``_two_level_threshold``),
    and the side that holds most of the image border is the background, so that dark-on-light
    and light-on-dark objects are both found."""
    above = image > _two_level_threshold(image)
    border = np.concatenate([above[0], above[-1], above[1:-1, 0], above[1:-1, -1]])
    return ~above if border.mean() > 0.5 else above


def filled_silhouettes(g: np.ndarray) -> np.ndarray:
    """Stand-in for the published *silhouette* set: the filled foreground of each image, black
    (0) on white (1).

    The published set fills the outline of each object of the edge set in black on white: the
    object's shape alone, without inner contours. Here the foreground is estimated by a
    threshold of the grey image (Otsu's, refined to the midpoint between the two grey levels)
    with the border taken as background, and its holes are filled (a ring becomes a disk). That
    gives the same kind of stimulus wherever object and background differ in brightness, as
    they do for the generated digits (ink on paper); on cluttered photographs the estimate
    follows brightness, not the object, which is why a configured published set is preferred.

    Parameters
    ----------
    g : N × H × W grey images in [0, 1].

    Returns
    -------
    N × H × W array with values in {0, 1}, black regions without holes; a constant image gives a
    blank (white) page.
    """
    out = np.ones_like(g)
    for page, image in zip(out, g, strict=True):
        if np.ptp(image) > 1e-8:
            page[binary_fill_holes(_foreground(image))] = 0.0
    return out


def line_drawings(g: np.ndarray, sigma: float, pen: float) -> np.ndarray:
    """Stand-in for the published *sketch* set: a grey line drawing of each image's coarse
    contours.

    The published set holds ImageNet-Sketch drawings: hand-drawn contours of the object, grey
    pencil lines of varying darkness, with no texture, colour or shading. Here the image is
    smoothed (which removes texture finer than ``sigma``), its Canny edges at that scale are the
    pen's path, each stroke is as dark as the edge is strong (from ``FAINTEST_STROKE`` to black)
    and the pen spreads it over a width ``pen``. The result keeps the object's contours and
    nothing else, which is the property the sketch set tests; the drawing style differs from a
    human's.

    Parameters
    ----------
    g : N × H × W grey images in [0, 1].
    sigma : smoothing width in pixels (coarser than the edge set's, to drop texture).
    pen : Gaussian width of a stroke in pixels.

    Returns
    -------
    N × H × W array in [0, 1]: strokes dark on white, identical in the three colour channels once
    stacked.
    """
    out = np.ones_like(g)
    for page, image in zip(out, g, strict=True):
        stretched = _stretched(image)
        if stretched is None:
            continue
        path = _canny(stretched, sigma)
        if not path.any():
            continue
        strength = _gradient_strength(stretched, sigma)[path]
        darkness = np.zeros_like(stretched)
        darkness[path] = FAINTEST_STROKE + (1 - FAINTEST_STROKE) * strength / strength.max()
        # the pen spreads each stroke; dividing by the spread of a single pixel keeps a stroke's
        # centre as dark as its edge is strong
        spread = gaussian_filter(darkness, pen, mode="constant") / _peak(pen)
        page[:] = 1.0 - np.clip(spread, 0.0, 1.0)
    return out


def _peak(pen: float) -> float:
    """The centre value of a unit pixel after the pen's Gaussian spread."""
    impulse = np.zeros((9, 9))
    impulse[4, 4] = 1.0
    return float(gaussian_filter(impulse, pen, mode="constant")[4, 4])


def texture_transfer(images: np.ndarray, content_grey: np.ndarray,
                     partners: np.ndarray) -> np.ndarray:
    """The texture statistics of image ``partners[i]`` on the content of image ``i``.

    Each colour channel of the result has the amplitude spectrum of the partner's channel and
    the phase spectrum of the content image's luminance. The amplitude spectrum (including its
    zero frequency) fixes a channel's mean, variance and power at every spatial frequency and
    orientation: the second-order texture statistics, which AdaIN's per-channel mean and
    variance matching transfers at the level of network features. The phase spectrum carries
    the positions of edges and parts (Oppenheim & Lim, 1981), i.e. the content's layout; taking
    it from the luminance keeps the layout identical in the three channels.

    Parameters
    ----------
    images : N × 3 × H × W colour images in [0, 1] (the texture sources).
    content_grey : N × H × W luminance of the content images.
    partners : N integers, the texture source of each content image.

    Returns
    -------
    N × 3 × H × W array clipped to [0, 1].
    """
    out = np.empty_like(images)
    for i, partner in enumerate(partners):  # one image at a time: spectra are 16 bytes a value
        phase = np.angle(np.fft.fft2(content_grey[i]))
        amplitude = np.abs(np.fft.fft2(images[partner]))
        # the amplitude spectrum of a real image is symmetric and its phase antisymmetric, so the
        # inverse transform is real up to rounding
        out[i] = np.fft.ifft2(amplitude * np.exp(1j * phase)).real
    return np.clip(out, 0.0, 1.0)


def derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """A seeded permutation of range(n) without fixed points: a partner other than itself for
    every image.

    Raises
    ------
    InputError
        for fewer than two images.
    """
    if n < 2:
        raise InputError(f"stylized: needs at least 2 source images, got {n}")
    while True:  # a random permutation has no fixed point with probability ≈ 1/e
        order = rng.permutation(n)
        if not np.any(order == np.arange(n)):
            return order


def other_class_partners(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each image, a seeded random image of a different class.

    Parameters
    ----------
    labels : N integer class labels.

    Returns
    -------
    N indices ``p`` with ``labels[p[i]] != labels[i]``.

    Raises
    ------
    InputError
        when the images do not span at least two classes.
    """
    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        raise InputError("cue-conflict: needs source images of at least 2 classes, got "
                         f"{len(np.unique(labels))}")
    partners = np.empty(len(labels), dtype=int)
    for i, label in enumerate(labels):
        partners[i] = rng.choice(np.flatnonzero(labels != label))
    return partners
