"""Incremental occlusion through DAGs (torch.fx): concatenations, adds, depthwise and
grouped convolutions, functional pools; equal to the full sweep. The approximate mode
(Krypton's projective-field threshold, drill-down) records its parameters and error."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import Tensor

from interpret.occlusion import Occluder, occlusion_sensitivity
from interpret.occlusion._approximate import coarse_positions, interpolate
from interpret.occlusion._local import Patch, _gather_batched, gather_box, paste


def relative(a: Tensor, b: Tensor) -> float:
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


def _build(name: str) -> torch.nn.Module:
    torch.manual_seed(0)  # torchvision initialises from the global generator
    extra = (
        {"aux_logits": False, "init_weights": False}
        if name in ("inception_v3", "googlenet")
        else {}
    )
    return getattr(torchvision.models, name)(weights=None, **extra).eval()


@pytest.mark.parametrize(
    ("name", "size", "expect"),
    [
        ("googlenet", 64, "inception3a"),  # Inception branches joined by torch.cat
        ("densenet121", 64, "denseblock1"),  # each layer reads the cat of all before
        ("mobilenet_v2", 64, "features.2"),  # depthwise convolutions, residual adds
        ("resnet50", 64, "layer1"),  # bottlenecks (chain plan)
    ],
)
def test_incremental_equals_full_on_dags(name: str, size: int, expect: str) -> None:
    model = _build(name)
    images = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    occ = Occluder(16, 8)
    full = occlusion_sensitivity(model, images, occ, keep_logits=True, batch_size=16)
    inc = occlusion_sensitivity(model, images, occ, keep_logits=True, incremental=True,
                                batch_size=16)  # fmt: skip
    assert relative(inc.logits, full.logits) < 1e-4
    assert relative(inc.feature_total, full.feature_total) < 1e-4
    assert torch.equal(inc.top_label, full.top_label)
    assert any(expect in site for site in inc.incremental_sites), inc.incremental_sites


@pytest.mark.slow
@pytest.mark.parametrize(("name", "size"), [("inception_v3", 112), ("densenet121", 160),
                                            ("resnet50", 160), ("mobilenet_v2", 160)])  # fmt: skip
def test_incremental_equals_full_on_larger_inputs(name: str, size: int) -> None:
    model = _build(name)
    images = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(2))
    occ = Occluder(24, 16)
    full = occlusion_sensitivity(model, images, occ, keep_logits=True)
    inc = occlusion_sensitivity(model, images, occ, keep_logits=True, incremental=True)
    assert relative(inc.logits, full.logits) < 1e-4
    assert relative(inc.feature_total, full.feature_total) < 1e-4


def test_batched_gather_and_paste_equal_the_per_sample_copies() -> None:
    gen = torch.Generator().manual_seed(0)
    clean = torch.randn(5, 12, 11, generator=gen)
    origin = torch.tensor([[0, 0], [3, 4], [6, 5]])
    patch = Patch(torch.randn(3, 5, 4, 3, generator=gen), torch.tensor([[1, 1], [2, 6], [8, 0]]),
                  torch.zeros(3, 4, dtype=torch.long))  # fmt: skip
    for shift in ((0, 0), (1, 2)):
        loops = gather_box(clean, origin, 6, 6, patch, shift)
        batched = _gather_batched(clean, origin, 6, 6, patch, shift)
        assert torch.equal(loops, batched)
    expected = clean.expand(3, -1, -1, -1).clone()
    for b, (r, c) in enumerate(patch.origin.tolist()):
        expected[b, :, r : r + 4, c : c + 3] = patch.values[b]
    assert torch.equal(paste(clean, patch), expected)


def test_drill_down_interpolation_keeps_the_coarse_values() -> None:
    grid = (5, 6)
    values = torch.arange(30, dtype=torch.float64)  # linear in row and column
    coarse = coarse_positions(grid)
    known = torch.zeros(30, dtype=torch.float64)
    known[coarse] = values[coarse]
    assert torch.allclose(interpolate(known, grid), values)  # bilinear is exact on a plane
    labels = torch.zeros(30, dtype=torch.long)
    labels[coarse] = coarse
    filled = interpolate(labels, grid)
    assert torch.equal(filled[coarse], coarse) and set(filled.tolist()) <= set(coarse.tolist())


def test_approximate_mode_records_parameters_and_its_own_error() -> None:
    model = _build("resnet18")
    images = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    occ = Occluder(16, 8)
    exact = occlusion_sensitivity(model, images, occ)
    loose = occlusion_sensitivity(model, images, occ, approximate=0.3, drill_down=0.5,
                                  approximate_checks=3)  # fmt: skip
    assert (loose.approximation_tau, loose.approximation_drill_down) == (0.3, 0.5)
    assert loose.approximation_checks == 3 and loose.approximation_error is not None
    assert (
        0 < loose.approximation_error <= float((loose.target_prob - exact.target_prob).abs().max())
    )
    tight = occlusion_sensitivity(model, images, occ, approximate=1.0)  # no clipping: exact
    assert relative(tight.target_logit, exact.target_logit) < 1e-4
    assert tight.approximation_error < 1e-5
    with pytest.raises(ValueError, match="tau"):
        occlusion_sensitivity(model, images, occ, approximate=1.5)
    with pytest.raises(ValueError, match="approximate=tau"):
        occlusion_sensitivity(model, images, occ, drill_down=0.5)
