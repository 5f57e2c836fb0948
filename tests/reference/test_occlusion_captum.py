"""Referee: per-pixel occlusion maps equal Captum's ``Occlusion`` on the same windows,
baselines and targets (float64), for logits, probabilities and a feature-map total."""

from __future__ import annotations

import pytest
import torch
from captum.attr import Occlusion

from interpret.occlusion import Occluder, occlusion_sensitivity
from interpret.testing import chain_cnn

CASES = [
    ((5, 5), (2, 2)),
    ((4, 6), (3, 4)),  # strides dividing neither H - kh nor W - kw: cut-off last windows
    ((7, 3), (7, 3)),  # stride == window: a partition
    ((3, 3), (1, 1)),
]


def _model():
    return chain_cnn(seed=9).double()


def _images(n: int = 3):
    return torch.randn(
        n, 3, 17, 22, generator=torch.Generator().manual_seed(3), dtype=torch.float64
    )


def _captum(forward, images, window, stride, baselines, target, ppe=1):
    c = images.shape[1]
    return Occlusion(forward).attribute(
        images, sliding_window_shapes=(c, *window), strides=(c, *stride), baselines=baselines,
        target=target, perturbations_per_eval=ppe,
    )  # fmt: skip


@pytest.mark.parametrize(("window", "stride"), CASES)
@pytest.mark.parametrize("incremental", [False, True])
def test_logit_maps_equal_captum(window, stride, incremental) -> None:
    model, images = _model(), _images()
    target = [0, 3, 1]
    res = occlusion_sensitivity(model, images, Occluder(window, stride, fill=0.2), target=target,
                                incremental=incremental, batch_size=8)  # fmt: skip
    expected = _captum(model, images, window, stride, 0.2, target, ppe=4)
    assert torch.allclose(expected, expected[:, :1].expand_as(expected))
    torch.testing.assert_close(res.to_pixels("target_logit").double(), expected[:, 0].double(),
                               rtol=1e-5, atol=1e-5)  # fmt: skip


@pytest.mark.parametrize(("window", "stride"), CASES[:2])
def test_probability_maps_equal_captum_with_tensor_baselines(window, stride) -> None:
    model, images = _model(), _images(2)
    baseline = torch.rand(
        images.shape, generator=torch.Generator().manual_seed(4), dtype=torch.float64
    )
    res = occlusion_sensitivity(model, images, Occluder(window, stride, fill=baseline), target=2)
    expected = _captum(lambda x: model(x).softmax(-1), images, window, stride, baseline, 2)
    torch.testing.assert_close(res.to_pixels("target_prob").double(), expected[:, 0].double(),
                               rtol=1e-5, atol=1e-7)  # fmt: skip


def test_image_mean_fill_equals_captum_with_mean_baselines() -> None:
    model, images = _model(), _images(2)
    res = occlusion_sensitivity(model, images, Occluder(5, 3, fill="mean"), target=1)
    baselines = images.mean(dim=(2, 3), keepdim=True).expand_as(images)
    expected = _captum(model, images, (5, 5), (3, 3), baselines, 1)
    torch.testing.assert_close(res.to_pixels("target_logit").double(), expected[:, 0].double(),
                               rtol=1e-5, atol=1e-5)  # fmt: skip


def test_feature_total_map_equals_captum_on_the_feature_sum() -> None:
    model, images = _model(), _images(2)
    res = occlusion_sensitivity(model, images, Occluder(4, 3), site="features.4", channel=5)

    def total(x):
        return model.features[:5](x)[:, 5].sum(dim=(-2, -1))

    expected = _captum(total, images, (4, 4), (3, 3), 0.0, None)
    torch.testing.assert_close(res.to_pixels("feature_total").double(), expected[:, 0].double(),
                               rtol=1e-6, atol=1e-6)  # fmt: skip
