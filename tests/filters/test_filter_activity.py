"""FilterActivity: per-channel activity equals a literal pass; exact merge; state."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch.utils.data import Dataset, TensorDataset

from interpret import scan
from interpret.core import Batch, hook_count, run_and_capture
from interpret.filters import FilterActivity, FilterActivityResult
from interpret.testing import chain_cnn


def _data(n=20, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randn(n, 3, 16, 18, generator=gen))


@pytest.mark.parametrize("threshold", [0.0, 0.7])
def test_matches_a_literal_computation(threshold):
    net, data = chain_cnn(), _data()
    (res,) = scan(net, data, [FilterActivity("features.0", threshold)], batch_size=6,
                  progress=False)  # fmt: skip
    maps = net.features[:1](data.tensors[0]).detach().double()  # (N, C, h, w)
    n, c, h, w = maps.shape
    for ch in range(c):
        values = maps[:, ch]
        assert float(res.max_activation[ch]) == pytest.approx(float(values.max()), rel=1e-6)
        assert float(res.mean_activation[ch]) == pytest.approx(float(values.mean()), rel=1e-5)
        active = values > threshold
        assert float(res.active_fraction[ch]) == pytest.approx(float(active.double().mean()))
        per_image = sum(bool(active[i].any()) for i in range(n)) / n
        assert float(res.image_fraction[ch]) == pytest.approx(per_image)
    assert res.images_seen == n and res.positions_per_image == h * w
    assert torch.equal(res.dead, res.max_activation <= threshold)


def test_flat_sites_and_rectifier_site():
    net, data = chain_cnn(), _data()
    (flat,) = scan(net, data, [FilterActivity("classifier.1")], progress=False)
    assert flat.positions_per_image == 1 and flat.max_activation.shape == (10,)
    (conv,) = scan(net, data, [FilterActivity("features.0")], progress=False)
    (relu,) = scan(net, data, [FilterActivity("features.1")], progress=False)
    assert torch.equal(conv.dead, relu.dead)
    torch.testing.assert_close(conv.active_fraction, relu.active_fraction)


def _feed(analyzer, net, x, start, batch=4):
    for lo in range(0, len(x), batch):
        out, acts = run_and_capture(net, x[lo : lo + batch], analyzer.sites)
        index = torch.arange(start + lo, start + min(lo + batch, len(x)))
        analyzer.update(acts, Batch(x[lo : lo + batch], index, None, out))


def test_merge_of_shards_equals_one_pass():
    net, x = chain_cnn(), _data(n=23).tensors[0]
    whole = FilterActivity("features.3", 0.1)
    _feed(whole, net, x, 0)
    a, b, empty = (FilterActivity("features.3", 0.1) for _ in range(3))
    _feed(a, net, x[:9], 0, batch=5)
    _feed(b, net, x[9:], 9, batch=3)
    merged = pickle.loads(pickle.dumps(empty))
    merged.merge(b)
    merged.merge(pickle.loads(pickle.dumps(a)))
    one, two = whole.result(), merged.result()
    assert torch.equal(one.max_activation, two.max_activation)
    assert torch.equal(one.active_fraction, two.active_fraction)
    assert torch.equal(one.image_fraction, two.image_fraction)
    torch.testing.assert_close(one.mean_activation, two.mean_activation)
    assert one.images_seen == two.images_seen == 23


def test_round_trip(tmp_path):
    (res,) = scan(chain_cnn(), _data(), [FilterActivity("features.0")], progress=False)
    loaded = FilterActivityResult.load(res.save(tmp_path / "a.pt"))
    assert torch.equal(loaded.max_activation, res.max_activation) and loaded.site == "features.0"


class _Exploding(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 7:
            raise RuntimeError("bad file")
        return torch.randn(3, 16, 16)


def test_no_hook_left_and_state_restored_on_error():
    net = chain_cnn()
    net.train()
    before = hook_count(net)
    with pytest.raises(RuntimeError, match="bad file"):
        scan(net, _Exploding(), [FilterActivity("features.0")], batch_size=4, progress=False)
    assert hook_count(net) == before and net.training


def test_bad_input():
    with pytest.raises(TypeError, match="site name"):
        FilterActivity(3)
    with pytest.raises(ValueError, match="saw no images"):
        FilterActivity("features.0").result()
    with pytest.raises(ValueError, match="different sites"):
        FilterActivity("features.0").merge(FilterActivity("features.3"))
    net = chain_cnn()
    analyzer = FilterActivity("features.0")
    _feed(analyzer, net, torch.randn(2, 3, 16, 16), 0)
    with pytest.raises(ValueError, match="changed shape"):
        _feed(analyzer, net, torch.randn(2, 3, 20, 20), 2)
    other = FilterActivity("features.0")
    _feed(other, net, torch.randn(2, 3, 20, 20), 0)
    with pytest.raises(ValueError, match="different shapes"):
        analyzer.merge(other)
