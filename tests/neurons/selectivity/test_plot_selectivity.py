"""Selectivity figures draw what the result holds (checked on the drawn artists)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from interpret.core import scan
from interpret.neurons import Selectivity, sparsity
from interpret.neurons.selectivity.plot import (
    plot_best_neurons,
    plot_class_means,
    plot_label_map,
    plot_neuron_histograms,
    plot_sparsity,
)
from interpret.testing import chain_cnn

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def result():
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(120) % 4
    offsets = torch.randn(4, 3, 1, 1, generator=g) * 1.5
    data = TensorDataset(torch.randn(120, 3, 12, 12, generator=g) + offsets[labels], labels)
    sel = Selectivity("features.1", attributes={"even": (labels % 2 == 0).long()})
    return scan(chain_cnn(channels=(3, 12, 8), seed=1), data, [sel], progress=False)[0]


def test_class_means_sorted_with_marked_labels(result) -> None:
    import matplotlib.pyplot as plt

    fig = plot_class_means(result, "2")
    left, right = fig.axes[:2]
    sel = result.per_class
    order = torch.sort(sel.mean[2], descending=True, stable=True).indices
    np.testing.assert_allclose(left.lines[0].get_ydata(), sel.mean[2, order].numpy())
    np.testing.assert_allclose(right.lines[0].get_ydata(), sel.rest_mean[2, order].numpy())
    exc, inh = left.collections[:2]
    lab = sel.labels.sign[2, order]
    assert len(exc.get_offsets()) == int((lab == 1).sum())
    assert len(inh.get_offsets()) == int((lab == -1).sum())
    assert int((lab != 0).sum()) > 0
    assert "remaining" in right.get_title()
    plt.close(fig)
    fig = plot_class_means(result, 0, kind="attribute")
    assert fig.axes[0].get_title() == "even"
    plt.close(fig)


def test_neuron_histograms_show_shares_and_threshold(result) -> None:
    import matplotlib.pyplot as plt

    fig = plot_neuron_histograms(result, [3, 0, 5], 1, ncols=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3
    ax = visible[0]
    cls_patch = ax.patches[0]
    share = result.per_class.hist[1, 3, 1:-1].double() / int(result.per_class.count[1])
    np.testing.assert_allclose(cls_patch.get_data().values, share.numpy())
    np.testing.assert_allclose(cls_patch.get_data().edges, result.edges[3].numpy())
    assert ax.lines[0].get_xdata()[0] == pytest.approx(
        float(result.per_class.classifier.threshold[1, 3])
    )
    assert ax.get_title().startswith("neuron 3:")
    plt.close(fig)
    with pytest.raises(ValueError, match="out of range"):
        plot_neuron_histograms(result, [99], 0)
    with pytest.raises(ValueError, match="at least one neuron"):
        plot_neuron_histograms(result, [], 0)


def test_label_map_holds_the_labels(result) -> None:
    import matplotlib.pyplot as plt

    fig = plot_label_map(result, sort=False)
    image = fig.axes[0].images[0].get_array()
    np.testing.assert_array_equal(np.asarray(image), result.per_class.labels.sign.T.numpy())
    plt.close(fig)
    fig = plot_label_map(result)  # sorted: same rows, permuted
    rows = np.asarray(fig.axes[0].images[0].get_array())
    assert sorted(map(tuple, rows)) == sorted(map(tuple, result.per_class.labels.sign.T.tolist()))
    ticks = [int(t.get_text()) for t in fig.axes[0].get_yticklabels()]
    assert sorted(ticks) == list(range(12))
    lab = result.per_class.labels.sign.T
    assert all(rows[i].tolist() == lab[j].tolist() for i, j in enumerate(ticks))
    plt.close(fig)


def test_sparsity_histograms_count_images_and_neurons(result) -> None:
    import matplotlib.pyplot as plt

    fig = plot_sparsity(result, bins=10)
    left, right = fig.axes[:2]
    assert sum(p.get_height() for p in left.patches) == pytest.approx(result.num_images)
    assert sum(p.get_height() for p in right.patches) == pytest.approx(result.num_neurons)
    plt.close(fig)
    fig = plot_sparsity(sparsity(torch.tensor([[1.0, 0.0], [0.0, 0.0], [2.0, 3.0]])), bins=2)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [1.0, 2.0]  # one image with 0% active; 50% and 100% in the top bin
    plt.close(fig)
    with pytest.raises(TypeError, match="SparsityResult"):
        plot_sparsity(result.per_class)


def test_best_neurons_bars(result) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert plot_best_neurons(result, ax=ax) is fig
    heights = [p.get_height() for p in ax.patches]
    expected = [float(result.per_class.best(k, 1)[1][0]) for k in range(4)]
    assert heights == pytest.approx(expected)
    plt.close(fig)
