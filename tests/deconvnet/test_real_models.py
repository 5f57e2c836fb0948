"""Real models and data (slow): EfficientNet-Lite0 on the sample photos; ZFNet trained on
digits with feature scale clipping, and the figures of Zeiler & Fergus that come from it."""

from __future__ import annotations

import pytest
import torch

from interpret import scan
from interpret.deconvnet import (
    TopActivations,
    evolution,
    layer_filters,
    project_top,
)
from interpret.deconvnet.plot import plot_evolution, plot_filters, plot_top

pytestmark = pytest.mark.slow


def _centre_of_mass(result):
    magnitude = result.projections.abs().sum(2)  # (n, k, h, w)
    h, w = magnitude.shape[-2:]
    total = magnitude.sum((2, 3))
    cy = (magnitude * torch.arange(h).view(h, 1)).sum((2, 3)) / total + result.boxes[..., 0]
    cx = (magnitude * torch.arange(w).view(1, w)).sum((2, 3)) / total + result.boxes[..., 1]
    return cy, cx


def test_efficientnet_lite0_top9_on_sample_photos(tmp_path):
    from interpret.data import EFFICIENTNET_LITE0, SamplePhotos
    from interpret.models import efficientnet_lite0

    model = efficientnet_lite0(pretrained=True)
    data = SamplePhotos(EFFICIENTNET_LITE0)
    (top,) = scan(model, data, [TopActivations("blocks.2", k=9)], progress=False)
    channels = top.values[:, 0].argsort(descending=True)[:4].tolist()
    shown = project_top(model, data, top, channels=channels)
    assert shown.route == "gradient" and shown.window == "support"
    # each projection sits on its unit: blocks.2 has stride 8
    cy, cx = _centre_of_mass(shown)
    distance = ((cy - (8 * shown.y + 4)) ** 2 + (cx - (8 * shown.x + 4)) ** 2).sqrt()
    assert float(distance.mean()) < 6.0, distance
    fig = plot_top(shown, inverse=EFFICIENTNET_LITE0.inverse)
    fig.savefig(tmp_path / "lite0_blocks2.png", dpi=60)
    assert (tmp_path / "lite0_blocks2.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from interpret.data import Digits
    from interpret.models import train_zfnet, zfnet_digits

    folder = tmp_path_factory.mktemp("zfnet")
    model = zfnet_digits()
    train = Digits(size=32, split="train")
    history = train_zfnet(model, train, epochs=3, checkpoint_dir=folder)
    return model, history, Digits(size=32, split="test")


def test_training_figures_fig6_filters(trained):
    model, history, _ = trained
    filters = layer_filters(model, label="with feature scale clipping")
    assert float(filters.rms.max()) <= 0.1 + 1e-6  # the paper's radius
    assert filters.weights.shape[0] == model.features[0].out_channels
    fig = plot_filters(filters)
    assert len([im for ax in fig.axes for im in ax.get_images()]) == filters.weights.shape[0]


def test_training_figures_fig4_evolution(trained):
    model, history, test = trained
    assert len(history.checkpoints) == 3
    channels = {"features.1": [0, 3], "features.5": [1, 7], "features.13": [2]}
    result = evolution(model, history.checkpoints, test, channels)
    assert result.labels == ("epoch 1", "epoch 2", "epoch 3")
    for site in channels:
        shots = result.snapshots[site]
        assert len(shots) == 3 and all(s.window == "receptive" for s in shots)
        assert all(float(s.projections.abs().max()) > 0 for s in shots)
    # the features change through training (the point of Fig. 4)
    first, last = result.snapshots["features.5"][0], result.snapshots["features.5"][-1]
    assert not torch.allclose(first.projections, last.projections)
    fig = plot_evolution(result)
    assert len([im for ax in fig.axes for im in ax.get_images()]) == 5 * 3


def test_training_figures_fig2_top9_per_layer(trained):
    model, _, test = trained
    sites = ["features.1", "features.5", "features.9", "features.11", "features.13"]
    tops = scan(model, test, [TopActivations(s, k=9) for s in sites], progress=False)
    for top in tops:
        shown = project_top(model, test, top, channels=list(range(4)))
        assert shown.route == "reverse" and shown.window == "receptive"
        filled = shown.image_index >= 0
        assert bool(filled.all())
        energy = shown.projections.abs().sum((2, 3, 4))
        assert bool((energy[top.values[:4] > 0] > 0).all())
        fig = plot_top(shown)
        assert len(fig.axes) > 0
