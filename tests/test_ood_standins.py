"""The generated stand-ins of the 5 non-parametric OOD sets: range, determinism, the registry of
all 17 sets, and the property each stand-in is defined by."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.ndimage import binary_fill_holes, distance_transform_edt, gaussian_filter, sobel

from convergent.data import OOD_SETS, ImageSet, cue_conflict_texture, make_ood_set, ood
from convergent.data import ood_standins as standins
from convergent.errors import InputError

SIZE = 32
PUBLISHED_NAMES = ["edge", "silhouette", "cue-conflict", "colour", "contrast", "high-pass",
                   "low-pass", "phase-scrambling", "power-equalisation", "false-colour",
                   "rotation", "eidolonI", "eidolonII", "eidolonIII", "uniform-noise", "sketch",
                   "stylized"]


def disk(radius, centre=(SIZE / 2, SIZE / 2)):
    yy, xx = np.mgrid[:SIZE, :SIZE]
    return np.hypot(yy - centre[0] + 0.5, xx - centre[1] + 0.5) <= radius


def ring(outer=11, inner=6, centre=(SIZE / 2, SIZE / 2)):
    return disk(outer, centre) & ~disk(inner, centre)


def ink_on_paper(mask, ink, paper):
    """A 3 × H × W image: ``ink`` colour where ``mask``, ``paper`` elsewhere."""
    ink, paper = np.asarray(ink)[:, None, None], np.asarray(paper)[:, None, None]
    return np.where(mask[None], ink, paper).astype(float)


@pytest.fixture
def shapes(rng):
    """Four coloured objects of different shape, each in its own quadrant, with faint pixel
    noise, 32 × 32."""
    square = np.zeros((SIZE, SIZE), bool)
    square[18:28, 3:13] = True
    bar = np.zeros((SIZE, SIZE), bool)
    bar[2:15, 22:26] = True
    masks = [disk(6, (9, 9)), ring(7, 3, (22, 22)), square, bar]
    images = [ink_on_paper(m, rng.uniform(0.6, 0.9, 3), rng.uniform(0.05, 0.3, 3)) for m in masks]
    noisy = np.stack(images) + 0.02 * rng.standard_normal((4, 3, SIZE, SIZE))
    return np.clip(noisy, 0, 1), masks


def image_set(images, labels=(0, 1, 2, 3), classes=("a", "b", "c", "d")):
    return ImageSet(torch.as_tensor(images, dtype=torch.float32), torch.as_tensor(labels),
                    [f"img{i}" for i in range(len(images))], list(classes))


def gradient(g):
    """Gradient magnitude of grey image(s) (… × H × W), each smoothed at σ = 1 on its own."""
    if g.ndim > 2:
        return np.stack([gradient(image) for image in g])
    smooth = gaussian_filter(g, 1.0)
    return np.hypot(sobel(smooth, axis=0), sobel(smooth, axis=1))


def test_the_registry_covers_the_17_published_sets():
    assert sorted(OOD_SETS) == sorted(PUBLISHED_NAMES)
    assert set(ood.MANIPULATIONS) | set(ood.LABELLED_MANIPULATIONS) == set(OOD_SETS)
    assert not set(ood.MANIPULATIONS) & set(ood.LABELLED_MANIPULATIONS)
    # the 12 parametric sets keep the positions that seed their random draws
    assert list(OOD_SETS)[:12] == list(ood.PARAMETRIC) and "colour" == ood.PARAMETRIC[0]
    assert sorted(ood.NON_PARAMETRIC) == ["cue-conflict", "edge", "silhouette", "sketch",
                                          "stylized"]
    assert all(len(OOD_SETS[name]) == 1 for name in ood.NON_PARAMETRIC)


def test_unknown_set_is_one_clear_error(shapes):
    with pytest.raises(InputError, match="unknown OOD set 'fog'"):
        make_ood_set(image_set(shapes[0]), "fog")


@pytest.mark.parametrize("name", ["edge", "silhouette", "sketch", "stylized", "cue-conflict"])
def test_standins_are_in_range_seeded_and_keep_labels(shapes, name):
    source = image_set(shapes[0])
    first = make_ood_set(source, name, seed=3)
    assert first.images.shape == (4, 3, SIZE, SIZE) and first.images.dtype == torch.float32
    assert float(first.images.min()) >= 0 and float(first.images.max()) <= 1
    assert torch.equal(first.images, make_ood_set(source, name, seed=3).images)
    assert first.labels.tolist() == [0, 1, 2, 3] and first.classes == source.classes
    (condition,) = OOD_SETS[name]
    assert [i.split("|")[0] for i in first.ids] == [f"{name}/{condition}/img{i}"
                                                    for i in range(4)]


@pytest.mark.parametrize("name", ["stylized", "cue-conflict"])
def test_texture_partners_depend_on_the_seed(shapes, name):
    source = image_set(shapes[0])
    outputs = {tuple(make_ood_set(source, name, seed=s).images.flatten()[::97].tolist())
               for s in range(6)}
    assert len(outputs) > 1


# --- edge -----------------------------------------------------------------------------------

def test_edges_are_dark_lines_on_white_where_the_gradient_is_large(shapes):
    images, _ = shapes
    out = ood.edge(images, "canny", None)
    assert set(np.unique(out)) <= {0.0, 1.0}
    assert np.array_equal(out[:, 0], out[:, 1]) and np.array_equal(out[:, 0], out[:, 2])
    dark = out[:, 0] == 0
    assert 0.8 < 1 - dark.mean() < 0.99  # mostly white, but with lines
    strength = gradient(ood.grey(images))
    # the lines lie on strong gradients, and the strongest gradients lie on (or by) a line
    assert (strength[dark] > np.percentile(strength, 80)).mean() > 0.75
    for lines, page_strength in zip(dark, strength, strict=True):
        near_line = distance_transform_edt(~lines) <= 1.5
        assert near_line[page_strength > np.percentile(page_strength, 90)].mean() > 0.9


def test_edges_trace_the_outline_of_a_disk():
    image = ink_on_paper(disk(10), [0.2, 0.3, 0.9], [0.9, 0.8, 0.2])[None]
    dark = ood.edge(image, "canny", None)[0, 0] == 0
    yy, xx = np.mgrid[:SIZE, :SIZE]
    distance = np.abs(np.hypot(yy - SIZE / 2 + 0.5, xx - SIZE / 2 + 0.5) - 10)
    assert dark.sum() > 2 * np.pi * 10 * 0.7  # most of the circumference
    assert distance[dark].max() <= 1.5


colours = st.tuples(*[st.floats(0, 1)] * 3)


def luminance(colour):
    return float(np.dot(ood.LUMINANCE, colour))


@given(colours, colours)
def test_edges_do_not_depend_on_ink_and_paper_colour(ink, paper):
    assume(abs(luminance(ink) - luminance(paper)) >= 0.05)  # else no visible object
    reference = ood.edge(ink_on_paper(ring(), [0, 0, 0], [1, 1, 1])[None], "canny", None)
    out = ood.edge(ink_on_paper(ring(), ink, paper)[None], "canny", None)
    assert np.mean(out != reference) < 0.01


# --- silhouette ------------------------------------------------------------------------------

@given(colours, colours)
def test_silhouette_of_a_ring_is_a_filled_black_disk_in_any_colours(ink, paper):
    assume(abs(luminance(ink) - luminance(paper)) >= 0.05)
    out = ood.silhouette(ink_on_paper(ring(), ink, paper)[None], "filled", None)[0]
    assert np.array_equal(out[0], out[1]) and np.array_equal(out[0], out[2])
    assert np.array_equal(out[0] == 0, disk(11))  # black where the ring or its hole is


def test_silhouettes_are_binary_black_on_white_without_holes(shapes):
    images, masks = shapes
    out = ood.silhouette(images, "filled", None)
    assert set(np.unique(out)) <= {0.0, 1.0}
    for page, mask in zip(out[:, 0], masks, strict=True):
        black = page == 0
        assert np.array_equal(binary_fill_holes(black), black)
        assert np.array_equal(black, binary_fill_holes(mask))  # despite the pixel noise


def test_a_blank_image_has_a_blank_silhouette_edge_and_sketch():
    blank = np.full((1, 3, SIZE, SIZE), 0.4)
    for manipulate in (ood.silhouette, ood.edge, ood.sketch):
        assert np.all(manipulate(blank, None, None) == 1.0)


# --- sketch ----------------------------------------------------------------------------------

def test_sketch_is_grey_strokes_along_the_contours(shapes):
    images, masks = shapes
    out = ood.sketch(images, "line-drawing", None)
    assert np.array_equal(out[:, 0], out[:, 1]) and np.array_equal(out[:, 0], out[:, 2])
    assert (out < 0.5).mean() < 0.25 and (out > 0.95).mean() > 0.6  # mostly white page
    for page, mask in zip(out[:, 0], masks, strict=True):
        outline = distance_transform_edt(mask) + distance_transform_edt(~mask)
        assert outline[page < 0.5].max() <= 3  # dark strokes only near the object's outline
        assert (page < 0.5).sum() > 10


def test_sketch_draws_no_texture(shapes):
    images, _ = shapes
    yy, xx = np.mgrid[:SIZE, :SIZE]
    texture = 0.1 * np.sin(2 * np.pi * (xx + yy) / 4)  # a fine grating on object and paper
    textured = np.clip(images + texture, 0, 1)
    clean, drawn = ood.sketch(images, None, None), ood.sketch(textured, None, None)
    assert np.mean(np.abs(drawn - clean) > 0.1) < 0.01
    # drawn without the smoothing, the grating shows: the smoothing is what removes it
    unsmoothed = [standins.line_drawings(ood.grey(x), sigma=0.5, pen=0.5)
                  for x in (images, textured)]
    assert np.mean(np.abs(unsmoothed[1] - unsmoothed[0]) > 0.1) > 0.03


# --- stylized and cue-conflict ---------------------------------------------------------------

def correlation(a, b):
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_texture_transfer_keeps_content_and_takes_the_partners_statistics(shapes):
    images, _ = shapes
    images = 0.35 + 0.3 * images  # away from the clip bounds, so statistics transfer exactly
    partners = np.array([1, 2, 3, 0])
    out = standins.texture_transfer(images, ood.grey(images), partners)
    structure, source_structure = gradient(ood.grey(out)), gradient(ood.grey(images))
    for i, p in enumerate(partners):
        own = correlation(structure[i], source_structure[i])
        assert own > 0.6 and own > correlation(structure[i], source_structure[p]) + 0.3
        assert np.allclose(out[i].mean(axis=(1, 2)), images[p].mean(axis=(1, 2)), atol=0.01)
        assert np.allclose(out[i].std(axis=(1, 2)), images[p].std(axis=(1, 2)), rtol=0.1)
        spectrum = np.abs(np.fft.fft2(out[i]))
        assert np.allclose(spectrum, np.abs(np.fft.fft2(images[p])), rtol=0.05, atol=0.05)


@given(st.integers(0, 2**32 - 1))
def test_texture_transfer_from_itself_is_the_identity_for_grey_images(seed):
    g = gaussian_filter(np.random.default_rng(seed).uniform(size=(2, 12, 12)), (0, 1, 1))
    images = ood.as_rgb(g)
    out = standins.texture_transfer(images, g, np.array([0, 1]))
    assert np.allclose(out, images, atol=1e-10)


def test_stylized_uses_another_image_for_every_image(shapes, rng):
    partners = standins.derangement(4, rng)
    assert sorted(partners) == [0, 1, 2, 3] and not np.any(partners == np.arange(4))
    with pytest.raises(InputError, match="stylized: needs at least 2 source images"):
        make_ood_set(image_set(shapes[0][:1], labels=(0,)), "stylized")


def test_cue_conflict_has_the_shape_of_one_class_and_the_texture_of_another(shapes):
    images, _ = shapes
    source = image_set(images, labels=(0, 0, 1, 2), classes=("disk", "square", "bar"))
    out = make_ood_set(source, "cue-conflict", seed=1)
    assert out.labels.tolist() == [0, 0, 1, 2]  # the label is the shape's class
    for k, stimulus in enumerate(out.ids):
        texture = cue_conflict_texture(stimulus)
        assert texture in source.classes and texture != source.classes[out.labels[k]]
        partner = source.ids.index(stimulus.rsplit("|", 1)[1])
        assert source.classes[source.labels[partner]] == texture
        # the image is the shape image's content with the texture image's statistics
        partners = np.full(len(images), partner)
        rebuilt = standins.texture_transfer(images, ood.grey(images), partners)[k]
        assert np.allclose(out.images[k].numpy(), rebuilt, atol=1e-6)


def test_cue_conflict_needs_two_classes(shapes):
    with pytest.raises(InputError, match="cue-conflict: needs source images of at least 2"):
        make_ood_set(image_set(shapes[0], labels=(1, 1, 1, 1)), "cue-conflict")


def test_ids_of_unknown_form_are_rejected():
    with pytest.raises(InputError, match="not a cue-conflict file name"):
        cue_conflict_texture("cue-conflict/shape-texture/digits/17")
