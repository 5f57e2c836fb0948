"""The bundled EfficientNet-Lite0 (real ImageNet weights) over every sample photo at its
own 224 px: the exact incremental mode equals the full sweep, and the approximate mode's
target-probability maps keep a mean SSIM >= 0.9 against the exact ones (Krypton's target),
on the exact map's own span, while really approximating (the maps differ) and measuring
its own error where it guessed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from interpret.data import Preprocess, sample_photos
from interpret.occlusion import Occluder, occlusion_sensitivity


def _ssims(got: torch.Tensor, want: torch.Tensor) -> list[float]:
    return [
        float(structural_similarity(g.numpy(), w.numpy(), data_range=float(w.max() - w.min())))
        for g, w in zip(got.double(), want.double())
    ]


@pytest.mark.slow
def test_lite0_exact_and_approximate_modes_on_the_sample_photos(lite0) -> None:
    pre = Preprocess(mean=(0.5,) * 3, std=(0.5,) * 3, size=224)
    images = torch.stack([pre(image) for _, image in sample_photos()])
    occ = Occluder(32, 16)
    full = occlusion_sensitivity(lite0, images, occ, keep_logits=True)
    exact = occlusion_sensitivity(lite0, images, occ, keep_logits=True, incremental=True)
    scale = full.logits.double().abs().max()
    assert float((exact.logits.double() - full.logits.double()).abs().max() / scale) < 1e-4
    want = exact.target_prob.double()
    for tau, drill in ((0.75, None), (1.0, 0.5)):
        approx = occlusion_sensitivity(lite0, images, occ, approximate=tau, drill_down=drill)
        got = approx.target_prob.double()
        worst = float((got - want).abs().max())
        assert worst > 1e-3, "the approximate mode computed the exact maps: nothing was tested"
        assert np.mean(_ssims(got, want)) >= 0.9
        assert (approx.approximation_tau, approx.approximation_drill_down) == (tau, drill)
        # its own error, read at exact positions where it approximated, is real and bounded
        assert approx.approximation_error is not None
        assert 1e-4 < approx.approximation_error <= worst + 1e-6
