"""The bundled EfficientNet-Lite0 (real ImageNet weights) over every sample photo: the
exact incremental mode equals the full sweep, and the approximate mode's target-probability
maps keep SSIM >= 0.9 against the exact ones."""

from __future__ import annotations

import pytest
import torch
from skimage.metrics import structural_similarity

from interpret.data import Preprocess, sample_photos
from interpret.occlusion import Occluder, occlusion_sensitivity

TAU = 0.75


@pytest.mark.slow
def test_lite0_exact_and_approximate_modes_on_the_sample_photos(lite0) -> None:
    pre = Preprocess(mean=(0.5,) * 3, std=(0.5,) * 3, size=128)
    images = torch.stack([pre(image) for _, image in sample_photos()])
    occ = Occluder(24, 12)
    full = occlusion_sensitivity(lite0, images, occ, keep_logits=True)
    exact = occlusion_sensitivity(lite0, images, occ, keep_logits=True, incremental=True)
    scale = full.logits.double().abs().max()
    assert float((exact.logits.double() - full.logits.double()).abs().max() / scale) < 1e-4
    approx = occlusion_sensitivity(lite0, images, occ, approximate=TAU)
    for got, want in zip(approx.target_prob.double(), full.target_prob.double()):
        span = float(want.max() - want.min())
        assert structural_similarity(got.numpy(), want.numpy(), data_range=span) >= 0.9
    assert approx.approximation_tau == TAU and approx.approximation_error is not None
