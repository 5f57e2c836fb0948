"""On CUDA, the hot paths give what they give on the CPU (run by ``make gpu-check``).

Each test runs the same small model in float64 on the CPU and on the GPU and compares:
``scan`` with several analyzers, the batched projections, activation maximization and
the occlusion sweep. Skipped where no CUDA device is present.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch.utils.data import TensorDataset

import interpret
from interpret.core import ActivationStats
from interpret.deconvnet import TopActivations, project
from interpret.embeddings import PatchEmbeddings
from interpret.filters import FilterActivity
from interpret.neurons import Selectivity, channel, maximize, preset
from interpret.occlusion import Occluder, occlusion_sensitivity
from interpret.testing import chain_cnn

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _pair():
    cpu = chain_cnn().double()
    return cpu, copy.deepcopy(cpu).to("cuda")


def _close(a, b, **kw):
    torch.testing.assert_close(a.cpu(), b.cpu(), **kw)


def _analyzers():
    return [
        ActivationStats(["features.1", "features.4"], k=3),
        TopActivations("features.4", k=4),
        Selectivity("features.4", classes=3, sample=16),
        FilterActivity("features.4"),
        PatchEmbeddings("features.4", max_patches=32, thumbnail_size=None),
    ]


def test_scan_on_cuda_equals_scan_on_cpu():
    cpu, gpu = _pair()
    gen = torch.Generator().manual_seed(0)
    data = TensorDataset(
        torch.randn(40, 3, 28, 28, generator=gen, dtype=torch.float64), torch.arange(40) % 3
    )
    ours = interpret.scan(cpu, data, _analyzers(), batch_size=8, progress=False)
    theirs = interpret.scan(gpu, data, _analyzers(), batch_size=8, progress=False)
    stats_c, top_c, sel_c, act_c, patch_c = ours
    stats_g, top_g, sel_g, act_g, patch_g = theirs
    for site in stats_c.sites:
        _close(stats_c.sites[site].mean, stats_g.sites[site].mean)
        assert torch.equal(stats_c.sites[site].top_index, stats_g.sites[site].top_index)
    assert torch.equal(top_c.index, top_g.index) and torch.equal(top_c.y, top_g.y)
    _close(top_c.values, top_g.values)
    assert torch.equal(sel_c.hist, sel_g.hist)
    _close(sel_c.mean, sel_g.mean)
    _close(act_c.max_activation, act_g.max_activation)
    assert torch.equal(patch_c.image_index, patch_g.image_index)
    _close(patch_c.vectors, patch_g.vectors)
    for result in theirs:  # results are CPU tensors whatever the device
        tensors = [v for v in vars(result).values() if isinstance(v, torch.Tensor)]
        assert all(t.device.type == "cpu" for t in tensors)


def test_nan_input_on_cuda_still_names_the_batch():
    _, gpu = _pair()
    images = torch.randn(16, 3, 28, 28, dtype=torch.float64)
    images[9, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="Batch 3 .*NaN or infinite"):
        interpret.scan(gpu, TensorDataset(images), [FilterActivity("features.4")], batch_size=4,
                       progress=False)  # fmt: skip


def test_batched_projections_on_cuda_equal_cpu():
    cpu, gpu = _pair()
    images = torch.randn(3, 3, 23, 31, generator=torch.Generator().manual_seed(2)).double()
    for mode in ("max", "map"):
        ours = project(cpu, images, "features.4", channels=[0, 2, 5], mode=mode)
        theirs = project(gpu, images, "features.4", channels=[0, 2, 5], mode=mode)
        _close(ours.projections, theirs.projections)
        assert torch.equal(ours.y, theirs.y) and torch.equal(ours.x, theirs.x)


def test_maximize_on_cuda_equals_cpu():
    cpu, gpu = _pair()
    config = preset("lucid", size=24, steps=8)
    ours = maximize(cpu, channel("features.3", [0, 1, 2]), normalize=None, config=config)
    theirs = maximize(gpu, channel("features.3", [0, 1, 2]), normalize=None, config=config)
    _close(ours.curve, theirs.curve, rtol=1e-6, atol=1e-8)
    _close(ours.images, theirs.images, rtol=1e-5, atol=1e-6)


def test_occlusion_on_cuda_equals_cpu():
    cpu, gpu = _pair()
    images = torch.randn(2, 3, 20, 20, generator=torch.Generator().manual_seed(3)).double()
    ours = occlusion_sensitivity(cpu, images, Occluder(8, 4), batch_size=8)
    theirs = occlusion_sensitivity(gpu, images, Occluder(8, 4), batch_size=8)
    _close(ours.target_prob, theirs.target_prob)
    _close(ours.feature_total, theirs.feature_total)
