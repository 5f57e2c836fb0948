"""Filter health: planted dead and dominating filters; aliasing against a literal DTFT."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from interpret import scan
from interpret.core import hook_count
from interpret.filters import (
    FilterActivity,
    FilterHealthResult,
    aliasing_fraction,
    filter_health,
    filter_rms,
)
from interpret.testing import chain_cnn


def _photos_like(n=24, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randn(n, 3, 16, 16, generator=gen), torch.arange(n) % 2)


def _planted() -> nn.Module:
    """chain_cnn with filter 2 of conv1 dead (zero weights, bias -1: never > 0) and
    filter 4 dominating (weights x 10)."""
    net = chain_cnn()
    with torch.no_grad():
        net.features[0].weight[2].zero_()
        net.features[0].bias[2] = -1.0
        net.features[0].weight[4].mul_(10.0)
    return net


def test_planted_dead_and_dominating_filters_are_found():
    net = _planted()
    health = filter_health(net, "features.0", _photos_like())
    assert health.dead_filters() == [2]
    assert health.dominating_filters() == [4]
    w = net.features[0].weight.detach().double()
    rms = torch.sqrt((w**2).sum(dim=(1, 2, 3)) / w[0].numel())
    torch.testing.assert_close(health.rms, rms)
    assert health.median_rms == pytest.approx(float(rms.median()))
    assert torch.equal(health.over_radius, rms > 0.1)
    # the same through the rectifier after the conv
    via_relu = filter_health(net, "features.0", _photos_like(), activity_site="features.1")
    assert via_relu.dead_filters() == [2] and via_relu.activity.site == "features.1"
    # a larger factor: nothing dominates
    assert filter_health(net, "features.0", dominating_factor=20.0).dominating_filters() == []


def test_precomputed_activity_equals_the_data_path():
    net, data = _planted(), _photos_like()
    (activity,) = scan(net, data, [FilterActivity("features.0")], progress=False)
    a = filter_health(net, "features.0", activity=activity)
    b = filter_health(net, "features.0", data)
    assert torch.equal(a.dead, b.dead)
    assert torch.equal(a.activity.max_activation, b.activity.max_activation)


def test_table_rows_and_round_trip(tmp_path):
    health = filter_health(_planted(), "features.0", _photos_like())
    flagged = health.rows(only_flagged=True)
    assert [r["filter"] for r in flagged] == [2, 4]
    assert flagged[0]["flags"] == "dead" and flagged[1]["flags"] == "dominating, over radius"
    assert flagged[1]["rms_over_median"] == pytest.approx(float(health.rms[4]) / health.median_rms)
    assert len(health.rows()) == 6
    table = health.markdown()
    assert "dominating (> 3 x median): 1; dead: 1" in table and "| 2 |" in table
    loaded = FilterHealthResult.load(health.save(tmp_path / "h.pt"))
    assert loaded.dead_filters() == [2] and torch.equal(loaded.spectra, health.spectra)
    assert loaded.activity.images_seen == 24


def _literal_fraction(w: torch.Tensor, cutoff, n: int) -> float:
    """Sum over a frequency grid of |sum_y,x w(y, x) exp(-2 pi i (f_y y + f_x x))|^2."""
    w = w.double() - w.double().mean(dim=(1, 2), keepdim=True)
    kh, kw = w.shape[1:]
    freqs = [k / n if k < n / 2 else k / n - 1 for k in range(n)]
    total = above = 0.0
    for fy in freqs:
        for fx in freqs:
            power = 0.0
            for c in range(w.shape[0]):
                re = im = 0.0
                for y in range(kh):
                    for x in range(kw):
                        angle = -2 * math.pi * (fy * y + fx * x)
                        re += float(w[c, y, x]) * math.cos(angle)
                        im += float(w[c, y, x]) * math.sin(angle)
                power += re * re + im * im
            total += power
            if abs(fy) > cutoff[0] or abs(fx) > cutoff[1]:
                above += power
    return above / total


def test_aliasing_fraction_equals_a_literal_dtft():
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(2, 3, 5, 4, generator=gen)
    fraction, spectra, freqs = aliasing_fraction(w, (0.25, 0.2), fft_size=12)
    for f in range(2):
        assert float(fraction[f]) == pytest.approx(_literal_fraction(w[f], (0.25, 0.2), 12))
    assert spectra.shape == (2, 12, 12) and freqs[0] == -0.5 and freqs[6] == 0.0
    # Parseval: the padded spectrum holds n^2 times the energy of the mean-removed filter
    centred = w.double() - w.double().mean(dim=(2, 3), keepdim=True)
    torch.testing.assert_close(spectra.sum(dim=(1, 2)), 144 * centred.pow(2).sum(dim=(1, 2, 3)))


def _conv_with(filters: torch.Tensor, stride: int) -> nn.Module:
    conv = nn.Conv2d(filters.shape[1], filters.shape[0], filters.shape[-1], stride=stride)
    with torch.no_grad():
        conv.weight.copy_(filters)
    return nn.Sequential(conv)


def test_aliasing_separates_checkerboard_from_smooth_filters():
    k = 7
    yy, xx = torch.meshgrid(torch.arange(k), torch.arange(k), indexing="ij")
    checker = ((-1.0) ** (yy + xx)).expand(3, k, k)
    blob = torch.exp(-((yy - 3.0) ** 2 + (xx - 3.0) ** 2) / (2 * 1.5**2)).expand(3, k, k)
    constant = torch.ones(3, k, k)
    filters = torch.stack([checker, blob, constant])
    strided = filter_health(_conv_with(filters, 2), "0")
    assert strided.cutoff == (0.25, 0.25) and strided.stride == (2, 2)
    assert float(strided.aliasing[0]) > 0.9
    assert float(strided.aliasing[1]) < 0.15  # a truncated blob: a little edge energy
    assert float(strided.aliasing[2]) == 0.0  # no AC energy at all
    # stride 4 folds more of the blob; stride 1 folds nothing
    assert float(filter_health(_conv_with(filters, 4), "0").aliasing[1]) > float(
        strided.aliasing[1]
    )
    assert torch.equal(
        filter_health(_conv_with(filters, 1), "0").aliasing, torch.zeros(3, dtype=torch.float64)
    )
    custom = filter_health(_conv_with(filters, 1), "0", cutoff=(0.25, 0.25))
    torch.testing.assert_close(custom.aliasing, strided.aliasing)


def test_deeper_layers_keep_no_weights_unless_asked():
    net = chain_cnn()
    deep = filter_health(net, "features.3")
    assert deep.weights is None and deep.aliasing is None and deep.dead is None
    kept = filter_health(net, "features.3", keep_weights=True, aliasing=True)
    assert kept.weights.shape == (8, 6, 3, 3) and kept.aliasing.shape == (8,)
    assert kept.cutoff == (0.5, 0.5)


def test_filter_rms_helper():
    w = torch.tensor([[[[3.0, 4.0]]], [[[0.0, 0.0]]]])
    torch.testing.assert_close(
        filter_rms(w), torch.tensor([math.sqrt(12.5), 0.0], dtype=torch.float64)
    )


def test_no_hook_left_and_state_restored():
    net = _planted()
    net.train()
    net.features[3].weight.requires_grad_(False)
    before = hook_count(net)
    filter_health(net, "features.0", _photos_like())
    assert hook_count(net) == before and net.training
    assert not net.features[3].weight.requires_grad and net.features[0].weight.requires_grad
    with pytest.raises(ValueError, match="could not run"):
        filter_health(net, "features.0", TensorDataset(torch.randn(4, 5, 16, 16)))
    assert hook_count(net) == before and net.training


def test_bad_input():
    net = chain_cnn()
    with pytest.raises(ValueError, match=r"not an nn.Conv2d|filter health needs an nn.Conv2d"):
        filter_health(net, "features.1")
    with pytest.raises(ValueError, match="Unknown site"):
        filter_health(net, "features.00")
    (activity,) = scan(net, _photos_like(), [FilterActivity("features.3")], progress=False)
    with pytest.raises(ValueError, match="channels"):
        filter_health(net, "features.0", activity=activity)
    with pytest.raises(ValueError, match="not both"):
        filter_health(net, "features.3", _photos_like(), activity=activity)
    with pytest.raises(TypeError, match="FilterActivityResult"):
        filter_health(net, "features.0", activity={"max": 1})
    with pytest.raises(ValueError, match="positive"):
        filter_health(net, "features.0", dominating_factor=0)
    with pytest.raises(ValueError, match="fft_size"):
        aliasing_fraction(torch.zeros(2, 3, 7, 7), (0.25, 0.25), fft_size=4)
    with pytest.raises(ValueError, match=r"\(F, C, kh, kw\)"):
        aliasing_fraction(torch.zeros(3, 7, 7), (0.25, 0.25))
