"""The gradient route on graphs the reverse walk cannot follow (the awkward zoo)."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from interpret.core import hook_count
from interpret.core.capture import capture
from interpret.deconvnet import RELU_FAMILY, find_rectifier_nodes, project
from interpret.testing import FunctionalReluNet, awkward_zoo, seeded


def assert_close(actual, expected, rtol=1e-9, atol=1e-12):
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    err = float((actual - expected).abs().max()) if actual.numel() else 0.0
    assert torch.allclose(actual, expected, rtol=rtol, atol=atol), f"max abs error {err:.3g}"


class _RectifiedBackward(torch.autograd.Function):
    """Forward: the module's own function; backward: relu of the incoming signal."""

    @staticmethod
    def forward(ctx, x, fn):
        return fn(x)

    @staticmethod
    def backward(ctx, grad):
        return F.relu(grad), None


class _DeconvUnit(nn.Module):
    def __init__(self, original: nn.Module):
        super().__init__()
        self.fn = copy.deepcopy(original)
        if hasattr(self.fn, "inplace"):
            self.fn.inplace = False

    def forward(self, x):
        return _RectifiedBackward.apply(x, self.fn)


def _deconv_copy(model: nn.Module, classes=RELU_FAMILY) -> nn.Module:
    """An independent deconvnet: every rectifier module replaced by a custom Function."""
    twin = copy.deepcopy(model)
    for module in list(twin.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, classes):
                setattr(module, name, _DeconvUnit(child))
    return twin


def _reference(model, x, site, channel, y, xx, call=0, key=None):
    twin = _deconv_copy(model)
    xr = x.clone().requires_grad_(True)
    with capture(twin, site.split("#")[0], "grad") as acts:
        twin(xr)
    name = site.split("#")[0] if call == 0 else site
    out = acts[name]
    unit = out[0, channel, y, xx] if out.ndim == 4 else out[0, channel]
    (grad,) = torch.autograd.grad(unit, xr)
    return grad[0]


@pytest.mark.parametrize(
    "name, site",
    [
        ("inplace_relu", "conv2"),
        ("reused_relu", "relu#1"),
        ("residual", "relu2"),
        ("residual", "fc"),
        ("branches", "merge"),
        ("dict_output", "body.1"),
        ("tuple_block", "block:0"),
    ],
)
def test_zoo_matches_an_independent_deconvnet(name, site, generator):
    entry = awkward_zoo()[name]
    model = entry.build().double()
    x = torch.randn(2, *entry.input_shape, generator=generator, dtype=torch.double)
    result = project(model, x, site, channels=[0, 1], seed="one", route="gradient")
    for row in range(len(result.image)):
        image = int(result.image[row])
        expected = _reference(
            model, x[image : image + 1], site, int(result.channel[row]),
            int(result.y[row]), int(result.x[row]), call=1 if "#1" in site else 0,
        )  # fmt: skip
        assert_close(result.projections[row], expected)
    assert result.projections.abs().max() > 0


def test_inplace_relu_site_output_is_not_corrupted(generator):
    entry = awkward_zoo()["inplace_relu"]
    model = entry.build().double()
    x = torch.randn(1, *entry.input_shape, generator=generator, dtype=torch.double)
    # conv1's output is overwritten in place by the ReLU that follows it; the projection
    # of conv1 must use the pre-ReLU value (and may be negative)
    result = project(model, x, "conv1", channels=[0, 1, 2, 3], seed="activation")
    with torch.no_grad():
        pre = model.conv1(x)
    for row in range(4):
        c, y, xx = int(result.channel[row]), int(result.y[row]), int(result.x[row])
        assert float(result.activation[row]) == pytest.approx(float(pre[0, c].max()))
        assert float(pre[0, c, y, xx]) == pytest.approx(float(pre[0, c].max()))


class _Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.a1 = nn.ReLU6(inplace=True)
        self.c2 = nn.Conv2d(4, 4, 3, padding=1)
        self.a2 = nn.LeakyReLU(0.2)
        self.c3 = nn.Conv2d(4, 4, 3, padding=1)
        self.a3 = nn.ReLU()
        self.c4 = nn.Conv2d(4, 3, 1)
        seeded(self, 9)

    def forward(self, x):
        return self.c4(self.a3(self.c3(self.a2(self.c2(self.a1(self.c1(x))))) + x[:, :1]))


