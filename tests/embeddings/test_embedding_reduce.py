"""t-SNE and UMAP: neighbourhoods of data with known clusters survive, seeds reproduce,
new points land where they belong, and impossible parameters are refused.

Bars (stated): leave-one-out 5-NN accuracy of the cluster labels in the 2-D map >= 0.98
on well-separated blobs and >= 0.95 on the digits; 10-NN preservation >= 0.5 (chance is
about 10 / N, under 0.02 here).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from interpret.embeddings import (
    TSNE,
    UMAP,
    Embedding,
    knn_accuracy,
    knn_preservation,
    tsne,
    umap,
    warm_up_umap,
)


@pytest.fixture(scope="module")
def blobs():
    """700 points in 40-D: 5 clusters, each a 2-D Gaussian sheet (random plane) plus a
    little isotropic noise, so that neighbours within a cluster are meaningful too."""
    rng = np.random.default_rng(0)
    y = np.arange(700) % 5
    centres = rng.normal(scale=12.0, size=(5, 40))
    planes = rng.normal(size=(5, 2, 40))
    z = rng.normal(size=(700, 2))
    x = centres[y] + np.einsum("nk,nkd->nd", z, planes[y]) + 0.1 * rng.normal(size=(700, 40))
    return torch.from_numpy(x).float(), torch.from_numpy(y)


def test_tsne_keeps_clusters_and_neighbourhoods(blobs):
    x, y = blobs
    model = TSNE(perplexity=30, seed=0, pca_dims=20, n_iter=250, early_exaggeration_iter=125)
    emb = model.fit(x[:400])
    assert emb.method == "tsne" and emb.coordinates.shape == (400, 2)
    assert knn_accuracy(emb.coordinates, y[:400], k=5) >= 0.98
    assert knn_preservation(x[:400], emb.coordinates, k=10) >= 0.5
    # new points are placed next to their own cluster
    placed = model.transform(x[400:500])
    d = torch.cdist(placed, emb.coordinates)
    guess = y[:400][d.argmin(1)]
    assert float((guess == y[400:500]).float().mean()) >= 0.95
    assert emb.params["perplexity"] == 30 and emb.params["pca_dims"] == 20
    # same seed, same map; another seed, another map
    fast = {"perplexity": 10, "pca_dims": 20, "n_iter": 50, "early_exaggeration_iter": 50}
    first = TSNE(seed=3, **fast).fit(x[:120])
    assert torch.equal(TSNE(seed=3, **fast).fit(x[:120]).coordinates, first.coordinates)
    assert not torch.equal(TSNE(seed=4, **fast).fit(x[:120]).coordinates, first.coordinates)


def test_tsne_result_carries_labels_and_saves(tmp_path):
    from interpret.embeddings import ImageEmbeddingsResult

    gen = torch.Generator().manual_seed(0)
    vectors = torch.randn(60, 5, generator=gen)
    source = ImageEmbeddingsResult(
        vectors=vectors,
        image_index=torch.arange(60),
        labels=torch.arange(60) % 3,
        predictions=None,
        thumbnails=None,
        site="fc",
        pool="none",
        site_shape=(5,),
        max_images=None,
        seed=0,
        seen=60,
    )
    emb = tsne(source, perplexity=5, seed=1, n_iter=100, early_exaggeration_iter=50)
    assert torch.equal(emb.labels, source.labels)
    back = Embedding.load(emb.save(tmp_path / "e.pt"))
    assert torch.equal(back.coordinates, emb.coordinates) and back.params == emb.params


def test_tsne_neighbour_search_paths(blobs):
    x, y = blobs
    fast = {"perplexity": 10, "pca_dims": 20, "n_iter": 100, "early_exaggeration_iter": 50}
    exact = TSNE(seed=0, neighbors="exact", **fast)
    annoy = TSNE(seed=0, neighbors="annoy", **fast)
    for model in (exact, annoy):
        emb = model.fit(x[:300])
        assert emb.params["neighbors"] == model.neighbors
        assert knn_accuracy(emb.coordinates, y[:300], k=5) >= 0.95
        assert model.transform(x[300:310]).shape == (10, 2)
    # the exact index hands openTSNE the true 30 nearest neighbours (in PCA space)
    from interpret.embeddings.tsne import _torch_knn_index

    z = exact._pca.coordinates.numpy()
    idx, dist = _torch_knn_index(z, 30).build()
    ref = torch.cdist(torch.from_numpy(z).double(), torch.from_numpy(z).double())
    ref.fill_diagonal_(float("inf"))
    want = torch.sort(ref, 1).values[:, :30]
    torch.testing.assert_close(torch.from_numpy(dist), want, rtol=1e-6, atol=1e-6)
    assert not (idx == np.arange(300)[:, None]).any()  # a point is not its own neighbour


@pytest.mark.slow
def test_tsne_of_digits():
    digits = load_digits()
    emb = tsne(torch.from_numpy(digits.data).float(), perplexity=30, seed=0)
    assert knn_accuracy(emb.coordinates, digits.target, k=5) >= 0.95


def test_bad_parameters(blobs):
    x, _ = blobs
    with pytest.raises(ValueError, match="perplexity=30 is too large for 50 points"):
        tsne(x[:50], perplexity=30)
    with pytest.raises(ValueError, match="at least 4 points"):
        tsne(x[:3], perplexity=0.5)
    with pytest.raises(ValueError, match="backend"):
        TSNE(backend="cuda")
    with pytest.raises(ValueError, match="neighbors"):
        TSNE(neighbors="hnsw")
    with pytest.raises(ValueError, match="gradient"):
        TSNE(gradient="exact")
    with pytest.raises(ValueError, match="fft_interval"):
        TSNE(fft_interval=0)
    with pytest.raises(ValueError, match="init"):
        UMAP(init="tsvd")
    with pytest.raises(ValueError, match="fit"):
        TSNE().transform(x[:2])
    with pytest.raises(ValueError, match="n_neighbors=15 needs more points"):
        umap(x[:10], n_neighbors=15)
    with pytest.raises(ValueError, match="n_neighbors"):
        UMAP(n_neighbors=1)
    with pytest.raises(ValueError, match="NaN"):
        tsne(torch.full((20, 3), float("nan")), perplexity=2)


@pytest.fixture(scope="session")
def umap_warm() -> float:
    """One JIT warm-up of umap-learn for the whole session (about 45 s cold)."""
    return warm_up_umap()


@pytest.mark.slow
def test_umap_keeps_clusters_and_transforms(blobs, umap_warm):
    x, y = blobs
    model = UMAP(n_neighbors=15, seed=0)
    emb = model.fit(x[:400])
    assert emb.method == "umap" and emb.note == ""  # warmed up: the time is UMAP's own
    assert knn_accuracy(emb.coordinates, y[:400], k=5) >= 0.98
    assert knn_preservation(x[:400], emb.coordinates, k=10) >= 0.5
    placed = model.transform(x[400:500])
    guess = y[:400][torch.cdist(placed, emb.coordinates).argmin(1)]
    assert float((guess == y[400:500]).float().mean()) >= 0.95
    # reproducible with a seed (PCA init: umap-learn's spectral layout of a disconnected
    # graph, as these clusters give, is not)
    first = UMAP(n_neighbors=15, seed=0, init="pca", n_epochs=100).fit(x[:200])
    again = UMAP(n_neighbors=15, seed=0, init="pca", n_epochs=100).fit(x[:200])
    assert torch.equal(again.coordinates, first.coordinates)
