"""Occluder geometry, fills and the per-pixel averaging, against hand-worked answers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from interpret.occlusion import (
    BlurFill,
    ConstantFill,
    ImageMeanFill,
    Occluder,
    TensorFill,
    average_over_windows,
    occlusion_sensitivity,
    resolve_fill,
    window_coverage,
    window_positions,
)
from interpret.testing import chain_cnn


def test_cover_positions_match_captum_count_and_cut_off_last_window() -> None:
    # H=10, k=4, s=3: ceil(6/3)+1 = 3 windows at 0, 3, 6; s=4: ceil(6/4)+1 = 3 at 0, 4, 8
    assert window_positions(10, 4, 3, "cover").tolist() == [0, 3, 6]
    assert window_positions(10, 4, 4, "cover").tolist() == [0, 4, 8]  # last one cut: 8..10
    assert window_positions(10, 10, 1, "cover").tolist() == [0]


def test_valid_and_same_positions() -> None:
    assert window_positions(10, 4, 4, "valid").tolist() == [0, 4]
    assert window_positions(10, 4, 3, "same").tolist() == [-2, 1, 4, 7]
    assert window_positions(3, 5, 2, "same").tolist() == [-2, 0]


def test_boxes_are_clipped_and_row_major() -> None:
    occ = Occluder((4, 3), (4, 3), padding="cover")
    boxes = occ.boxes(10, 7)  # rows 0,4,8 ; cols 0,3,6
    assert boxes.shape == (9, 4)
    assert boxes[0].tolist() == [0, 0, 4, 3]
    assert boxes[1].tolist() == [0, 3, 4, 6]
    assert boxes[2].tolist() == [0, 6, 4, 7]
    assert boxes[-1].tolist() == [8, 6, 10, 7]
    same = Occluder(4, 3, padding="same").boxes(10, 10)
    assert same[0].tolist() == [0, 0, 2, 2]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"window": 0, "stride": 1}, ValueError),
        ({"window": 4, "stride": 0}, ValueError),
        ({"window": 4, "stride": -2}, ValueError),
        ({"window": 4, "stride": 5}, ValueError),  # gaps under "cover"
        ({"window": 4, "stride": 2, "padding": "full"}, ValueError),
        ({"window": 4.5, "stride": 2}, TypeError),
        ({"window": 4, "stride": 2, "fill": "purple"}, ValueError),
        ({"window": 4, "stride": 2, "fill": object()}, TypeError),
    ],
)
def test_bad_occluders_fail_clearly(kwargs: dict, error: type) -> None:
    with pytest.raises(error):
        Occluder(**kwargs)


def test_occluder_larger_than_image_fails_with_advice() -> None:
    with pytest.raises(ValueError, match="larger than the image"):
        Occluder(12, 4).grid(10, 20)
    Occluder(5, 6, padding="valid").grid(10, 10)  # gaps allowed with "valid"


def test_average_over_windows_equals_literal_accumulation() -> None:
    gen = torch.Generator().manual_seed(0)
    tops, lefts = window_positions(11, 4, 3, "cover"), window_positions(9, 3, 2, "cover")
    values = torch.randn(2, len(tops), len(lefts), generator=gen, dtype=torch.float64)
    total = torch.zeros(2, 11, 9, dtype=torch.float64)
    count = torch.zeros(11, 9, dtype=torch.float64)
    for i, t in enumerate(tops.tolist()):
        for j, s in enumerate(lefts.tolist()):
            total[:, t : t + 4, s : s + 3] += values[:, i, j, None, None]
            count[t : t + 4, s : s + 3] += 1
    expected = total / count
    got = average_over_windows(values, tops, lefts, (4, 3), (11, 9))
    torch.testing.assert_close(got, expected)
    assert torch.equal(window_coverage(tops, lefts, (4, 3), (11, 9)), count.long())


def test_uncovered_pixels_are_nan() -> None:
    tops = window_positions(10, 3, 4, "valid")  # 0, 4 -> rows 3, 7..9 uncovered
    out = average_over_windows(torch.ones(1, 2, 2), tops, tops, (3, 3), (10, 10))
    assert torch.isnan(out[0, 3, 0]) and torch.isnan(out[0, 9, 9])
    assert out[0, 0, 0] == 1


def test_fills_build_the_right_baselines() -> None:
    images = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 4, 5)
    assert torch.equal(ConstantFill(0.5).baseline(images, (2, 2)), torch.full_like(images, 0.5))
    per_channel = ConstantFill((1.0, 2.0, 3.0)).baseline(images, (2, 2))
    assert per_channel[1, 2, 3, 4] == 3.0 and per_channel[0, 0, 0, 0] == 1.0
    mean = ImageMeanFill().baseline(images, (2, 2))
    assert torch.allclose(mean[1, 2], images[1, 2].mean().expand(4, 5))
    user = torch.randn(3, 4, 5)
    assert torch.equal(TensorFill(user).baseline(images, (2, 2))[1], user)
    with pytest.raises(ValueError, match="does not broadcast"):
        TensorFill(torch.zeros(2, 2)).baseline(images, (2, 2))
    with pytest.raises(ValueError, match="one value per channel"):
        ConstantFill((1.0, 2.0)).baseline(images, (2, 2))


def test_blur_fill_equals_a_literal_gaussian() -> None:
    gen = torch.Generator().manual_seed(1)
    images = torch.rand(1, 2, 9, 8, generator=gen, dtype=torch.float64)
    sigma = 1.3
    got = BlurFill(sigma).baseline(images, (4, 4))
    radius = 4  # ceil(3 * 1.3)
    pad = F.pad(images, (radius,) * 4, mode="replicate")
    weights = torch.tensor(
        [[torch.exp(torch.tensor(-(dy * dy + dx * dx) / (2 * sigma**2))) for dx in range(-4, 5)]
         for dy in range(-4, 5)], dtype=torch.float64,
    )  # fmt: skip
    weights /= weights.sum()
    expected = torch.zeros_like(images)
    for y in range(9):
        for x in range(8):
            expected[0, :, y, x] = (pad[0, :, y : y + 9, x : x + 9] * weights).sum((-2, -1))
    torch.testing.assert_close(got, expected)
    assert resolve_fill("blur").describe().startswith("blur")


def test_resolve_fill_shortcuts() -> None:
    assert resolve_fill("gray") == ConstantFill(0.0)
    assert resolve_fill(0.25) == ConstantFill(0.25)
    assert resolve_fill([0.1, 0.2, 0.3]) == ConstantFill((0.1, 0.2, 0.3))
    assert isinstance(resolve_fill("mean"), ImageMeanFill)
    with pytest.raises(TypeError):
        resolve_fill(True)


def test_occluder_names_agree_with_the_result_and_old_names_warn() -> None:
    occ = Occluder(window=(6, 4), stride=3)
    assert occ.window == (6, 4) and occ.stride == (3, 3)
    res = occlusion_sensitivity(chain_cnn(), torch.randn(1, 3, 16, 16), occ, site=None)
    assert (res.window, res.stride) == (occ.window, occ.stride)
    with pytest.warns(DeprecationWarning, match="window"):
        old = Occluder(size=(6, 4), stride=3)
    assert old == occ
    with pytest.warns(DeprecationWarning, match="Occluder.window"):
        assert occ.size == (6, 4)
    with pytest.warns(DeprecationWarning, match="Occluder.stride"):
        assert occ.steps == (3, 3)
    with pytest.raises(TypeError, match="once"), pytest.warns(DeprecationWarning):
        Occluder(6, 3, size=6)
