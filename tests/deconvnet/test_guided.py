"""Guided backpropagation (``rule="guided"``): both routes agree, and it is what it says.

Springenberg et al. (2015): at every rectifier the backward signal is masked by where the
forward rectifier let its input through, then rectified. Written out here the slow way
(a hand-made backward pass through a two-layer chain) and compared; the reverse walk
(windowed and whole-map) against the gradient route; Captum is the outside referee in
``tests/reference/test_guided_captum.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from interpret.core import hook_count
from interpret.deconvnet import project
from interpret.testing import chain_cnn, seeded


def assert_close(actual, expected, rtol=1e-9, atol=1e-12):
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    err = float((actual - expected).abs().max()) if actual.numel() else 0.0
    assert torch.allclose(actual, expected, rtol=rtol, atol=atol), f"max abs error {err:.3g}"


def test_guided_by_hand_on_conv_relu6_conv_relu(generator):
    net = seeded(nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU6(), nn.Conv2d(3, 4, 3), nn.ReLU()))
    net = net.double()
    x = 3 * torch.randn(1, 2, 9, 10, generator=generator, dtype=torch.double)
    ours = project(net, x, "3", channels=[2], rule="guided", seed="one")  # strongest unit
    y, x_ = int(ours.y[0]), int(ours.x[0])
    # by hand: seed one unit, walk back, mask and rectify at each rectifier
    with torch.no_grad():
        a1 = net[0](x)
        a2 = net[2](net[1](a1))
        signal = torch.zeros_like(a2)
        signal[0, 2, y, x_] = 1.0
        signal = F.relu(signal * (a2 > 0))  # ReLU: mask x > 0
        signal = F.conv_transpose2d(signal, net[2].weight)
        signal = F.relu(signal * ((a1 > 0) & (a1 < 6)))  # ReLU6: mask 0 < x < 6
        signal = F.conv_transpose2d(signal, net[0].weight)
    assert float(signal.abs().max()) > 0
    assert_close(ours.projections, signal)
    # the deconvnet on the same unit ignores the masks, so it differs
    deconvnet = project(net, x, "3", units=[[0, 2, y, x_]], seed="one")
    assert float((deconvnet.projections - signal).abs().max()) > 1e-3


def test_reverse_walk_equals_gradient_route(generator):
    net = chain_cnn(channels=(3, 5, 6, 7)).double()
    x = torch.randn(3, 3, 23, 31, generator=generator, dtype=torch.double)
    for site in ("features.2", "features.5", "features.8"):
        for mode in ("max", "map"):
            walked = project(net, x, site, channels=[0, 4], mode=mode, route="reverse",
                             rule="guided")  # fmt: skip
            autograd = project(net, x, site, channels=[0, 4], mode=mode, route="gradient",
                               rule="guided")  # fmt: skip
            assert walked.route == "reverse" and autograd.route == "gradient"
            assert_close(walked.projections, autograd.projections)
    units = [[0, 1, 1, 2], [2, 5, 0, 0], [1, 6, 1, 1]]
    walked = project(net, x, "features.8", units=units, route="reverse", rule="guided")
    autograd = project(net, x, "features.8", units=units, route="gradient", rule="guided")
    assert_close(walked.projections, autograd.projections)


def test_guided_without_rectifiers_is_the_plain_gradient(generator):
    net = chain_cnn().double()
    x = torch.randn(2, 3, 23, 31, generator=generator, dtype=torch.double)
    ours = project(
        net, x, "features.5", units=[[1, 3, 2, 2]], rule="guided", seed="one", rectifiers=(nn.Tanh,)
    )  # fmt: skip  (no Tanh in the net: nothing rectified)
    leaf = x[1:2].clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(net.features[:6](leaf)[0, 3, 2, 2], leaf)
    assert_close(ours.projections, grad)


def test_no_hook_left_and_state_restored(generator):
    net = chain_cnn()
    net.train()
    x = torch.randn(2, 3, 23, 31, generator=generator)
    for route in ("reverse", "gradient"):
        project(net, x, "features.5", channels=[1], rule="guided", route=route)
        assert hook_count(net) == 0 and net.training
        assert all(p.requires_grad for p in net.parameters())
