"""FilterClipper: Zeiler & Fergus feature scale clipping after each optimizer step."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from interpret.filters import FilterClipper, clip_filter_rms, filter_health
from interpret.testing import chain_cnn


def _rms(conv: nn.Conv2d) -> torch.Tensor:
    return conv.weight.detach().double().flatten(1).pow(2).mean(1).sqrt()


def test_filters_over_the_radius_are_renormalized_to_it_and_others_untouched():
    net = chain_cnn()  # weights ~ N(0, 0.3): most filters have RMS > 0.1
    with torch.no_grad():
        net.features[0].weight[1].mul_(0.1)  # RMS ~0.03: under the radius
    before = {n: m.weight.detach().clone() for n, m in net.named_modules()
              if isinstance(m, nn.Conv2d)}  # fmt: skip
    biases = [m.bias.detach().clone() for m in net.modules() if isinstance(m, nn.Conv2d)]
    clipper = FilterClipper(net, radius=0.1)
    count = clipper()
    expected = 0
    for name, w0 in before.items():
        conv = dict(net.named_modules())[name]
        rms0 = w0.double().flatten(1).pow(2).mean(1).sqrt()
        over = rms0 > 0.1
        expected += int(over.sum())
        # the paper's rule, literally: w <- w * radius / rms for filters over the radius
        for f in range(w0.shape[0]):
            if over[f]:
                torch.testing.assert_close(conv.weight[f], (w0[f] * 0.1 / rms0[f]).float())
            else:
                assert torch.equal(conv.weight[f], w0[f])
        assert bool((_rms(conv) <= 0.1 + 1e-6).all())
        assert clipper.clipped[name] == int(over.sum())
    assert count == expected and clipper.steps == 1
    assert not bool(before["features.0"][1].ne(net.features[0].weight[1]).any())
    for b0, m in zip(biases, [m for m in net.modules() if isinstance(m, nn.Conv2d)]):
        assert torch.equal(b0, m.bias)
    # a second pass changes nothing beyond float rounding (already within the radius)
    after = [m.weight.detach().clone() for m in net.modules() if isinstance(m, nn.Conv2d)]
    clipper()
    assert clipper.steps == 2
    for w1, m in zip(after, [m for m in net.modules() if isinstance(m, nn.Conv2d)]):
        torch.testing.assert_close(m.weight, w1, rtol=1e-6, atol=0)


def test_attached_to_an_optimizer_it_runs_after_every_step_until_removed():
    net = chain_cnn()
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    clipper = FilterClipper(net, radius=0.05, sites=["features.0"])
    handle = clipper.attach(opt)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(8, 3, 16, 16, generator=gen)
    y = torch.arange(8) % 5
    for _ in range(3):
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert bool((_rms(net.features[0]) <= 0.05 + 1e-6).all())
    assert clipper.steps == 3
    assert bool((_rms(net.features[3]) > 0.05).any())  # not a chosen site
    assert not filter_health(net, "features.0", radius=0.05).over_radius.any()
    handle.remove()
    with torch.no_grad():
        net.features[0].weight.mul_(10)
    opt.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
    assert clipper.steps == 3 and bool((_rms(net.features[0]) > 0.05).any())


def test_clip_filter_rms_counts_and_validates():
    conv = nn.Conv2d(1, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([0.3, 0.05]).view(2, 1, 1, 1))
    assert clip_filter_rms(conv, 0.1) == 1
    torch.testing.assert_close(conv.weight.flatten(), torch.tensor([0.1, 0.05]))
    with pytest.raises(ValueError, match="radius"):
        clip_filter_rms(conv, 0.0)


def test_bad_input():
    net = chain_cnn()
    with pytest.raises(ValueError, match="radius"):
        FilterClipper(net, radius=-1)
    with pytest.raises(ValueError, match="not an nn.Conv2d"):
        FilterClipper(net, sites=["features.1"])
    with pytest.raises(ValueError, match="Unknown site"):
        FilterClipper(net, sites=["conv1"])
    with pytest.raises(ValueError, match="empty"):
        FilterClipper(net, sites=[])
    with pytest.raises(ValueError, match="no nn.Conv2d"):
        FilterClipper(nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(TypeError, match="Optimizer"):
        FilterClipper(net).attach("sgd")
