"""scikit-learn as referee for the embeddings package: PCA, exact neighbours, k-NN
accuracy, and the t-SNE fallback."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, make_blobs
from sklearn.decomposition import PCA as SkPCA
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from interpret.embeddings import TSNE, knn_accuracy, knn_preservation, nearest, pca


@pytest.mark.parametrize("shape", [(300, 20), (40, 90)])
@pytest.mark.parametrize("whiten", [False, True])
def test_pca_equals_sklearn(shape, whiten):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape) @ rng.normal(size=(shape[1], shape[1])) + 2.0
    ours = pca(torch.from_numpy(x), 5, whiten=whiten)
    ref = SkPCA(5, whiten=whiten, svd_solver="full").fit(x)
    np.testing.assert_allclose(ours.components.numpy(), ref.components_, atol=1e-9)
    np.testing.assert_allclose(ours.explained_variance.numpy(), ref.explained_variance_, rtol=1e-9)
    np.testing.assert_allclose(
        ours.explained_variance_ratio.numpy(), ref.explained_variance_ratio_, rtol=1e-9
    )
    np.testing.assert_allclose(ours.singular_values.numpy(), ref.singular_values_, rtol=1e-9)
    np.testing.assert_allclose(ours.mean.numpy(), ref.mean_, atol=1e-12)
    new = rng.normal(size=(7, shape[1]))
    np.testing.assert_allclose(
        ours.transform(torch.from_numpy(new)).numpy(), ref.transform(new), rtol=1e-5, atol=1e-5
    )


def test_pca_of_digits_equals_sklearn_default_solver():
    x = load_digits().data.astype(np.float64)
    ours = pca(torch.from_numpy(x), 10)
    ref = SkPCA(10).fit(x)
    np.testing.assert_allclose(ours.components.numpy(), ref.components_, atol=1e-8)
    np.testing.assert_allclose(ours.coordinates.numpy(), ref.transform(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_exact_neighbours_equal_sklearn(metric):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 16))
    q = rng.normal(size=(9, 16))
    ours = nearest(torch.from_numpy(x), torch.from_numpy(q), k=20, metric=metric)
    ref_d, ref_i = (
        NearestNeighbors(n_neighbors=20, metric=metric, algorithm="brute").fit(x).kneighbors(q)
    )
    np.testing.assert_array_equal(ours.indices.numpy(), ref_i)
    np.testing.assert_allclose(ours.distances.numpy(), ref_d, rtol=1e-7, atol=1e-9)


def test_knn_accuracy_with_sklearn_neighbours():
    x, y = make_blobs(400, 2, centers=4, cluster_std=2.5, random_state=0)
    ours = knn_accuracy(torch.from_numpy(x), y, k=5, queries=None)
    _, idx = NearestNeighbors(n_neighbors=6).fit(x).kneighbors(x)
    right = 0
    for i, row in enumerate(idx):
        votes = [int(y[j]) for j in row if j != i][:5]  # leave one out, nearest first
        counts = [votes.count(v) for v in votes]
        right += votes[counts.index(max(counts))] == y[i]  # ties: the nearer neighbour
    assert ours == pytest.approx(right / len(x), abs=1e-12)
    ref = KNeighborsClassifier(5).fit(x, y)
    assert ref.score(x, y) >= ours - 0.05  # sklearn's (not leave-one-out) is an upper bound


def test_sklearn_tsne_backend_preserves_clusters():
    x, y = make_blobs(300, 30, centers=4, cluster_std=1.0, random_state=1)
    model = TSNE(perplexity=20, backend="sklearn", seed=0, n_iter=300)
    emb = model.fit(torch.from_numpy(x).float())
    assert emb.method == "tsne-sklearn"
    assert knn_accuracy(emb.coordinates, y, k=5) >= 0.98
    assert knn_preservation(torch.from_numpy(x), emb.coordinates, k=10) >= 0.3
    with pytest.raises(ValueError, match="no transform"):
        model.transform(torch.zeros(2, 30))
