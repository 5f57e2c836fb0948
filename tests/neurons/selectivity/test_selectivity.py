"""Selectivity: every statistic against a direct computation on all activations in memory,
merge-exactness across shards, planted units, labels by the documented rule."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from interpret.core import Batch, iterate_batches, run_and_capture, scan
from interpret.neurons import (
    LabelRule,
    Selectivity,
    SelectivityResult,
    calibrate_edges,
    edges_from_values,
    neuron_values,
)
from interpret.testing import chain_cnn

K = 4


def make_data(n: int = 96, seed: int = 0) -> TensorDataset:
    """Random images with a class-dependent offset, so some neurons are selective."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % K
    offsets = torch.randn(K, 3, 1, 1, generator=g) * 1.5
    images = torch.randn(n, 3, 12, 12, generator=g) + offsets[labels]
    return TensorDataset(images, labels)


def all_values(model: nn.Module, data: TensorDataset, site: str, reduction=None) -> torch.Tensor:
    _, acts = run_and_capture(model, data.tensors[0], site)
    return neuron_values(acts[site], reduction).double()


# -- literal re-implementations (slow, from the definitions) ------------------------------


def literal_hist(values: list[float], edges: list[float]) -> list[int]:
    counts = [0] * (len(edges) + 1)
    for v in values:
        if v < edges[0]:
            counts[0] += 1
        elif v >= edges[-1]:
            counts[-1] += 1
        else:
            j = next(j for j in range(1, len(edges)) if edges[j - 1] <= v < edges[j])
            counts[j] += 1
    return counts


def literal_balanced(cls: torch.Tensor, rest: torch.Tensor, t: float, direction: int) -> float:
    pred_c = cls >= t if direction > 0 else cls < t
    pred_r = rest >= t if direction > 0 else rest < t
    return 0.5 * (pred_c.double().mean().item() + (~pred_r).double().mean().item())


def literal_label(cls: torch.Tensor, rest: torch.Tensor, edges: list[float], p: float, q: float):
    n_r = len(rest)
    t_hi = next((e for e in edges if (rest < e).sum().item() >= p * n_r - 1e-9), float("inf"))
    t_lo = max(
        (e for e in edges if (rest < e).sum().item() <= (1 - p) * n_r + 1e-9), default=-float("inf")
    )
    above = (cls >= t_hi).double().mean().item()
    below = (cls < t_lo).double().mean().item()
    lab = 1 if above >= q - 1e-12 else (-1 if below >= q - 1e-12 else 0)
    return lab, t_hi, t_lo, above, below


