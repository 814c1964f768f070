"""The OOD sets: shape, range and determinism of all 17; the defining property of the 12
parametric manipulations (the 5 stand-ins: test_ood_standins.py)."""

import numpy as np
import pytest
import torch

from convergent.data import OOD_SETS, ImageSet, make_ood_set, ood


@pytest.fixture
def images(rng):
    """Four smooth colour images with some texture, 32 × 32."""
    yy, xx = np.mgrid[0:32, 0:32] / 32
    base = np.stack([np.sin(6 * xx + k) * np.cos(4 * yy - k) for k in range(3)])
    stack = [np.clip(0.5 + 0.3 * base + 0.1 * rng.standard_normal((3, 32, 32)), 0, 1)
             for _ in range(4)]
    return np.stack(stack)


@pytest.mark.parametrize("name", list(OOD_SETS))
def test_every_set_has_every_level_in_range_and_is_seeded(images, name):
    source = ImageSet(torch.as_tensor(images, dtype=torch.float32), torch.arange(4),
                      [f"img{i}" for i in range(4)], ["a", "b", "c", "d"])
    first = make_ood_set(source, name, seed=3)
    levels = len(OOD_SETS[name])
    assert first.images.shape == (4 * levels, 3, 32, 32)
    assert float(first.images.min()) >= 0 and float(first.images.max()) <= 1
    assert first.labels.tolist() == list(range(4)) * levels
    assert len(set(first.ids)) == 4 * levels and first.ids[0].startswith(f"{name}/")
    assert torch.equal(first.images, make_ood_set(source, name, seed=3).images)


def spectrum_power(g, low):
    power = np.abs(np.fft.fftshift(np.fft.fft2(g))) ** 2
    c = g.shape[-1] // 2
    yy, xx = np.mgrid[:g.shape[-2], :g.shape[-1]]
    radius = np.hypot(yy - c, xx - c)
    return power[..., radius > low].sum() / power.sum()


def test_low_pass_removes_high_frequencies(images):
    g = ood.grey(images)
    blurred = ood.grey(ood.low_pass(images, 40, None))
    assert spectrum_power(blurred, 6) < 0.2 * spectrum_power(g, 6)
    assert np.allclose(ood.low_pass(images, 0, None)[:, 0], g)


def test_high_pass_keeps_detail_around_the_mean_grey(images):
    out = ood.grey(ood.high_pass(images, 3, None))
    assert np.allclose(out.mean(axis=(1, 2)), ood.GREY, atol=0.02)
    assert spectrum_power(out - out.mean(), 2) > spectrum_power(ood.grey(images), 2)


def test_contrast_scales_the_grey_deviation(images):
    g = ood.grey(images)
    for c in (1.0, 0.3, 0.05):
        out = ood.contrast(images, c, None)[:, 0]
        assert np.allclose(out - 0.5, c * (g - 0.5))


def test_power_equalisation_gives_every_image_the_same_amplitude_spectrum(images):
    out = ood.grey(ood.power_equalisation(images, "equalised", None))
    amplitude = np.abs(np.fft.fft2(out))
    # clipping to [0, 1] perturbs the spectra slightly; unclipped they would be identical
    spread = amplitude.std(axis=0).mean() / amplitude.mean()
    before = np.abs(np.fft.fft2(ood.grey(images)))
    assert spread < 0.5 * before.std(axis=0).mean() / before.mean()


def test_rotation_four_times_is_the_identity(images):
    once = ood.rotation(images, 90, None)
    back = once
    for _ in range(3):
        back = ood.rotation(back, 90, None)
    assert np.allclose(back, ood.as_rgb(ood.grey(images)))
    assert np.allclose(ood.rotation(images, 180, None), ood.rotation(once, 90, None))


def test_phase_noise_is_antisymmetric_and_keeps_images_real(rng):
    noise = ood.antisymmetric_uniform((6, 7), 90.0, rng)
    mirrored = noise[(-np.arange(6)) % 6][:, (-np.arange(7)) % 7]
    assert np.allclose(noise, -mirrored) and np.abs(noise).max() <= 90
    g = rng.uniform(size=(6, 7))
    scrambled = np.fft.ifft2(np.fft.fft2(g) * np.exp(1j * np.deg2rad(noise)))
    assert np.abs(scrambled.imag).max() < 1e-12
    assert np.allclose(ood.phase_scrambling(g[None, None].repeat(3, 1), 0, rng)[0, 0], g)


def test_false_colour_keeps_luminance_and_flips_opponent_channels(images):
    out = ood.false_colour(images * 0.5 + 0.25, "opponent", None)  # away from the clip bounds
    assert np.allclose(ood.grey(out), ood.grey(images * 0.5 + 0.25))
    red_green = lambda im: im[:, 0] - im[:, 1]  # noqa: E731
    assert np.allclose(red_green(out), -red_green(images * 0.5 + 0.25))


def test_uniform_noise_grows_with_width(images, rng):
    clean = ood.uniform_noise(images, 0.0, rng)
    assert np.allclose(clean[:, 0], 0.35 + 0.3 * ood.grey(images))
    small = np.abs(ood.uniform_noise(images, 0.05, rng) - clean).mean()
    large = np.abs(ood.uniform_noise(images, 0.6, rng) - clean).mean()
    assert small < large


@pytest.mark.parametrize("name", ["eidolonI", "eidolonII", "eidolonIII"])
def test_eidolon_disarray_grows_with_reach(images, name):
    coherence = ood.EIDOLON_COHERENCE[name]
    g = ood.grey(images)
    change = [np.abs(ood.grey(ood.eidolon(images, reach, np.random.default_rng(0), coherence))
                     - g).mean() for reach in (1, 16, 128)]
    assert change[0] < change[1] < change[2]
    assert change[0] < 0.05  # reach 1 barely moves anything
