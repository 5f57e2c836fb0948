"""FeatureCollector: pooled features equal a direct forward; exact merge and subsampling."""

from __future__ import annotations

import pickle

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, TensorDataset

from interpret import scan
from interpret.core import Batch, hook_count, run_and_capture, uniform_keys
from interpret.probes import FeatureCollector, ProbeFeatures, layer_probes, pool_features
from interpret.testing import chain_cnn

SITES = ["features.1", "features.4", "classifier.1"]


def _data(n=23, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randn(n, 3, 16, 18, generator=gen), torch.arange(n) % 3)


def _direct(net, x, depth):
    return net.features[: depth + 1](x)


@pytest.mark.parametrize("pool", ["avg", "max", "flatten", 2])
def test_scan_features_equal_a_direct_forward(pool):
    net, data = chain_cnn(), _data()
    (res,) = scan(net, data, [FeatureCollector(SITES, pool=pool)], batch_size=5, progress=False)
    x, y = data.tensors
    for site, depth in (("features.1", 1), ("features.4", 4)):
        maps = _direct(net, x, depth)
        if pool == "avg":
            expect = maps.mean(dim=(2, 3))
        elif pool == "max":
            expect = maps.amax(dim=(2, 3))
        elif pool == "flatten":
            expect = maps.reshape(len(x), -1)
        else:
            expect = F.adaptive_avg_pool2d(maps, 2).reshape(len(x), -1)
        torch.testing.assert_close(res.features[site], expect, rtol=1e-5, atol=1e-6)
    # (N, D) sites are kept as they are whatever the pooling
    flat = net.classifier[:2](net.features(x))
    torch.testing.assert_close(res.features["classifier.1"], flat, rtol=1e-5, atol=1e-6)
    assert torch.equal(res.labels, y) and torch.equal(res.image_index, torch.arange(len(x)))
    assert res.images_seen == len(x) and res.sites == tuple(SITES)
    assert not res.features["features.1"].is_inference()


def _feed(collector, net, x, y, start, batch=4):
    for lo in range(0, len(x), batch):
        out, acts = run_and_capture(net, x[lo : lo + batch], collector.sites)
        index = torch.arange(start + lo, start + min(lo + batch, len(x)))
        collector.update(acts, Batch(x[lo : lo + batch], index, y[lo : lo + batch], out))


@pytest.mark.parametrize("max_images", [None, 7])
def test_merging_shards_equals_one_pass(max_images):
    net, data = chain_cnn(), _data(n=31)
    x, y = data.tensors
    whole = FeatureCollector(SITES, max_images=max_images, seed=3)
    _feed(whole, net, x, y, 0)
    parts = [FeatureCollector(SITES, max_images=max_images, seed=3) for _ in range(3)]
    bounds = [0, 5, 19, 31]
    for part, lo, hi in zip(parts, bounds[:-1], bounds[1:]):
        _feed(part, net, x[lo:hi], y[lo:hi], lo, batch=3)
    # merge out of order, through pickling (as a distributed gather would)
    merged = pickle.loads(pickle.dumps(parts[2]))
    merged.merge(parts[0])
    merged.merge(pickle.loads(pickle.dumps(parts[1])))
    a, b = whole.result(), merged.result()
    assert torch.equal(a.image_index, b.image_index) and torch.equal(a.labels, b.labels)
    for site in SITES:
        assert torch.equal(a.features[site], b.features[site])
    assert a.images_seen == b.images_seen == 31


def test_max_images_keeps_the_smallest_uniform_keys():
    net, data = chain_cnn(), _data(n=40)
    collector = FeatureCollector(["features.1"], max_images=9, seed=5)
    (res,) = scan(net, data, [collector], batch_size=4, progress=False)
    keys = uniform_keys(torch.arange(40), 5)
    expect = torch.sort(torch.argsort(keys)[:9]).values
    assert torch.equal(res.image_index, expect)
    assert torch.equal(res.labels, data.tensors[1][expect])
    full = pool_features(_direct(net, data.tensors[0], 1), "avg")
    torch.testing.assert_close(res.features["features.1"], full[expect])
    assert res.images_seen == 40 and res.max_images == 9
    (other,) = scan(net, data, [FeatureCollector(["features.1"], max_images=9, seed=6)],
                    progress=False)  # fmt: skip
    assert not torch.equal(other.image_index, res.image_index)


def test_result_round_trips(tmp_path):
    (res,) = scan(chain_cnn(), _data(), [FeatureCollector(SITES, pool=2)], progress=False)
    loaded = ProbeFeatures.load(res.save(tmp_path / "f.pt"))
    assert loaded.pool == 2 and torch.equal(
        loaded.features["features.4"], res.features["features.4"]
    )


class _Unlabelled(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return torch.zeros(3, 16, 16)


class _Exploding(Dataset):
    def __init__(self):
        self.inner = _data(n=12)

    def __len__(self):
        return 12

    def __getitem__(self, i):
        if i == 9:
            raise RuntimeError("broken image")
        return self.inner[i]


def test_hooks_removed_and_state_restored_even_on_error():
    net = chain_cnn()
    net.train()
    net.features[0].bias.requires_grad_(False)
    before = hook_count(net)
    layer_probes(net, _data(n=30), ["features.1", "classifier.1"], folds=3)
    assert hook_count(net) == before and net.training
    with pytest.raises(RuntimeError, match="broken image"):
        layer_probes(net, _Exploding(), ["features.1"], folds=2, batch_size=4)
    assert hook_count(net) == before
    assert all(m.training for m in net.modules())
    assert not net.features[0].bias.requires_grad and net.features[0].weight.requires_grad


def test_bad_input():
    with pytest.raises(ValueError, match="labels"):
        scan(chain_cnn(), _Unlabelled(), [FeatureCollector("features.1")], progress=False)
    with pytest.raises(ValueError, match="pool must be"):
        FeatureCollector("features.1", pool="mean")
    with pytest.raises(ValueError, match="pool must be"):
        FeatureCollector("features.1", pool=0)
    with pytest.raises(ValueError, match="max_images"):
        FeatureCollector("features.1", max_images=0)
    with pytest.raises(ValueError, match="twice"):
        FeatureCollector(["features.1", "features.1"])
    with pytest.raises(ValueError, match="non-empty"):
        FeatureCollector([])
    with pytest.raises(ValueError, match="k x k"):
        pool_features(torch.zeros(2, 3, 4), 2)
    with pytest.raises(ValueError, match="Unknown site"):
        scan(chain_cnn(), _data(), [FeatureCollector("features.77")], progress=False)
    a, b = FeatureCollector("features.1"), FeatureCollector("features.1", pool="max")
    with pytest.raises(ValueError, match="different parameters"):
        a.merge(b)