# -- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("site", "reduction"), [("features.1", None), ("features.4", "max"), ("classifier.2", None)]
)
def test_every_statistic_matches_direct_computation(site: str, reduction) -> None:
    model = chain_cnn(channels=(3, 6, 8), num_classes=5, seed=1)
    data = make_data()
    rule = LabelRule(percentile=0.7, fraction=0.6)
    sel = Selectivity(site, reduction=reduction, bins=12, rule=rule, active_threshold=0.05)
    (res,) = scan(model, data, [sel], batch_size=32, progress=False)
    x = all_values(model, data, site, reduction)
    labels = data.tensors[1]
    n, d = x.shape
    assert (res.num_images, res.num_neurons) == (n, d)
    # adaptive edges: a power-of-two grid, the narrowest holding every value in 12 cells
    assert res.edges_source == "adaptive"
    width = res.edges[:, 1] - res.edges[:, 0]
    k = torch.log2(width)
    assert torch.equal(k, k.round()) and torch.equal(
        res.edges[:, 1:] - res.edges[:, :-1], width[:, None].expand(-1, 12)
    )
    assert bool((res.edges[:, 0] <= x.amin(0)).all() and (x.amax(0) < res.edges[:, -1]).all())
    finer = torch.floor(x.amax(0) / (width / 2)) - torch.floor(x.amin(0) / (width / 2))
    assert bool((finer > 11).all())  # half the width would not fit
    assert int(res.hist[:, 0].sum() + res.hist[:, -1].sum()) == 0  # nothing outside
    # overall statistics
    torch.testing.assert_close(res.mean, x.mean(0))
    torch.testing.assert_close(res.std, x.std(0, unbiased=False))
    torch.testing.assert_close(res.min, x.amin(0))
    torch.testing.assert_close(res.max, x.amax(0))
    active = x > 0.05
    assert torch.equal(res.sparsity.images_per_neuron, active.sum(0))
    assert torch.equal(
        res.sparsity.neurons_per_image, torch.bincount(active.sum(1), minlength=d + 1)
    )
    cs = res.per_class
    assert cs is not None and cs.names == tuple(str(k) for k in range(K))
    seen_labels = 0
    for k in range(K):
        c, r = x[labels == k], x[labels != k]
        assert int(cs.count[k]) == len(c) and int(cs.rest_count[k]) == len(r)
        torch.testing.assert_close(cs.mean[k], c.mean(0))
        torch.testing.assert_close(cs.std[k], c.std(0, unbiased=False))
        torch.testing.assert_close(cs.rest_mean[k], r.mean(0))
        torch.testing.assert_close(cs.rest_std[k], r.std(0, unbiased=False))
        torch.testing.assert_close(cs.min[k], c.amin(0))
        torch.testing.assert_close(cs.max[k], c.amax(0))
        torch.testing.assert_close(cs.active_fraction[k], (c > 0.05).double().mean(0))
        torch.testing.assert_close(cs.rest_active_fraction[k], (r > 0.05).double().mean(0))
        for j in range(d):
            edges = res.edges[j].tolist()
            assert cs.hist[k, j].tolist() == literal_hist(c[:, j].tolist(), edges)
            assert cs.rest_hist[k, j].tolist() == literal_hist(r[:, j].tolist(), edges)
            # best threshold among the edges, both directions
            best = max(literal_balanced(c[:, j], r[:, j], t, s) for t in edges for s in (1, -1))
            got = cs.classifier.balanced_accuracy[k, j].item()
            assert got == pytest.approx(best, abs=1e-12)
            t, s = cs.classifier.threshold[k, j].item(), int(cs.classifier.direction[k, j])
            assert t in edges and literal_balanced(c[:, j], r[:, j], t, s) == pytest.approx(got)
            pc, pr = (c[:, j] >= t, r[:, j] >= t) if s > 0 else (c[:, j] < t, r[:, j] < t)
            acc = (pc.sum() + (~pr).sum()).item() / n
            assert cs.classifier.accuracy[k, j].item() == pytest.approx(acc)
            lab, t_hi, t_lo, above, below = literal_label(c[:, j], r[:, j], edges, 0.7, 0.6)
            assert int(cs.labels.sign[k, j]) == lab
            assert cs.labels.high_threshold[k, j].item() == t_hi
            assert cs.labels.low_threshold[k, j].item() == t_lo
            assert cs.labels.fraction_above[k, j].item() == pytest.approx(above)
            assert cs.labels.fraction_below[k, j].item() == pytest.approx(below)
            seen_labels += lab != 0
    assert seen_labels > 0  # the comparison covered excitatory / inhibitory cases
    for j in range(d):
        assert res.hist[j].tolist() == literal_hist(x[:, j].tolist(), res.edges[j].tolist())


def _sharded(model, data, make, shards, batch_size=16):
    """Run each shard through its own analyzer (global indices), pickle, merge."""
    parts = []
    for shard in shards:
        analyzer = make()
        for index, inputs, labels, _ in iterate_batches(data, batch_size, indices=shard):
            out, acts = run_and_capture(model, inputs, analyzer.sites)
            analyzer.update(acts, Batch(inputs, index, labels, out))
        parts.append(pickle.loads(pickle.dumps(analyzer)))
    first = parts[0]
    for other in parts[1:]:
        first.merge(other)
    return first.result()


@pytest.mark.parametrize("edges", [None, (-0.5, 3.0)])
def test_merge_is_exact_across_shards(edges) -> None:
    model = chain_cnn(channels=(3, 6, 8), num_classes=5, seed=2)
    data = make_data(90)
    attributes = torch.stack([data.tensors[1] == 1, torch.arange(90) % 3 == 0], 1).long()

    def make():
        return Selectivity("features.1", edges=edges, bins=20, attributes=attributes, sample=25)

    (whole,) = scan(model, data, [make()], batch_size=32, progress=False)
    # uneven, interleaved shards; an empty shard too
    shards = [list(range(0, 90, 3)), list(range(1, 90, 3)) + list(range(2, 90, 3)), []]
    merged = _sharded(model, data, make, shards)
    for name in ("edges", "hist", "min", "max"):
        assert torch.equal(getattr(merged, name), getattr(whole, name))
    for group in ("per_class", "per_attribute"):
        a, b = getattr(merged, group), getattr(whole, group)
        for name in ("count", "rest_count", "hist", "rest_hist", "min", "max"):
            assert torch.equal(getattr(a, name), getattr(b, name)), name
        for name in ("mean", "std", "rest_mean", "rest_std", "active_fraction"):
            torch.testing.assert_close(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-12)
        assert torch.equal(a.labels.sign, b.labels.sign)
        assert torch.equal(a.classifier.balanced_accuracy, b.classifier.balanced_accuracy)
    assert torch.equal(merged.sparsity.neurons_per_image, whole.sparsity.neurons_per_image)
    assert torch.equal(merged.sample.image_index, whole.sample.image_index)
    assert torch.equal(merged.sample.vectors, whole.sample.vectors)
    assert merged.num_images == whole.num_images == 90


