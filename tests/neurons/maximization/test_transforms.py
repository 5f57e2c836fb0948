"""Transforms, regularizers and image parameterizations: literal re-implementations,
SciPy/NumPy as referees, and per-element randomness (batched == one at a time)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.ndimage
import torch

from interpret.neurons.maximization.parameterization import (
    COLOR_CORRELATION_SVD_SQRT,
    FourierImage,
    PixelImage,
    decorrelate_colors,
    fourier_frequencies,
)
from interpret.neurons.maximization.regularizers import (
    ClipSmallContribution,
    ClipSmallNorm,
    GaussianBlur,
    L2Decay,
    L2Penalty,
    TotalVariation,
    gaussian_blur,
)
from interpret.neurons.maximization.transforms import (
    Jitter,
    Pad,
    RandomRotate,
    RandomScale,
    Resize,
    apply_transforms,
    lucid_transforms,
)


def gens(*seeds: int) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(s) for s in seeds]


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(3, 3, 20, 24, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


# ---- transforms ---------------------------------------------------------------------


def test_jitter_is_a_per_element_crop_drawn_from_each_generator(images):
    out = Jitter(5)(images, gens(1, 2, 3))
    assert out.shape == (3, 3, 15, 19)
    for b, seed in enumerate((1, 2, 3)):
        g = torch.Generator().manual_seed(seed)
        dy = int(torch.randint(6, (1,), generator=g))
        dx = int(torch.randint(6, (1,), generator=g))
        torch.testing.assert_close(out[b], images[b, :, dy : dy + 15, dx : dx + 19], rtol=0, atol=0)


@pytest.mark.parametrize(
    "transform",
    [Jitter(4), RandomScale((0.8, 1.0, 1.3)), RandomRotate((-20.0, 5.0, 33.0))]
    + list(lucid_transforms()),
    ids=lambda t: t.description,
)
def test_batched_transform_equals_one_element_at_a_time(images, transform):
    batched = transform(images, gens(10, 11, 12))
    for b, seed in enumerate((10, 11, 12)):
        single = transform(images[b : b + 1], gens(seed))
        torch.testing.assert_close(batched[b : b + 1], single, rtol=0, atol=1e-12)


def test_lucid_transforms_compose_to_the_expected_size(images):
    x = images
    for t in lucid_transforms():
        x = t(x, gens(0, 1, 2))
    # pad 12 -> +24, jitter 8 -> -8, scale/rotate keep size, jitter 4 -> -4
    assert x.shape == (3, 3, 20 + 24 - 12, 24 + 24 - 12)
    descriptions = [t.description for t in lucid_transforms()]
    assert descriptions[0] == "pad(12, constant 0.5)" and "jitter(8)" in descriptions


def test_rotation_by_90_degrees_is_rot90():
    x = torch.rand(2, 3, 9, 9, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    out = RandomRotate((90.0,))(x, gens(0, 1))
    # positive angles turn the picture counter-clockwise on screen (as torch.rot90 with k=1)
    torch.testing.assert_close(out, torch.rot90(x, 1, dims=(2, 3)), rtol=0, atol=1e-9)


def test_rotation_of_a_non_square_image_keeps_its_aspect():
    x = torch.zeros(1, 1, 11, 21, dtype=torch.float64)
    x[0, 0, 5, 10:15] = 1.0  # a horizontal bar from the centre to the right
    out = RandomRotate((90.0,))(x, gens(0))
    hit = (out[0, 0] > 0.5).nonzero().tolist()
    assert sorted(hit) == [[y, 10] for y in range(1, 6)]  # now vertical, upwards, 5 long


def bilinear(img: np.ndarray, y: float, x: float) -> float:
    """Literal bilinear sample at pixel coordinates, edge pixels repeated outside."""
    h, w = img.shape
    y, x = min(max(y, 0.0), h - 1.0), min(max(x, 0.0), w - 1.0)
    y0, x0 = int(np.floor(y)), int(np.floor(x))
    y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
    fy, fx = y - y0, x - x0
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return float(top * (1 - fy) + bottom * fy)


def test_scale_one_is_identity_and_scale_s_zooms_about_the_centre():
    x = torch.rand(1, 1, 8, 10, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    torch.testing.assert_close(RandomScale((1.0,))(x, gens(0)), x, rtol=0, atol=1e-12)
    for s in (2.0, 0.7):
        zoom = RandomScale((s,))(x, gens(0))[0, 0].numpy()
        cy, cx = 3.5, 4.5  # output pixel p samples the input at centre + (p - centre) / s
        img = x[0, 0].numpy()
        expected = [
            [bilinear(img, cy + (i - cy) / s, cx + (j - cx) / s) for j in range(10)]
            for i in range(8)
        ]
        np.testing.assert_allclose(zoom, np.array(expected), rtol=0, atol=1e-12)


def test_pad_and_resize(images):
    out = Pad(2, 0.25)(images, gens(0, 1, 2))
    assert out.shape == (3, 3, 24, 28)
    assert bool((out[:, :, :2] == 0.25).all()) and torch.equal(out[:, :, 2:-2, 2:-2], images)
    torch.testing.assert_close(Pad(1, mode="reflect")(images, ())[:, :, 0, 1:-1], images[:, :, 1])
    assert Resize((10, 12))(images).shape == (3, 3, 10, 12)
    assert Resize((20, 24))(images) is images


def test_transform_argument_errors(images):
    with pytest.raises(ValueError, match="one per element"):
        Jitter(2)(images, gens(0))
    with pytest.raises(ValueError, match="does not fit"):
        Jitter(20)(images, gens(0, 1, 2))
    for bad in (
        lambda: Jitter(0),
        lambda: Pad(-1),
        lambda: RandomScale((0.0,)),
        lambda: RandomRotate(()),
    ):
        with pytest.raises(ValueError):
            bad()


# ---- the chain as one sample ------------------------------------------------------------


def one_at_a_time(images, transforms, seeds, size=None):
    generators = gens(*seeds)
    for transform in [*transforms, *([Resize(size)] if size else [])]:
        images = transform(images, generators)
    return images, generators


def composed(images, transforms, seeds, size=None):
    generators = gens(*seeds)
    return apply_transforms(images, transforms, generators, size), generators


def assert_same_draws(a, b):
    for ga, gb in zip(a, b, strict=True):
        assert torch.equal(ga.get_state(), gb.get_state())


@pytest.mark.parametrize(
    "chain, size",
    [
        ((Pad(4, 0.25), Jitter(3), Jitter(2)), None),  # integer shifts: no interpolation
        ((RandomScale((0.8, 1.0, 1.25)),), None),
        ((RandomRotate((-30.0, 0.0, 45.0)),), None),
        ((), (13, 17)),  # a resize down
        ((), (31, 40)),  # and up
        ((Pad(3, 0.5, "reflect"), Jitter(2)), None),  # does not compose: one at a time
    ],
)
def test_a_chain_with_one_interpolation_equals_the_transforms_one_by_one(images, chain, size):
    expected, g1 = one_at_a_time(images, chain, (1, 2, 3), size)
    got, g2 = composed(images, chain, (1, 2, 3), size)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-9)
    assert_same_draws(g1, g2)


def test_lucids_chain_as_one_sample_has_the_same_geometry_and_draws():
    # Bilinear interpolation reproduces a linear image exactly, so where neither the pad
    # nor an edge is within reach (the centre) interpolating three times (the chain) or
    # once (the composition) must give the same values: the same geometry, exactly.
    axes = [torch.linspace(0, 1, n, dtype=torch.float64) for n in (40, 48)]
    y, x = torch.meshgrid(*axes, indexing="ij")
    linear = torch.stack([x, y, 0.5 + 0.5 * (x - y)])[None].repeat(4, 1, 1, 1)
    expected, g1 = one_at_a_time(linear, lucid_transforms(), (5, 6, 7, 8), (32, 32))
    got, g2 = composed(linear, lucid_transforms(), (5, 6, 7, 8), (32, 32))
    assert got.shape == expected.shape == (4, 3, 32, 32)
    assert_same_draws(g1, g2)
    centre = (..., slice(12, 20), slice(12, 20))
    torch.testing.assert_close(got[centre], expected[centre], rtol=0, atol=1e-6)
    # near the pad the chain blurs its edge once per interpolation: small differences
    assert float((got - expected).abs().mean()) < 0.01
    # a geometry off by one pixel would not pass the centre check
    assert float((got[centre] - expected[..., 12:20, 13:21]).abs().mean()) > 1e-3


def test_the_composed_chain_is_differentiable_and_per_element(images):
    x = images.clone().requires_grad_(True)
    out = apply_transforms(x, lucid_transforms(), gens(1, 2, 3), (16, 16))
    out[1].sum().backward()
    assert x.grad[1].abs().sum() > 0 and x.grad[0].abs().sum() == 0 == x.grad[2].abs().sum()
    alone = apply_transforms(images[1:2], lucid_transforms(), gens(2), (16, 16))
    torch.testing.assert_close(out[1:2].detach(), alone, rtol=0, atol=1e-12)


# ---- penalties ------------------------------------------------------------------------


def test_penalties_match_their_formulas(images):
    torch.testing.assert_close(L2Penalty(2.0)(images), 2.0 * ((images - 0.5) ** 2).mean((1, 2, 3)))
    x = images.numpy()
    dy = x[:, :, 1:, :-1] - x[:, :, :-1, :-1]
    dx = x[:, :, :-1, 1:] - x[:, :, :-1, :-1]
    tv2 = (dy**2 + dx**2).reshape(3, -1).mean(1)
    tv1 = np.sqrt(dy**2 + dx**2 + 1e-8).reshape(3, -1).mean(1)
    torch.testing.assert_close(TotalVariation(0.5)(images), torch.from_numpy(0.5 * tv2))
    torch.testing.assert_close(TotalVariation(1.0, beta=1.0)(images), torch.from_numpy(tv1))


# ---- Yosinski's step regularizers ------------------------------------------------------


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.3])
def test_gaussian_blur_matches_scipy(sigma):
    x = torch.randn(2, 3, 17, 13, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    ours = gaussian_blur(x, sigma).numpy()
    ref = np.stack(
        [
            [
                scipy.ndimage.gaussian_filter(x[b, c].numpy(), sigma, mode="reflect")
                for c in range(3)
            ]
            for b in range(2)
        ]
    )
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


def test_blur_runs_every_k_steps_only():
    x = torch.randn(1, 3, 10, 10, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    blur = GaussianBlur(1.0, every=4)
    for step, changes in [(0, True), (1, False), (3, False), (4, True), (8, True)]:
        y = x.clone()
        blur(y, torch.zeros_like(y), step)
        assert (not torch.equal(y, x)) == changes


def test_l2_decay_scales_pixels():
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    y = x.clone()
    L2Decay(0.3)(y, torch.zeros_like(y), 0)
    torch.testing.assert_close(y, 0.7 * x)


def test_clip_small_norm_zeroes_the_lowest_percentile_per_image():
    x = torch.randn(2, 3, 6, 5, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    y = x.clone()
    ClipSmallNorm(30)(y, torch.zeros_like(y), 0)
    for b in range(2):
        norms = np.linalg.norm(x[b].numpy(), axis=0)
        small = norms < np.percentile(norms, 30)
        expected = x[b].numpy() * ~small[None]
        np.testing.assert_array_equal(y[b].numpy(), expected)
        assert 0 < small.sum() < small.size


def test_clip_small_contribution_uses_the_linear_estimate_per_image():
    g = torch.Generator().manual_seed(8)
    x = torch.randn(2, 3, 6, 5, generator=g, dtype=torch.float64)
    grad = torch.randn(2, 3, 6, 5, generator=g, dtype=torch.float64)
    y = x.clone()
    ClipSmallContribution(90)(y, grad, 0)
    for b in range(2):
        benefit = np.abs((grad[b].numpy() * -x[b].numpy()).sum(0))  # the toolbox's formula
        small = benefit < np.percentile(benefit, 90)
        np.testing.assert_array_equal(y[b].numpy(), x[b].numpy() * ~small[None])


def test_regularizer_argument_errors():
    for bad in (
        lambda: L2Decay(1.0),
        lambda: GaussianBlur(0.0),
        lambda: GaussianBlur(1.0, every=0),
        lambda: ClipSmallNorm(101),
        lambda: ClipSmallContribution(-1),
    ):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError, match="too wide"):
        gaussian_blur(torch.zeros(1, 1, 3, 3), 5.0)


# ---- parameterizations ----------------------------------------------------------------


def test_fourier_image_follows_lucids_formula():
    """Re-implemented from Lucid's ``fft_image`` with NumPy (even and odd widths)."""
    for h, w in [(8, 10), (9, 7)]:
        param = FourierImage(gens(0, 1), (h, w), std=0.5, decorrelate=False, dtype=torch.float64)
        spec = param.raw.detach().numpy()
        fy = np.fft.fftfreq(h)[:, None]
        fx = np.fft.fftfreq(w)[: w // 2 + 1] if w % 2 == 0 else np.fft.fftfreq(w)[: w // 2 + 1]
        fx = np.abs(fx)
        freqs = np.sqrt(fx * fx + fy * fy)
        scale = 1.0 / np.maximum(freqs, 1.0 / max(w, h))
        complex_spec = scale[None, None] * (spec[..., 0] + 1j * spec[..., 1])
        img = np.fft.irfft2(complex_spec, s=(h, w), norm="ortho") / 4.0
        expected = 1 / (1 + np.exp(-img))
        np.testing.assert_allclose(param.images().detach().numpy(), expected, rtol=0, atol=1e-12)
        np.testing.assert_allclose(fourier_frequencies(h, w).numpy(), freqs)


def test_decorrelation_uses_the_normalised_lucid_matrix():
    m = COLOR_CORRELATION_SVD_SQRT.numpy()
    m = m / np.max(np.linalg.norm(m, axis=0))
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    expected = np.einsum("ij,bjhw->bihw", m, x.numpy())
    np.testing.assert_allclose(decorrelate_colors(x).numpy(), expected)
    with pytest.raises(ValueError, match="3 channels"):
        decorrelate_colors(torch.zeros(1, 1, 2, 2))


def test_parameterizations_draw_each_element_from_its_generator():
    batched = FourierImage(gens(4, 5, 6), (12, 12))
    for b, seed in enumerate((4, 5, 6)):
        single = FourierImage(gens(seed), (12, 12))
        assert torch.equal(batched.raw[b : b + 1], single.raw)
        torch.testing.assert_close(batched.images(slice(b, b + 1)), single.images(), rtol=0, atol=0)
    pixels = PixelImage(gens(1, 2), (5, 6), std=0.1, output="clip")
    assert torch.equal(pixels.raw[1:], PixelImage(gens(2), (5, 6), std=0.1, output="clip").raw)


def test_pixel_image_outputs():
    clip = PixelImage(gens(0), (4, 4), std=3.0, output="clip")
    assert float(clip.raw.detach().abs().max()) <= 0.5  # clipped to the valid range at the start
    torch.testing.assert_close(clip.images(), clip.raw + 0.5)
    sig = PixelImage(gens(0), (4, 4), std=1.0, output="sigmoid", decorrelate=True)
    torch.testing.assert_close(sig.images(), torch.sigmoid(decorrelate_colors(sig.raw)))
    grey = PixelImage(gens(0), (4, 4), channels=1, decorrelate=True)
    assert grey.images().shape == (1, 1, 4, 4) and not grey.decorrelate
    with pytest.raises(ValueError, match="output="):
        PixelImage(gens(0), (4, 4), output="clip", decorrelate=True)
    assert math.isclose(float(FourierImage(gens(0), (6, 6), std=0.0).images().detach().mean()), 0.5)
