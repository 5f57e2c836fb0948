"""Receptive-field grids: the chain formula and gradient support agree with a slow,
literal per-position gradient computation."""

from __future__ import annotations

import pytest
import torch

from interpret.core import hook_count
from interpret.embeddings import gradient_fields, site_fields
from interpret.testing import ResidualNet, chain_cnn


@pytest.mark.parametrize("site", ["features.0", "features.3", "features.5", "features.6"])
def test_chain_grid_is_the_literal_gradient_support(site, support_box):
    net = chain_cnn()
    h, w = 23, 31  # non-square, overlapping pools, border fields clipped
    grid = site_fields(net, site, (h, w))
    assert grid.method == "chain"
    image = torch.randn(3, h, w, generator=torch.Generator().manual_seed(1))
    rows, cols = grid.map_size
    for y in sorted({0, 1, rows // 2, rows - 2, rows - 1}):  # borders and the middle
        for x in sorted({0, 1, cols // 2, cols - 2, cols - 1}):
            assert grid.box(y, x) == support_box(net, site, image, y, x), (y, x)


def test_gradient_support_equals_chain_formula():
    net = chain_cnn()
    for site in ("features.2", "features.5", "features.8"):
        chain = site_fields(net, site, (32, 40), method="chain")
        grad = gradient_fields(net, site, (32, 40), probes=2)
        assert torch.equal(chain.rows, grad.rows) and torch.equal(chain.cols, grad.cols)
        assert chain.nominal == grad.nominal


def test_residual_net_uses_gradient_support(support_box):
    net = ResidualNet()
    before = hook_count(net)
    net.train()
    grid = site_fields(net, "relu2", (10, 7))
    assert grid.method == "gradient"
    assert net.training and hook_count(net) == before
    assert all(p.requires_grad for p in net.parameters())
    image = torch.randn(3, 10, 7, generator=torch.Generator().manual_seed(2))
    for y in range(10):
        for x in range(7):
            assert grid.box(y, x) == support_box(net, "relu2", image, y, x)
    # stem (3x3) + two 3x3 convs: a 7x7 field, interior boxes unclipped
    assert grid.nominal == (7, 7)
    assert grid.box(5, 3) == (2, 0, 9, 7)
    with pytest.raises(ValueError, match="chain"):
        site_fields(net, "relu2", (10, 7), method="chain")


def test_unclipped_rows_continue_the_grid():
    grid = site_fields(chain_cnn(), "features.5", (32, 40))
    full = grid.rows_full
    assert bool((full[:, 1] - full[:, 0] == grid.nominal[0]).all())
    assert bool((full[1:, 0] - full[:-1, 0] == 4).all())  # two stride-2 pools
    assert torch.equal(full.clamp(0, 32), grid.rows)


def test_site_without_spatial_extent_is_refused():
    with pytest.raises(ValueError, match="no spatial"):
        gradient_fields(chain_cnn(), "classifier.2", (32, 32))
    with pytest.raises(ValueError, match="method"):
        site_fields(chain_cnn(), "features.0", (8, 8), method="exactish")


def test_single_channel_models_are_probed_with_their_own_channels():
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(2, 2, 3, stride=2)
    )
    chain = site_fields(net, "2", (11, 9))
    grad = site_fields(net, "2", (11, 9), method="gradient")
    assert torch.equal(chain.rows, grad.rows) and torch.equal(chain.cols, grad.cols)
    assert chain.box(0, 0) == (0, 0, 4, 4)  # padding 1 clips the 5x5 field at the border
