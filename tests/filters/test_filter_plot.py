"""Filter health figures: grids with flagged frames, RMS bars, aliasing, projections."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import pytest
import torch
from torch.utils.data import TensorDataset

from interpret import scan
from interpret.filters import (
    filter_health,
    plot_aliasing,
    plot_filter_grid,
    plot_filter_projections,
    plot_filter_rms,
    strongest_projections,
)
from interpret.testing import chain_cnn


@pytest.fixture(scope="module")
def planted():
    net = chain_cnn()
    with torch.no_grad():
        net.features[0].weight[2].zero_()
        net.features[0].bias[2] = -1.0
        net.features[0].weight[4].mul_(10.0)
    data = TensorDataset(torch.randn(12, 3, 16, 16, generator=torch.Generator().manual_seed(0)))
    return net, data, filter_health(net, "features.0", data)


def _frame(ax):
    spine = ax.spines["left"]
    return mcolors.to_hex(spine.get_edgecolor()) if spine.get_visible() else None


def test_grid_frames_dead_and_dominating_filters(planted):
    _, _, health = planted
    fig = plot_filter_grid(health, columns=4)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 6
    frames = [_frame(ax) for ax in shown]
    assert frames == [
        None,
        None,
        mcolors.to_hex("tab:red"),
        None,
        mcolors.to_hex("tab:orange"),
        None,
    ]
    # joint scale: the dead (all-zero) filter is uniform grey, the dominating one saturates
    dead = torch.as_tensor(shown[2].images[0].get_array())
    assert torch.allclose(dead, torch.full_like(dead, 0.5))
    dom = torch.as_tensor(shown[4].images[0].get_array())
    assert float((dom - 0.5).abs().max()) == pytest.approx(0.5)
    each = plot_filter_grid(health, scale="each")
    other = torch.as_tensor([ax for ax in each.axes if ax.images][0].images[0].get_array())
    assert float((other - 0.5).abs().max()) == pytest.approx(0.5)
    plt.close("all")


def test_rms_bars_and_aliasing(planted):
    _, _, health = planted
    fig = plot_filter_rms(health)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == pytest.approx(health.rms.tolist())
    assert mcolors.to_hex(fig.axes[0].patches[4].get_facecolor()) == mcolors.to_hex("tab:orange")
    fig = plot_aliasing(health)
    bars = [p for p in fig.axes[1].patches]
    assert [b.get_height() for b in bars] == pytest.approx(health.aliasing.tolist())
    plt.close("all")


def test_projections_from_tensor_and_from_deconvnet(planted):
    net, data, health = planted
    fig = plot_filter_projections(torch.randn(6, 3, 9, 9), health)
    assert len([ax for ax in fig.axes if ax.images]) == 6
    assert _frame([ax for ax in fig.axes if ax.images][2]) == mcolors.to_hex("tab:red")
    deconvnet = pytest.importorskip("interpret.deconvnet")
    (top,) = scan(net, data, [deconvnet.TopActivations("features.3", k=2)], progress=False)
    projected = deconvnet.project_top(net, data, top, channels=[1, 5])
    fig = plot_filter_projections(projected)
    tiles = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in tiles] == ["1", "5"]
    strongest = strongest_projections(net, "features.3", data)
    assert strongest.channels.tolist() == list(range(8)) and strongest.projections.shape[1] == 1
    assert torch.equal(strongest.values[[1, 5], 0], top.values[[1, 5], 0])
    assert len([ax for ax in plot_filter_projections(strongest).axes if ax.images]) == 8
    plt.close("all")


def test_bad_input(planted):
    net, _, _ = planted
    deep = filter_health(net, "features.3")
    with pytest.raises(ValueError, match="keep_weights"):
        plot_filter_grid(deep)
    with pytest.raises(ValueError, match="aliasing=True"):
        plot_aliasing(deep)
    with pytest.raises(ValueError, match="scale must be"):
        plot_filter_grid(planted[2], scale="log")
    with pytest.raises(TypeError, match="TopProjectionsResult"):
        plot_filter_projections([1, 2, 3])
    with pytest.raises(ValueError, match=r"\(F, C, h, w\)"):
        plot_filter_projections(torch.zeros(3, 4))
