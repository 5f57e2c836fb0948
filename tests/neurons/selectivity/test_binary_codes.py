"""Binary codes vs real vectors: distances, verification and retrieval by literal loops."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.utils.data import TensorDataset

from interpret.core import run_and_capture, scan
from interpret.neurons import (
    Selectivity,
    VectorSample,
    binarize,
    compare_codes,
    neuron_values,
    pairwise_distances,
    retrieval_accuracy,
    verification_accuracy,
)
from interpret.testing import chain_cnn


def clusters(n: int = 36, d: int = 12, k: int = 3, noise: float = 0.6, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % k
    centres = torch.randn(k, d, generator=g)
    return torch.relu(centres[labels] + noise * torch.randn(n, d, generator=g)), labels


def literal_verification(dist: torch.Tensor, labels: torch.Tensor) -> float:
    lab, dl = labels.tolist(), dist.tolist()
    pairs = list(itertools.combinations(range(len(lab)), 2))
    same = [lab[i] == lab[j] for i, j in pairs]
    d = [dl[i][j] for i, j in pairs]
    n_same = sum(same)
    best = 0.0
    for t in sorted(set(d)):
        tp = sum(1 for s, v in zip(same, d) if s and v <= t)
        tn = sum(1 for s, v in zip(same, d) if not s and v > t)
        best = max(best, 0.5 * (tp / n_same + tn / (len(same) - n_same)))
    return best


def literal_retrieval(dist: torch.Tensor, labels: torch.Tensor) -> float:
    lab, dl = labels.tolist(), dist.tolist()
    total = 0.0
    for i in range(len(lab)):
        others = [(dl[i][j], j) for j in range(len(lab)) if j != i]
        nearest = min(v for v, _ in others)
        hits = [lab[j] == lab[i] for v, j in others if v == nearest]
        total += sum(hits) / len(hits)
    return total / len(lab)


def test_distances_by_hand() -> None:
    x = torch.tensor([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0], [0.0, 1.0, 0.0]])
    codes = binarize(x)
    assert codes.tolist() == [[True, False, True], [False, False, True], [False, True, False]]
    ham = pairwise_distances(codes, "hamming")
    for i, j in itertools.product(range(3), repeat=2):
        assert ham[i, j].item() == (codes[i] != codes[j]).sum().item()
    euc = pairwise_distances(x, "euclidean")
    assert euc[0, 1].item() == pytest.approx(2**0.5)
    cos = pairwise_distances(x, "cosine")
    assert cos[0, 2].item() == pytest.approx(1.0) and cos[0, 0].item() == pytest.approx(
        0.0, abs=1e-12
    )
    assert binarize(x, "median").tolist() == [
        [True, False, False],
        [False, False, True],
        [False, True, False],
    ]
    assert binarize(x, torch.tensor([0.5, 0.5, 2.5])).tolist()[1] == [False, False, True]


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "hamming"])
def test_verification_and_retrieval_match_literal_loops(metric: str) -> None:
    x, labels = clusters(n=24)
    a = binarize(x) if metric == "hamming" else x
    dist = pairwise_distances(a, metric)
    acc, thr, n_same, n_diff = verification_accuracy(dist, labels)
    assert acc == pytest.approx(literal_verification(dist, labels), abs=1e-12)
    assert (n_same, n_diff) == (3 * 28, 276 - 3 * 28)
    i, j = torch.triu_indices(24, 24, 1)
    same = labels[i] == labels[j]
    d = dist[i, j]
    at_thr = 0.5 * ((d[same] <= thr).double().mean() + (d[~same] > thr).double().mean())
    assert at_thr.item() == pytest.approx(acc)
    assert retrieval_accuracy(dist, labels) == pytest.approx(literal_retrieval(dist, labels))


def test_compare_codes_table_on_separable_clusters() -> None:
    x, labels = clusters(noise=0.2)
    table = compare_codes(x, labels)
    assert table.methods == ("real/euclidean", "real/cosine", "binary/hamming")
    for i, metric in enumerate(("euclidean", "cosine")):
        dist = pairwise_distances(x, metric)
        assert table.verification_accuracy[i].item() == pytest.approx(
            verification_accuracy(dist, labels)[0]
        )
    assert table.verification_accuracy[0].item() == 1.0
    assert table.retrieval_top1.min().item() > 0.9
    assert table.mean_active_bits == pytest.approx(binarize(x).double().mean().item())
    assert "binary/hamming" in table.summary()
    # unlabelled vectors are left out
    labels2 = labels.clone()
    labels2[:6] = -1
    assert compare_codes(x, labels2).num_vectors == 30


def test_compare_codes_errors() -> None:
    x, labels = clusters()
    with pytest.raises(ValueError, match="same-class and different-class pairs"):
        compare_codes(x, torch.arange(36))
    with pytest.raises(ValueError, match="max_vectors"):
        compare_codes(x, labels, max_vectors=10)
    with pytest.raises(ValueError, match="labels=..."):
        compare_codes(x)
    with pytest.raises(ValueError, match=r"labels must be \(36,\)"):
        compare_codes(x, labels[:5])
    with pytest.raises(TypeError, match="boolean codes"):
        pairwise_distances(x, "hamming")
    with pytest.raises(ValueError, match="metric"):
        pairwise_distances(x, "manhattan")
    with pytest.raises(ValueError, match="metrics for real vectors"):
        compare_codes(x, labels, metrics=("hamming",))
    with pytest.raises(ValueError, match="median"):
        binarize(x, "mean")


def test_the_sample_kept_in_a_scan_is_the_direct_vectors() -> None:
    g = torch.Generator().manual_seed(1)
    labels = torch.arange(100) % 4
    data = TensorDataset(
        torch.randn(100, 3, 12, 12, generator=g) + labels.view(-1, 1, 1, 1), labels
    )
    model = chain_cnn(channels=(3, 8, 8), seed=4)
    (res,) = scan(model, data, [Selectivity("features.1", sample=30, seed=5)], progress=False)
    s = res.sample
    assert isinstance(s, VectorSample) and s.vectors.shape == (30, 8) and s.seen == 100
    assert len(set(s.image_index.tolist())) == 30
    _, acts = run_and_capture(model, data.tensors[0], "features.1")
    direct = neuron_values(acts["features.1"])
    torch.testing.assert_close(s.vectors, direct[s.image_index].float())
    assert torch.equal(s.labels, labels[s.image_index])
    table = compare_codes(res)
    assert table.num_vectors == 30
    assert torch.equal(
        table.verification_accuracy,
        compare_codes(direct[s.image_index].float(), labels[s.image_index]).verification_accuracy,
    )
    (none,) = scan(model, data, [Selectivity("features.1")], progress=False)
    with pytest.raises(ValueError, match="sample="):
        compare_codes(none)
