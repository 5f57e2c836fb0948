"""Fig. 5 layout: rows per transformation, columns examples / sites / probability."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest
import torch

from interpret.invariance import invariance_curves, plot_invariance, rotation, vertical_translation
from interpret.testing import chain_cnn


@pytest.fixture(scope="module")
def result():
    x = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    return invariance_curves(
        chain_cnn(),
        x,
        [vertical_translation([-4, 0, 4]), rotation([0, 90, 180, 270])],
        ["features.0", "classifier"],
        image_names=["cat", "cup", "rocket"],
        normalize="max",
    )


def test_one_row_per_transformation_and_one_line_per_image(result):
    import matplotlib.pyplot as plt

    fig = plot_invariance(result)
    axes = fig.axes
    assert len(axes) == 2 * (1 + 2 + 1)
    rows = [axes[0:4], axes[4:8]]
    for r, row in enumerate(rows):
        examples, site0, site1, prob = row
        assert examples.images and len(examples.images) == 1
        for ax, site in ((site0, "features.0"), (site1, "classifier")):
            assert ax.get_title().startswith(site)
            assert len(ax.lines) == 3
            expect = result.distance(r, site)  # normalized by max: peaks at 1
            for i, line in enumerate(ax.lines):
                assert torch.allclose(
                    torch.as_tensor(line.get_ydata(), dtype=torch.float64), expect[i]
                )
        ys = [torch.as_tensor(line.get_ydata()) for line in prob.lines]
        assert torch.allclose(torch.stack(ys).float(), result.curves[r].true_prob)
    assert [t.get_text() for t in rows[0][3].get_legend().get_texts()] == ["cat", "cup", "rocket"]
    plt.close(fig)


def test_options_sites_normalize_examples_and_fig_reuse(result):
    import matplotlib.pyplot as plt

    fig = plot_invariance(result, sites=["classifier"], normalize="none", show_examples=False)
    assert len(fig.axes) == 2 * 2
    line = fig.axes[0].lines[0]
    assert torch.allclose(
        torch.as_tensor(line.get_ydata(), dtype=torch.float64),
        result.curves[0].distances["classifier"][0],
    )
    again = plot_invariance(result, fig=fig, to_image=lambda t: (t - t.min()) / 2)
    assert again is fig and len(fig.axes) == 2 * 4
    with pytest.raises(ValueError, match="No site"):
        plot_invariance(result, sites=["features.7"])
    plt.close(fig)
