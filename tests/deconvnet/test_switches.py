"""Pooling switches: recorded by hooks, unpooling equals the gradient of max pooling."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from interpret.core import hook_count
from interpret.deconvnet import SwitchRecord, record_switches, unpool


def _net(**pool) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.MaxPool2d(**pool)).double()


@pytest.mark.parametrize(
    "pool",
    [
        {"kernel_size": 3, "stride": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1},
        {"kernel_size": 2, "stride": 2, "ceil_mode": True},
        {"kernel_size": (3, 2), "stride": (2, 1), "dilation": (1, 2)},
    ],
)
def test_unpool_equals_max_pool_gradient(pool, generator):
    net = _net(**pool)
    x = torch.randn(2, 2, 13, 17, generator=generator, dtype=torch.double)
    with record_switches(net) as sw:
        out = net(x)
    record = sw["2"]
    assert record.input_size == (11, 15)
    signal = torch.randn(out.shape, generator=generator, dtype=torch.double)
    pre = net[1](net[0](x)).detach().requires_grad_(True)
    (expected,) = torch.autograd.grad((net[2](pre) * signal).sum(), pre)
    assert torch.equal(unpool(signal, record), expected)


def test_overlapping_windows_sharing_a_maximum_add_up():
    # a 5x5 map whose only large value (at the centre) is the max of all four 3x3/2 windows
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 9.0
    pool = nn.Sequential(nn.MaxPool2d(3, 2))
    with record_switches(pool) as sw:
        pool(x)
    assert sw["0"].indices.flatten().tolist() == [12, 12, 12, 12]
    signal = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    back = unpool(signal, sw["0"])
    assert back[0, 0, 2, 2] == 10.0
    assert back.sum() == 10.0


def test_unpool_rows_pick_their_image(generator):
    pool = nn.Sequential(nn.MaxPool2d(2))
    x = torch.randn(3, 1, 4, 4, generator=generator)
    with record_switches(pool) as sw:
        pool(x)
    signal = torch.ones(2, 1, 2, 2)
    back = unpool(signal, sw["0"], torch.tensor([2, 0]))
    assert torch.equal(back[0], unpool(signal[:1], SwitchRecord(sw["0"].indices[2:3], (4, 4)))[0])
    # the switches sit at each window's maximum
    for row, image in ((0, 2), (1, 0)):
        windows = x[image, 0].unfold(0, 2, 2).unfold(1, 2, 2).reshape(2, 2, 4)
        assert torch.allclose((back[row, 0] * x[image, 0]).sum(), windows.amax(-1).sum(), atol=1e-6)


def test_model_unchanged_and_hooks_removed(generator):
    net = _net(kernel_size=3, stride=2)
    before = hook_count(net)
    x = torch.randn(1, 2, 9, 9, generator=generator, dtype=torch.double)
    expected = net(x)
    with record_switches(net) as sw:
        assert torch.equal(net(x), expected)
        assert hook_count(net) > before
        assert len(sw) == 1 and "2" in sw
    assert hook_count(net) == before
    with pytest.raises(RuntimeError, match="boom"), record_switches(net):
        raise RuntimeError("boom")
    assert hook_count(net) == before


def test_switches_cleared_each_forward_and_second_calls_numbered():
    pool = nn.MaxPool2d(2)

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.pool = pool

        def forward(self, x):
            return self.pool(self.pool(x))

    net = Twice()
    with record_switches(net) as sw:
        net(torch.randn(1, 1, 8, 8))
        assert list(sw) == ["pool", "pool#1"]
        assert sw["pool#1"].input_size == (4, 4)
        net(torch.randn(1, 1, 8, 8))
        assert list(sw) == ["pool", "pool#1"]
        with pytest.raises(KeyError, match="recorded: pool, pool#1"):
            sw["other"]


def test_bad_inputs():
    net = _net(kernel_size=2)
    with pytest.raises(ValueError, match="not an nn.MaxPool2d"), record_switches(net, ["0"]):
        pass
    with record_switches(net) as sw:
        net(torch.randn(1, 2, 8, 8, dtype=torch.double))
    with pytest.raises(ValueError, match="does not match the switches"):
        unpool(torch.zeros(1, 3, 2, 2), sw["2"])


def test_indices_match_torch_return_indices(generator):
    x = torch.randn(2, 3, 11, 10, generator=generator)
    pool = nn.Sequential(nn.MaxPool2d(3, 2, padding=1))
    with record_switches(pool) as sw:
        pool(x)
    _, expected = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    assert torch.equal(sw["0"].indices, expected)
