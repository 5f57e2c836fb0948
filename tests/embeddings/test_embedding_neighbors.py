"""Nearest neighbours (exact and approximate) and neighbourhood-preservation measures."""

from __future__ import annotations

import pytest
import torch

from interpret.embeddings import NeighborIndex, Neighbors, knn_accuracy, knn_preservation, nearest
from interpret.embeddings.search import IVFIndex, exact_knn


def _points(n=300, d=8, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_exact_search_equals_a_literal_double_loop():
    x, q = _points(), _points(5, seed=1)
    res = nearest(x, q, k=7)
    for qi in range(5):
        dist = [float(((q[qi] - x[j]) ** 2).sum().sqrt()) for j in range(len(x))]
        want = sorted(range(len(x)), key=lambda j: (dist[j], j))[:7]
        assert res.indices[qi].tolist() == want
        assert res.distances[qi].tolist() == pytest.approx([dist[j] for j in want], rel=1e-9)


def test_rows_as_queries_include_themselves_first_unless_excluded():
    x = _points()
    res = nearest(x, [3, 10], k=20)
    assert res.indices[:, 0].tolist() == [3, 10] and res.distances[:, 0].tolist() == [0, 0]
    assert bool((res.distances[:, 1:] >= res.distances[:, :-1]).all())  # nearest first
    ex = nearest(x, [3, 10], k=20, exclude_self=True)
    assert torch.equal(ex.indices[:, :19], res.indices[:, 1:])
    assert ex.query_rows.tolist() == [3, 10] and ex.exclude_self


def test_cosine_distance_is_one_minus_cosine():
    x, q = _points(), _points(3, seed=2)
    res = nearest(x, q, k=5, metric="cosine")
    cos = torch.nn.functional.cosine_similarity(q[:, None], x[None], dim=2)
    want = torch.sort(1 - cos, dim=1).values[:, :5]
    torch.testing.assert_close(res.distances, want)
    scaled = nearest(x * 7.0, q, k=5, metric="cosine")  # scale-free
    assert torch.equal(scaled.indices, res.indices)


def test_chunked_search_over_many_points_is_exact():
    x = _points(5000, 4)
    res = NeighborIndex(x).query(torch.arange(0, 5000, 500), k=3, exclude_self=True)
    d, i = exact_knn(x, x[::500], 3, torch.arange(0, 5000, 500), budget=1)  # 1024-row chunks
    assert torch.equal(i, res.indices) and torch.equal(d, res.distances)


def test_result_saves(tmp_path):
    res = nearest(_points(), [0], k=4)
    back = Neighbors.load(res.save(tmp_path / "n.pt"))
    assert torch.equal(back.indices, res.indices) and back.metric == "euclidean"


def test_preservation_and_accuracy_measures():
    x = _points(400, 5)
    assert knn_preservation(x, x, k=10) == 1.0
    assert knn_preservation(x, x * 3 + 1, k=10) == 1.0  # similarity transforms keep ranks
    shuffled = x[torch.randperm(400, generator=torch.Generator().manual_seed(0))]
    assert knn_preservation(x, shuffled, k=10) < 0.1  # about k / N by chance
    labels = (x[:, 0] > 0).long()
    assert knn_accuracy(x[:, :1], labels, k=5, queries=None) >= 0.97
    # literal leave-one-out vote with ties to the nearer neighbour, k = 2:
    # 0 -> {1: y1, 2: y1} = 1 (wrong); 1 -> {0: y0, 2: y1} tie -> 0 (wrong);
    # 2 -> {3: y0, 1: y1} tie -> 0 (wrong); 3 -> {2: y1, 1: y1} = 1 (wrong);
    # 4 -> {3: y0, 2: y1} tie -> 0 (right)
    z = torch.tensor([[0.0], [1.0], [3.0], [4.5], [10.0]])
    y = torch.tensor([0, 1, 1, 0, 0])
    assert knn_accuracy(z, y, k=2, queries=None) == pytest.approx(1 / 5)
    assert knn_accuracy(z, 1 - y, k=2, queries=None) == pytest.approx(1 / 5)  # symmetric


def test_bad_input():
    x = _points(10)
    with pytest.raises(ValueError, match="only 10"):
        nearest(x, x[:1], k=11)
    with pytest.raises(ValueError, match="only 9 other point"):
        nearest(x, [0], k=10, exclude_self=True)
    with pytest.raises(ValueError, match="metric"):
        NeighborIndex(x, "manhattan")
    with pytest.raises(ValueError, match="dims"):
        nearest(x, torch.zeros(1, 3), k=1)
    with pytest.raises(ValueError, match="rows"):
        nearest(x, [10], k=1)
    with pytest.raises(ValueError, match="exclude_self"):
        nearest(x, torch.zeros(1, 8), k=1, exclude_self=True)
    with pytest.raises(ValueError, match="below the number"):
        knn_preservation(x, x, k=10)


def test_ivf_index_recalls_the_exact_neighbours():
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(20, 16, generator=gen) * 4
    x = centres[torch.arange(4000) % 20] + torch.randn(4000, 16, generator=gen)
    queries = list(range(0, 4000, 40))
    exact = NeighborIndex(x, method="exact").query(queries, k=10)
    approx = NeighborIndex(x, method="ivf", probes=8).query(queries, k=10)
    assert approx.method == "ivf"
    recall = (approx.indices[:, :, None] == exact.indices[:, None, :]).any(2).float().mean()
    assert float(recall) >= 0.95
    # where it found the true neighbours, it reports the same exact distances
    same = approx.indices == exact.indices
    assert torch.equal(approx.distances[same], exact.distances[same])
    ex = NeighborIndex(x, method="ivf").query([5, 7], k=5, exclude_self=True)
    assert 5 not in ex.indices[0].tolist() and 7 not in ex.indices[1].tolist()


def test_ivf_with_every_cell_probed_is_exact():
    x = _points(600, 6).float()
    index = IVFIndex(x, cells=12, probes=12, seed=1)
    d, i = index.search(x[:30], 7, torch.arange(30))
    de, ie = exact_knn(x, x[:30], 7, torch.arange(30))
    assert torch.equal(i, ie) and torch.equal(d, de)
    # a query whose probed cell holds fewer than k points falls back to exact search
    tiny = IVFIndex(x, cells=300, probes=1, seed=0)
    d, i = tiny.search(x[:5], 50)
    de, ie = exact_knn(x, x[:5], 50)
    assert torch.equal(i, ie)
