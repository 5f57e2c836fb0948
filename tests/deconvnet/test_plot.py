"""Figures: Fig. 2 / 4 / 6 layouts, the stated contrast stretch, patches through ``inverse``."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from torch.utils.data import TensorDataset  # noqa: E402

from interpret import scan  # noqa: E402
from interpret.deconvnet import (  # noqa: E402
    TopActivations,
    evolution,
    layer_filters,
    project,
    project_top,
)
from interpret.deconvnet.plot import (  # noqa: E402
    CONTRAST_NOTE,
    plot_evolution,
    plot_filters,
    plot_projections,
    plot_top,
    stretch,
)
from interpret.testing import chain_cnn  # noqa: E402


def _texts(fig: Figure) -> str:
    parts = [t.get_text() for t in fig.texts]
    if fig._suptitle is not None:
        parts.append(fig._suptitle.get_text())
    return " ".join(parts)


def _images(fig: Figure):
    return [im for ax in fig.axes for im in ax.get_images()]


def test_stretch_is_symmetric_about_grey():
    x = torch.linspace(-1, 1, 201).view(1, 1, 201)
    shown = stretch(x, percentile=100)
    assert float(shown[0, 0, 100]) == pytest.approx(0.5)
    assert float(shown.min()) == pytest.approx(0.0) and float(shown.max()) == pytest.approx(1.0)
    assert torch.allclose(shown + shown.flip(-1), torch.ones_like(shown))
    spiky = torch.zeros(1, 10, 10)
    spiky[0, 0, 0] = 100.0
    spiky[0, 5, 5] = 1.0
    out = stretch(spiky)  # the outlier saturates, it does not flatten everything else
    assert float(out[0, 0, 0]) == 1.0 and float(out[0, 5, 5]) > 0.5
    assert torch.equal(stretch(torch.zeros(3, 4, 4)), torch.full((3, 4, 4), 0.5))


@pytest.fixture(scope="module")
def top_result():
    net = chain_cnn()
    data = TensorDataset(torch.randn(12, 3, 23, 31, generator=torch.Generator().manual_seed(0)))
    (top,) = scan(net, data, [TopActivations("features.5", k=9)], progress=False)
    return project_top(net, data, top, channels=[0, 3, 5])


def test_plot_top_layout_and_contrast_note(top_result):
    fig = plot_top(top_result, channels=[3, 5])
    assert isinstance(fig, Figure)
    assert len(_images(fig)) == 2 * 2 * 9  # 2 channels x (9 projections + 9 patches)
    assert CONTRAST_NOTE in _texts(fig) and "Top-9" in _texts(fig)
    with pytest.raises(ValueError, match="not in the result"):
        plot_top(top_result, channels=[1])


def test_plot_top_patches_go_through_inverse(top_result):
    fig = plot_top(top_result, channels=[0], inverse=lambda x: torch.full_like(x, 0.25))
    patches = _images(fig)[1::2]  # projection, patch, projection, ... per slot
    values = {round(float(v), 4) for im in patches for v in im.get_array().flatten()}
    assert values <= {0.25, 0.5}  # the inverse's value; grey outside the image


def test_plot_projections_filters_and_evolution(top_result):
    net = chain_cnn()
    x = torch.randn(2, 3, 23, 31, generator=torch.Generator().manual_seed(1))
    fig = plot_projections(project(net, x, "features.2", channels=[0, 1]), x)
    assert len(_images(fig)) == 8 and CONTRAST_NOTE in _texts(fig)
    fig = plot_filters(layer_filters(net, label="demo"))
    assert len(_images(fig)) == 6 and "demo" in _texts(fig)
    data = TensorDataset(x)
    result = evolution(net, [net.state_dict(), chain_cnn(seed=4).state_dict()], data,
                       {"features.2": [0, 1], "features.5": [2]}, labels=["a", "b"])  # fmt: skip
    fig = plot_evolution(result)
    assert len(_images(fig)) == 3 * 2
    assert [ax.get_title() for ax in fig.axes[:2]] == ["a", "b"]
