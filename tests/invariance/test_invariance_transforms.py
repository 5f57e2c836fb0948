"""Transformation families: checked against torch.roll, torchvision and literal sampling."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision.transforms.functional as TF

from interpret.invariance import (
    custom_transform,
    horizontal_translation,
    rotation,
    scaling,
    vertical_translation,
)


def _images(n: int = 2, h: int = 7, w: int = 9, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, h, w, generator=gen, dtype=torch.float64)


def _bilinear_zero(img: torch.Tensor, y: float, x: float) -> torch.Tensor:
    """Literal bilinear sample of (C, H, W) at pixel coordinates (y, x), zeros outside."""
    _, h, w = img.shape
    y0, x0 = math.floor(y), math.floor(x)
    out = torch.zeros(img.shape[0], dtype=img.dtype)
    for dy in (0, 1):
        for dx in (0, 1):
            yy, xx = y0 + dy, x0 + dx
            weight = (1 - abs(y - yy)) * (1 - abs(x - xx))
            if 0 <= yy < h and 0 <= xx < w and weight > 0:
                out += weight * img[:, yy, xx]
    return out


def _literal(img: torch.Tensor, source) -> torch.Tensor:
    """out(y, x) = img(source(y, x)), source in pixel coordinates."""
    _, h, w = img.shape
    out = torch.zeros_like(img)
    for y in range(h):
        for x in range(w):
            out[:, y, x] = _bilinear_zero(img, *source(y, x))
    return out


@pytest.mark.parametrize("shift", [-9, -3, 0, 2, 7, 15])
def test_circular_shifts_equal_torch_roll(shift):
    x = _images()
    v = vertical_translation([shift], fill="circular")(x)[0]
    h = horizontal_translation([shift], fill="circular")(x)[0]
    assert torch.equal(v, torch.roll(x, shift, dims=2))
    assert torch.equal(h, torch.roll(x, shift, dims=3))


def test_zero_fill_translation_moves_content_down_and_right():
    x = _images()
    shifts = [-3, 0, 2]
    v = vertical_translation(shifts)(x)
    h = horizontal_translation(shifts)(x)
    for k, s in enumerate(shifts):
        ev, eh = torch.zeros_like(x), torch.zeros_like(x)
        for y in range(x.shape[2]):
            if 0 <= y - s < x.shape[2]:
                ev[:, :, y] = x[:, :, y - s]
        for c in range(x.shape[3]):
            if 0 <= c - s < x.shape[3]:
                eh[:, :, :, c] = x[:, :, :, c - s]
        torch.testing.assert_close(v[k], ev, atol=1e-12, rtol=0)
        torch.testing.assert_close(h[k], eh, atol=1e-12, rtol=0)


def test_reflection_fill_mirrors_about_the_edge():
    x = _images(h=6)
    out = vertical_translation([2], fill="reflection")(x)[0]
    # rows 0, 1 come from mirrored rows -2, -1 -> 1, 0 (symmetric about the edge)
    torch.testing.assert_close(out[:, :, 0], x[:, :, 1], atol=1e-12, rtol=0)
    torch.testing.assert_close(out[:, :, 1], x[:, :, 0], atol=1e-12, rtol=0)
    torch.testing.assert_close(out[:, :, 2:], x[:, :, :-2], atol=1e-12, rtol=0)


def test_fractional_shift_interpolates_linearly():
    x = _images()
    out = vertical_translation([0.25])(x)[0]
    expect = 0.75 * x[:, :, 1:] + 0.25 * x[:, :, :-1]
    torch.testing.assert_close(out[:, :, 1:], expect, atol=1e-12, rtol=0)


def test_rotation_90_is_rot90_counter_clockwise():
    x = _images(h=8, w=8)
    out = rotation([90, 180, 270, 0])(x)
    for k in range(4):
        torch.testing.assert_close(
            out[k], torch.rot90(x, k=(k + 1) % 4, dims=(2, 3)), atol=1e-9, rtol=0
        )


def test_rotation_matches_torchvision_rotate():
    x = _images(h=16, w=16).float()
    out = rotation([30.0, -50.0])(x)
    for k, angle in enumerate([30.0, -50.0]):
        ref = TF.rotate(x, angle, interpolation=TF.InterpolationMode.BILINEAR)
        torch.testing.assert_close(out[k], ref, atol=1e-4, rtol=0)


@pytest.mark.parametrize("angle", [30.0, -125.0])
def test_rotation_matches_literal_sampling_on_non_square(angle):
    x = _images(n=1, h=7, w=10)
    out = rotation([angle])(x)[0, 0]
    cy, cx = (x.shape[2] - 1) / 2, (x.shape[3] - 1) / 2
    rad = math.radians(angle)

    def source(y, xx):  # inverse of a counter-clockwise (on screen, y down) rotation
        dx, dy = xx - cx, y - cy
        return cy + math.sin(rad) * dx + math.cos(rad) * dy, cx + math.cos(rad) * dx - math.sin(
            rad
        ) * dy

    torch.testing.assert_close(out, _literal(x[0], source), atol=1e-9, rtol=0)


@pytest.mark.parametrize("factor", [0.6, 1.7])
def test_scaling_matches_literal_zoom_about_centre(factor):
    x = _images(n=1, h=8, w=11)
    out = scaling([factor])(x)[0, 0]
    cy, cx = (x.shape[2] - 1) / 2, (x.shape[3] - 1) / 2
    expect = _literal(x[0], lambda y, xx: (cy + (y - cy) / factor, cx + (xx - cx) / factor))
    torch.testing.assert_close(out, expect, atol=1e-9, rtol=0)


def test_identity_parameters_return_the_input_exactly():
    x = _images()
    for t in (vertical_translation([0]), scaling([1.0]), rotation([0.0, 360.0])):
        out = t(x)
        for k in range(out.shape[0]):
            assert torch.equal(out[k], x)


def test_batched_output_shape_dtype_and_device_follow_the_images():
    x = _images(n=3).float()
    out = rotation([0, 10, 20, 30])(x)
    assert out.shape == (4, 3, 3, 7, 9)
    assert out.dtype == torch.float32
    assert out.device == x.device


def test_custom_transform_calls_fn_per_parameter():
    x = _images()
    t = custom_transform(lambda im, b: im * b, [0.0, 0.5, 2.0], name="contrast", unit="x")
    out = t(x)
    for k, b in enumerate([0.0, 0.5, 2.0]):
        torch.testing.assert_close(out[k], x * b)
    assert not t.spatial and t.unit == "x"


def test_custom_transform_must_keep_the_batch():
    t = custom_transform(lambda im, b: im[:1], [1.0])
    with pytest.raises(ValueError, match="must return a tensor"):
        t(_images())
    t = custom_transform(lambda im, b: im[..., : int(b)], [3.0, 4.0])
    with pytest.raises(ValueError, match="different shapes"):
        t(_images())


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: vertical_translation([]), "empty"),
        (lambda: rotation(torch.empty(0)), "empty"),
        (lambda: scaling([[1.0, 2.0]]), "1-D"),
        (lambda: scaling([0.0, 1.0]), "positive"),
        (lambda: rotation([float("nan")]), "NaN"),
        (lambda: vertical_translation([1], fill="wrap"), "fill must be"),
        (lambda: scaling([1.0], fill="circular"), "fill must be"),
        (lambda: vertical_translation([0.5], fill="circular"), "whole pixels"),
        (lambda: rotation([1.0], interpolation="bicubic"), "interpolation"),
    ],
)
def test_bad_parameters_raise_value_error(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="1-D sequence"):
        rotation(30.0)
    with pytest.raises(TypeError, match="callable"):
        custom_transform("flip", [1.0])
    with pytest.raises(TypeError, match="floating point"):
        rotation([0])(torch.zeros(1, 3, 4, 4, dtype=torch.uint8))


def test_spatial_transform_needs_images_with_spatial_extent():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        rotation([10])(torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="spatial extent"):
        vertical_translation([1])(torch.zeros(2, 8, 1, 1))
    # a custom (non-spatial) transform accepts them
    assert custom_transform(lambda im, b: im + b, [1.0])(torch.zeros(2, 8, 1, 1)).shape[0] == 1


def test_on_features_rescales_shifts_and_rejects_flat_sites():
    t = vertical_translation([4, 8], fill="circular")
    feats = _images(h=4, w=4)
    out = t.on_features(feats, t.params, input_hw=(16, 16))  # stride 4: 1 and 2 cells
    assert torch.equal(out[0], torch.roll(feats, 1, dims=2))
    assert torch.equal(out[1], torch.roll(feats, 2, dims=2))
    with pytest.raises(ValueError, match="whole cells"):
        vertical_translation([2], fill="circular").on_features(feats, [2], (16, 16))
    with pytest.raises(ValueError, match="spatial extent"):
        t.on_features(torch.zeros(2, 10), t.params, (16, 16))
    with pytest.raises(ValueError, match="custom"):
        custom_transform(lambda a, b: a, [1]).on_features(feats, [1], (16, 16))