def test_adaptive_edges_do_not_depend_on_image_order() -> None:
    model = chain_cnn(channels=(3, 6, 8), seed=3)
    data = make_data(96)
    order = torch.argsort(data.tensors[1], stable=True)  # class-sorted, like an ImageFolder
    sorted_data = TensorDataset(data.tensors[0][order], data.tensors[1][order])
    a, b = (
        scan(model, ds, [Selectivity("features.1", bins=16)], batch_size=8, progress=False)[0]
        for ds in (data, sorted_data)
    )
    assert torch.equal(a.edges, b.edges)
    assert torch.equal(a.hist, b.hist) and torch.equal(a.per_class.hist, b.per_class.hist)
    assert torch.equal(a.per_class.labels.sign, b.per_class.labels.sign)


def test_given_edges_count_outside_values_and_edges_from_values() -> None:
    model = chain_cnn(channels=(3, 6, 8), seed=3)
    data = make_data(64)
    x = all_values(model, data, "features.1")
    (res,) = scan(
        model, data, [Selectivity("features.1", edges=(0.5, 1.0), bins=5)], progress=False
    )
    assert res.edges_source == "given" and torch.equal(
        res.edges[0], torch.linspace(0.5, 1.0, 6, dtype=torch.float64)
    )
    for j in range(6):
        assert res.hist[j].tolist() == literal_hist(x[:, j].tolist(), res.edges[j].tolist())
    outside = ((x < 0.5) | (x >= 1.0)).double().mean(0)
    torch.testing.assert_close(res.outside_fraction, outside)
    edges = edges_from_values(torch.tensor([[0.0, -1.0], [2.0, 1.0]]), bins=4, margin=0.25)
    assert edges[0].tolist() == [0.0, 0.625, 1.25, 1.875, 2.5]  # ReLU-like: starts at 0
    assert edges[1].tolist() == [-1.5, -0.75, 0.0, 0.75, 1.5]


def test_merge_refuses_different_edges() -> None:
    model = chain_cnn(channels=(3, 6, 8), seed=2)
    data = make_data(64)
    a = Selectivity("features.1", edges=(0, 1))
    b = Selectivity("features.1", edges=(0, 2))
    for sel, shard in ((a, range(0, 32)), (b, range(32, 64))):
        for index, inputs, labels, _ in iterate_batches(data, 32, indices=list(shard)):
            out, acts = run_and_capture(model, inputs, "features.1")
            sel.update(acts, Batch(inputs, index, labels, out))
    with pytest.raises(ValueError, match="edges"):
        a.merge(b)
    with pytest.raises(ValueError, match="same parameters"):
        a.merge(Selectivity("features.4"))
    with pytest.raises(ValueError, match="same parameters"):
        a.merge(Selectivity("features.1"))  # adaptive vs given edges