@pytest.mark.parametrize(
    "rectifiers", [RELU_FAMILY, (nn.ReLU,), (nn.ReLU6, nn.LeakyReLU), ()], ids=str
)
def test_user_chooses_which_rectifiers(rectifiers, generator):
    model = _Mixed().double()
    x = torch.randn(1, 3, 7, 9, generator=generator, dtype=torch.double)
    result = project(model, x, "c4", channels=[0], location=(3, 4), mode="unit", seed="one",
                     rectifiers=rectifiers)  # fmt: skip
    twin = _deconv_copy(model, rectifiers) if rectifiers else copy.deepcopy(model)
    xr = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(twin(xr)[0, 0, 3, 4], xr)
    assert_close(result.projections[0], grad[0])
    assert result.rectifiers == tuple(r.__name__ for r in rectifiers)


def _module_twin(net: FunctionalReluNet) -> nn.Sequential:
    twin = nn.Sequential(copy.deepcopy(net.conv1), nn.ReLU(), copy.deepcopy(net.conv2))
    return twin


def test_functional_relu_is_reported_not_skipped(generator):
    net = FunctionalReluNet().double()
    x = torch.randn(2, 3, 9, 9, generator=generator, dtype=torch.double)
    before = hook_count(net)
    with pytest.raises(ValueError, match="F.relu.*functional='rectify'"):
        project(net, x, "conv2", channels=[0])
    assert hook_count(net) == before
    rectified = project(net, x, "conv2", channels=[0, 2], functional="rectify", seed="one")
    assert rectified.functional_rectifiers == 1
    reference = project(_module_twin(net), x, "2", channels=[0, 2], seed="one")
    assert reference.route == "reverse"
    assert_close(rectified.projections, reference.projections)
    plain = project(net, x, "conv2", channels=[0, 2], functional="gradient", seed="one")
    assert plain.functional_rectifiers == 1
    manual = project(_module_twin(net), x, "2", channels=[0, 2], seed="one", rectifiers=())
    assert_close(plain.projections, manual.projections)
    assert not torch.allclose(plain.projections, rectified.projections)
    with pytest.raises(ValueError, match="functional must be"):
        project(net, x, "conv2", channels=[0], functional="skip")


def test_functional_relu_on_a_chain_falls_back_to_the_gradient_route(generator):
    net = FunctionalReluNet().double()
    x = torch.randn(1, 3, 9, 9, generator=generator, dtype=torch.double)
    with pytest.raises(ValueError, match="Functional op"):
        project(net, x, "conv2", channels=[0], route="reverse")
    assert project(net, x, "conv2", channels=[0], functional="rectify").route == "gradient"


@pytest.mark.parametrize(
    "fn, family",
    [
        (F.relu, nn.ReLU),
        (torch.relu, nn.ReLU),
        (lambda t: F.relu(t.clone(), inplace=True), nn.ReLU),
        (F.relu6, nn.ReLU6),
        (F.leaky_relu, nn.LeakyReLU),
        (lambda t: F.leaky_relu(t.clone(), inplace=True), nn.LeakyReLU),
        (lambda t: F.threshold(t, 0.0, 0.0), nn.ReLU),
        (lambda t: t.clamp(min=0), nn.ReLU),
        (lambda t: t.clamp(0, 6), nn.ReLU6),
        (lambda t: F.hardtanh(t, -1.0, 1.0), None),
        (lambda t: F.threshold(t, 0.5, 0.0), None),
        (torch.sigmoid, None),
    ],
)
def test_rectifier_nodes_are_recognised(fn, family):
    x = torch.randn(4, requires_grad=True)
    found = find_rectifier_nodes(fn(x * 2))
    assert [f for _, f in found] == ([family] if family is not None else [])


def test_hooks_removed_and_state_restored_after_errors(generator):
    entry = awkward_zoo()["residual"]
    model = entry.build().double().train()
    flags = [p.requires_grad for p in model.parameters()]
    before = hook_count(model)
    x = torch.randn(2, *entry.input_shape, generator=generator, dtype=torch.double)
    project(model, x, "relu2", channels=[1])
    with pytest.raises(ValueError, match="Channels must lie"):
        project(model, x, "relu2", channels=[99])
    with pytest.raises(ValueError, match="Locations must lie"):
        project(model, x, "relu2", channels=[0], mode="unit", location=(50, 0))
    assert hook_count(model) == before
    assert model.training and all(m.training for m in model.modules())
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())
