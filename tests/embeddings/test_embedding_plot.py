"""Figures: they draw what the results hold (checked on the artists), and refuse what
they cannot draw."""

from __future__ import annotations

import matplotlib
import pytest
import torch

from interpret import scan
from interpret.embeddings import ImageEmbeddings, PatchEmbeddings, nearest, pca
from interpret.embeddings.embedding import Embedding
from interpret.embeddings.plot import (
    plot_neighbors,
    plot_scatter,
    plot_thumbnail_map,
    plot_unit_patches,
)
from interpret.testing import chain_cnn

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def collected(make_images):
    net = chain_cnn()
    data = make_images(n=12)
    patches, top, whole = scan(
        net,
        data,
        [
            PatchEmbeddings("features.5", max_patches=200, model=net, thumbnail_size=12),
            PatchEmbeddings("features.3", 3, 30, "top", unit=2, model=net, thumbnail_size=12),
            ImageEmbeddings("features.8", thumbnail_size=16),
        ],
        progress=False,
    )
    return data, patches, top, whole


def _embedding(source) -> Embedding:
    coords = pca(source.vectors, 2).coordinates
    return Embedding(coords, source.labels, "pca", {}, 0.0)


def test_scatter_has_one_series_per_class(collected):
    import matplotlib.pyplot as plt

    _, patches, _, _ = collected
    fig = plot_scatter(_embedding(patches), class_names=["a", "b", "c"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    sizes = [len(c.get_offsets()) for c in ax.collections]
    assert sizes == torch.bincount(patches.labels).tolist()
    plt.close(fig)
    unlabelled = Embedding(torch.zeros(5, 2), None, "tsne", {}, 0.0)
    fig = plot_scatter(unlabelled)
    assert len(fig.axes[0].collections[0].get_offsets()) == 5
    plt.close(fig)


def test_thumbnail_map_draws_one_thumbnail_per_occupied_cell(collected):
    import matplotlib.pyplot as plt

    _, patches, _, whole = collected
    emb = _embedding(patches)
    fig = plot_thumbnail_map(emb, patches, cells=6)
    xy = emb.coordinates
    unit = (xy - xy.min(0).values) / (xy.max(0).values - xy.min(0).values) * (6 - 1e-9)
    occupied = len({tuple(c) for c in unit.long().tolist()})
    assert len(fig.axes[0].images) == occupied
    plt.close(fig)
    fig = plot_thumbnail_map(_embedding(whole), whole, cells=4, inverse=lambda t: t * 0.5 + 0.5)
    assert 1 <= len(fig.axes[0].images) <= 12
    plt.close(fig)


def test_thumbnails_can_come_from_the_dataset(collected):
    import matplotlib.pyplot as plt

    data, patches, _, _ = collected
    bare = type(patches)(**{**patches.__dict__, "thumbnails": None})
    fig = plot_thumbnail_map(_embedding(bare), bare, cells=5, images=data)
    assert len(fig.axes[0].images) > 0
    plt.close(fig)
    with pytest.raises(ValueError, match="images="):
        plot_thumbnail_map(_embedding(bare), bare)


def test_unit_patches_beside_their_pca(collected):
    import matplotlib.pyplot as plt

    _, _, top, _ = collected
    fig = plot_unit_patches(top, pca(top.vectors, 2), top=9, shown=20)
    titles = [a.get_title() for a in fig.axes[:9]]
    assert titles == [f"{float(s):.2f}" for s in top.scores[:9]]  # best first
    assert len(fig.axes[-1].images) == 20
    plt.close(fig)
    with pytest.raises(ValueError, match="projection"):
        plot_unit_patches(top, pca(top.vectors[:10], 2))


def test_neighbours_titled_with_rank_and_distance(collected):
    import matplotlib.pyplot as plt

    _, _, _, whole = collected
    res = nearest(whole, [4], k=6)
    fig = plot_neighbors(res, whole, columns=3)
    titles = [a.get_title() for a in fig.axes]
    assert titles[0] == "1: 0"
    assert titles[1] == f"2: {float(res.distances[0, 1]):.4g}"
    assert len(titles) == 6
    plt.close(fig)
    ex = nearest(whole, [4], k=5, exclude_self=True)
    fig = plot_neighbors(ex, whole, class_names=["a", "b", "c"])
    assert fig.axes[0].get_title().startswith("query") and len(fig.axes) == 6
    plt.close(fig)
    with pytest.raises(ValueError, match="query"):
        plot_neighbors(res, whole, query=3)


def test_plots_accept_an_axis(collected):
    import matplotlib.pyplot as plt

    _, patches, _, _ = collected
    fig, axes = plt.subplots(1, 2)
    assert plot_scatter(_embedding(patches), ax=axes[1]) is fig
    assert len(axes[1].collections) == 3 and len(axes[0].collections) == 0
    plt.close(fig)