class Planted(nn.Module):
    """Input channel k carries class k (one-hot plus noise). Unit 0 fires only for class
    ``k``, unit 1 is silent only for class ``k``, units 2-4 are random."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(K, 5, 1)
        g = torch.Generator().manual_seed(3)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(5, K, 1, 1, generator=g) * 0.3)
            self.conv.bias.copy_(torch.zeros(5))
            self.conv.weight[:2] = 0
            self.conv.weight[0, k] = 1.0
            self.conv.bias[0] = -0.5
            self.conv.weight[1, k] = -1.0
            self.conv.bias[1] = 0.5
        self.relu = nn.ReLU()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(5 * 4 * 4, 3))

    def forward(self, x):
        return self.head(self.relu(self.conv(x)))


def planted_data(n: int = 80) -> TensorDataset:
    g = torch.Generator().manual_seed(4)
    labels = torch.arange(n) % K
    x = nn.functional.one_hot(labels, K).float()[:, :, None, None].expand(n, K, 4, 4)
    return TensorDataset(x + 0.1 * torch.randn(n, K, 4, 4, generator=g), labels)


@pytest.mark.parametrize("k", [0, 2])
def test_planted_units_are_excitatory_and_inhibitory(k: int) -> None:
    data = planted_data()
    attrs = {"is k": (data.tensors[1] == k).long()}
    (res,) = scan(Planted(k), data, [Selectivity("relu", attributes=attrs)], progress=False)
    for group, row in ((res.per_class, k), (res.per_attribute, 0)):
        assert int(group.labels.sign[row, 0]) == 1
        assert int(group.labels.sign[row, 1]) == -1
        assert group.classifier.balanced_accuracy[row, 0].item() == 1.0
        assert group.classifier.accuracy[row, 0].item() == 1.0
        assert int(group.classifier.direction[row, 0]) == 1
        assert group.classifier.balanced_accuracy[row, 1].item() == 1.0
        assert int(group.classifier.direction[row, 1]) == -1
        neurons, acc = group.best(row, 2)
        assert sorted(neurons.tolist()) == [0, 1] and acc.tolist() == [1.0, 1.0]
    # for the other classes unit 0 is silent: inhibitory (the rest includes class k)
    others = [j for j in range(K) if j != k]
    assert (res.per_class.labels.sign[others, 0] != 1).all()


def test_labels_from_tensor_equal_dataset_labels_and_negative_are_ignored() -> None:
    model = chain_cnn(channels=(3, 6, 8), seed=5)
    data = make_data(64)
    given = data.tensors[1].clone()
    a, b = scan(
        model,
        data,
        [
            Selectivity("features.1", edges=(0, 2)),
            Selectivity("features.1", edges=(0, 2), labels=given),
        ],
        progress=False,
    )
    assert torch.equal(a.per_class.hist, b.per_class.hist)
    given[:10] = -1
    (c,) = scan(
        model, data, [Selectivity("features.1", edges=(0, 2), labels=given)], progress=False
    )
    assert int(c.per_class.count.sum()) == 54 and c.num_images == 64
    assert torch.equal(c.hist, a.hist)  # unlabelled images still count overall


def test_channel_last_and_flatten() -> None:
    model = chain_cnn(channels=(3, 6, 8), seed=5)
    data = make_data(32)
    x = all_values(model, data, "features.1", "flatten")

    class Nhwc(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = model
            self.perm = nn.Identity()

        def forward(self, z):
            return self.perm(self.body.features[:2](z).permute(0, 2, 3, 1))

    a, b = scan(
        Nhwc(),
        data,
        [
            Selectivity("perm", channel_dim=-1, edges=(0, 3)),
            Selectivity("body.features.1", edges=(0, 3)),
        ],
        progress=False,
    )
    torch.testing.assert_close(a.mean, b.mean)
    assert torch.equal(a.hist, b.hist)
    (f,) = scan(
        model, data, [Selectivity("features.1", reduction="flatten", edges=(0, 3))], progress=False
    )
    assert f.num_neurons == 6 * 12 * 12
    torch.testing.assert_close(f.mean, x.mean(0))


def test_with_rule_equals_a_fresh_scan_and_results_round_trip(tmp_path) -> None:
    model = chain_cnn(channels=(3, 6, 8), seed=6)
    data = make_data(64)
    loose = LabelRule(0.6, 0.55)
    a, b = scan(
        model,
        data,
        [
            Selectivity("features.1", edges=(0, 2)),
            Selectivity("features.1", edges=(0, 2), rule=loose),
        ],
        progress=False,
    )
    relabelled = a.with_rule(loose)
    assert torch.equal(relabelled.per_class.labels.sign, b.per_class.labels.sign)
    assert relabelled.per_class.rule == loose
    path = a.save(tmp_path / "sel.pt")
    back = SelectivityResult.load(path)
    assert torch.equal(back.per_class.hist, a.per_class.hist)
    assert back.per_class.rule == a.per_class.rule


def test_calibrate_edges_uses_the_first_images() -> None:
    model = chain_cnn(channels=(3, 6, 8), seed=7)
    data = make_data(64)
    edges = calibrate_edges(model, data, "features.1", bins=8, num_images=40, batch_size=16)
    x = all_values(model, data, "features.1")
    torch.testing.assert_close(edges, edges_from_values(x[:40], 8), rtol=0, atol=0)
    assert edges.shape == (6, 9) and bool((edges[:, 0] >= 0).all())  # ReLU: starts at 0
    (res,) = scan(model, data, [Selectivity("features.1", edges=edges)], progress=False)
    assert res.edges_source == "given" and torch.equal(res.edges, edges)


def test_label_rule_validation_and_group_lookup() -> None:
    with pytest.raises(ValueError, match="percentile"):
        LabelRule(percentile=0.4)
    with pytest.raises(ValueError, match="fraction"):
        LabelRule(fraction=1.5)
    (res,) = scan(Planted(1), planted_data(), [Selectivity("relu")], progress=False)
    assert res.per_class.group_index("1") == 1
    with pytest.raises(ValueError, match="No class named"):
        res.per_class.group_index("cat")
    with pytest.raises(ValueError, match="no attribute statistics"):
        res.group("attribute")
    counts = res.per_class.label_counts()
    assert counts.sum(1).tolist() == [5] * K and counts[1, 0] >= 1 and counts[1, 2] >= 1
