"""Figures draw what the results hold: Fig. 7 panels, Fig. 8 grid, Table 1 plot."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.patches import Rectangle

from interpret.occlusion import Occluder, occlusion_sensitivity, part_correspondence
from interpret.occlusion.plot import (
    plot_correspondence,
    plot_correspondence_images,
    plot_sensitivity,
)
from interpret.testing import chain_cnn

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def sweep():
    net = chain_cnn(seed=4)
    images = torch.randn(2, 3, 20, 24, generator=torch.Generator().manual_seed(0))
    return net, images, occlusion_sensitivity(net, images, Occluder(6, 3))


def test_fig7_panels_legend_and_occluder(sweep) -> None:
    import matplotlib.pyplot as plt

    _net, images, res = sweep
    names = [f"name{k}" for k in range(5)]
    fig = plot_sensitivity(res, images, index=1, labels=names, projection=torch.randn(3, 20, 24))
    image_axes = [ax for ax in fig.axes if ax.get_title()]
    titles = [ax.get_title() for ax in image_axes]
    assert [t[:3] for t in titles] == ["(a)", "(b)", "(c)", "(d)", "(e)"]
    assert titles[2] == "(c) deconvnet projection"  # a bare tensor: no rule recorded
    assert names[int(res.target[1])] in titles[3]
    assert f"map {int(res.feature_channel[1])}" in titles[1]
    legend = image_axes[4].get_legend()
    present = sorted(torch.unique(res.top_label[1]).tolist())
    assert [t.get_text() for t in legend.get_texts()] == [names[k] for k in present]
    # the occluder is drawn where the target probability is lowest
    rect = next(p for p in image_axes[0].patches if isinstance(p, Rectangle))
    flat = int(res.target_prob[1].argmin())
    top, left, bottom, right = res.boxes().view(-1, 4)[flat].tolist()
    assert rect.get_xy() == (left - 0.5, top - 0.5)
    assert (rect.get_width(), rect.get_height()) == (right - left, bottom - top)
    # (b) shows the grid values themselves
    shown = image_axes[1].get_images()[0].get_array()
    assert torch.allclose(
        torch.as_tensor(shown.data).double(), res.feature_total[1].float().double()
    )
    plt.close(fig)


def test_fig7_without_projection_or_site_says_so(sweep) -> None:
    import matplotlib.pyplot as plt

    net, images, _ = sweep
    res = occlusion_sensitivity(net, images, Occluder(6, 3), site=None)
    fig = plot_sensitivity(res, images, position=(0, 0))
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "no feature site" in texts and "no projection given" in texts
    plt.close(fig)


def test_correspondence_figures() -> None:
    import matplotlib.pyplot as plt

    images = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    parts = {"right eye": [2, 2, 6, 6], "left eye": [2, 9, 6, 13], "nose": [8, 6, 12, 10]}
    res = part_correspondence(chain_cnn(), images, parts, ["features.2", "features.5"],
                              random_draws=2)  # fmt: skip
    fig = plot_correspondence_images(res, images, random_columns=2)
    assert len(fig.axes) == 3 * (1 + 3 + 2)
    assert [ax.get_title() for ax in fig.axes[:6]] == [
        "original", "right eye", "left eye", "nose", "random (right eye)", "random (left eye)"
    ]  # fmt: skip
    nose = fig.axes[3].patches[0]
    assert nose.get_xy() == (6 - 0.5, 8 - 0.5)
    plt.close(fig)
    fig = plot_correspondence(res)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(parts)
    # one errorbar per site for the parts, one for random: its y data are the means
    lines = [line for line in ax.lines if len(line.get_ydata()) == 3]
    means = [res.statistic(p, "features.2")[0] for p in parts]
    assert any(np.allclose(np.asarray(line.get_ydata(), dtype=float), means) for line in lines)
    plt.close(fig)


def test_fig7_panel_c_names_guided_backpropagation(sweep) -> None:
    from interpret.occlusion import project_feature

    net, images, res = sweep
    guided = project_feature(net, images, res, rule="guided")
    fig = plot_sensitivity(res, images, index=0, projection=guided)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[2] == "(c) guided backpropagation"
