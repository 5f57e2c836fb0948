"""The explicit reverse walk: a literal re-implementation, the gradient route, odd layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from interpret.deconvnet import project, record_chain, reverse_walk
from interpret.testing import chain_cnn, seeded


def assert_close(actual, expected, rtol=1e-7, atol=1e-7):
    """``torch.allclose`` with a message (torch.testing imports torch.distributed: slow)."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    err = float((actual - expected).abs().max()) if actual.numel() else 0.0
    assert torch.allclose(actual, expected, rtol=rtol, atol=atol), f"max abs error {err:.3g}"


def _literal_unpool(signal, pre_pool, k, s):
    """Unpooling by loops: each pooled value goes to the argmax of its window (Fig. 1)."""
    out = torch.zeros_like(pre_pool)
    channels, out_h, out_w = signal.shape
    for c in range(channels):
        for i in range(out_h):
            for j in range(out_w):
                window = pre_pool[c, i * s : i * s + k, j * s : j * s + k]
                flat = int(torch.argmax(window.flatten()))
                out[c, i * s + flat // window.shape[1], j * s + flat % window.shape[1]] += signal[
                    c, i, j
                ]
    return out


def _literal_filter(signal, weight, stride, pad, in_h, in_w):
    """Filtering with the transposed filters by loops over every output position."""
    c_out, c_in, kh, kw = weight.shape
    out = torch.zeros(c_in, in_h + 2 * pad, in_w + 2 * pad, dtype=signal.dtype)
    for o in range(c_out):
        for i in range(signal.shape[1]):
            for j in range(signal.shape[2]):
                value = signal[o, i, j]
                if value == 0:
                    continue
                out[:, i * stride : i * stride + kh, j * stride : j * stride + kw] += (
                    value * weight[o]
                )
    return out[:, pad : pad + in_h, pad : pad + in_w]


def _tiny_net():
    net = nn.Sequential(
        nn.Conv2d(2, 3, 3, stride=1, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(3, 4, 3, stride=2, padding=1),
        nn.ReLU(),
    )
    return seeded(net, 11).double()


def test_literal_deconvnet_agrees_on_a_tiny_net(generator):
    net = _tiny_net()
    x = torch.randn(1, 2, 11, 14, generator=generator, dtype=torch.double)
    conv1, conv2 = net[0], net[3]
    with torch.no_grad():
        a1 = torch.relu(conv1(x))[0]  # (3, 11, 14)
        p1 = net[2](a1[None])[0]  # (3, 5, 6)
        a2 = torch.relu(conv2(p1[None]))[0]  # (4, 3, 3)
    channel = 2
    flat = int(a2[channel].flatten().argmax())
    y, xx = flat // a2.shape[2], flat % a2.shape[2]
    # Zeiler & Fergus: keep one activation, zero the rest, then rectify/filter/unpool/...
    seed = torch.zeros_like(a2)
    seed[channel, y, xx] = a2[channel, y, xx]
    s = torch.relu(seed)
    s = _literal_filter(s, conv2.weight.detach(), 2, 1, *p1.shape[1:])
    s = _literal_unpool(s, a1, 3, 2)
    s = torch.relu(s)
    expected = _literal_filter(s, conv1.weight.detach(), 1, 1, *x.shape[2:])
    result = project(net, x, "4", channels=[channel])
    assert result.route == "reverse"
    assert (int(result.y[0]), int(result.x[0])) == (y, xx)
    assert float(result.activation[0]) == pytest.approx(float(a2[channel, y, xx]))
    assert_close(result.projections[0], expected, rtol=1e-10, atol=1e-12)
    assert expected.abs().max() > 0


@pytest.mark.parametrize("site", ["features.0", "features.2", "features.4", "features.5"])
@pytest.mark.parametrize("mode", ["max", "map"])
def test_reverse_equals_gradient_on_chain_cnn(site, mode, generator):
    net = chain_cnn(channels=(3, 5, 6, 7)).double()
    x = torch.randn(3, 3, 23, 31, generator=generator, dtype=torch.double)
    a = project(net, x, site, mode=mode, route="reverse")
    b = project(net, x, site, mode=mode, route="gradient")
    assert a.route == "reverse" and b.route == "gradient"
    assert torch.equal(a.channel, b.channel) and torch.equal(a.y, b.y)
    assert_close(a.projections, b.projections, rtol=1e-9, atol=1e-12)
    assert a.projections.abs().amax((1, 2, 3)).gt(0).float().mean() > 0.5


def _odd_chain():
    """A Sequential with every layer kind the walk treats specially, and some it does not."""
    net = nn.Sequential(
        nn.Conv2d(3, 4, 4, stride=2, padding=1),  # even kernel, stride 2
        nn.BatchNorm2d(4),
        nn.LeakyReLU(0.1),
        nn.MaxPool2d(3, 2, padding=1, ceil_mode=True),
        nn.LocalResponseNorm(3),
        nn.Conv2d(4, 6, 3, padding="same", dilation=2, groups=2),
        nn.ReLU6(),
        nn.Dropout2d(0.3),
        nn.Conv2d(6, 6, 2, padding="same"),  # asymmetric 'same': reversed via its Jacobian
        nn.Sigmoid(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(6 * 2 * 3, 5),
        nn.ReLU(inplace=True),
    )
    seeded(net, 5)
    with torch.no_grad():
        net[1].running_var.uniform_(0.5, 2.0)
    return net.double().eval()


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("site", ["2", "5", "9", "13"])
def test_reverse_equals_gradient_through_odd_layers(site, generator):
    net = _odd_chain()
    x = torch.randn(2, 3, 19, 27, generator=generator, dtype=torch.double)
    a = project(net, x, site, route="reverse", seed="one")
    b = project(net, x, site, route="gradient", seed="one")
    assert_close(a.projections, b.projections, rtol=1e-9, atol=1e-12)
    assert a.projections.abs().max() > 0


@pytest.mark.parametrize("size", [2, 4, 5])
def test_local_response_norm_reversed_in_closed_form(size, generator):
    net = nn.Sequential(
        nn.Conv2d(3, 7, 3), nn.ReLU(), nn.LocalResponseNorm(size, alpha=0.5, beta=0.75, k=1.5),
        nn.Conv2d(7, 4, 3),
    )  # fmt: skip
    seeded(net, 2).double()
    x = torch.randn(2, 3, 9, 12, generator=generator, dtype=torch.double)
    a = project(net, x, "3", route="reverse", seed="one", channels=[0, 3])
    b = project(net, x, "3", route="gradient", seed="one", channels=[0, 3])
    assert_close(a.projections, b.projections, rtol=1e-9, atol=1e-12)


def test_rectification_is_what_differs_from_the_gradient(generator):
    net = chain_cnn(channels=(3, 5, 6, 7)).double()
    x = torch.randn(1, 3, 23, 31, generator=generator, dtype=torch.double)
    plain = project(net, x, "features.5", channels=[1], route="reverse", rectifiers=(), seed="one")
    xr = x.clone().requires_grad_(True)
    acts = net.features[:6](xr)
    unit = acts[0, 1, int(plain.y[0]), int(plain.x[0])]
    (grad,) = torch.autograd.grad(unit, xr)
    assert_close(plain.projections[0], grad[0], rtol=1e-10, atol=1e-12)
    deconv = project(net, x, "features.5", channels=[1], route="reverse", seed="one")
    assert not torch.allclose(deconv.projections, plain.projections)


def test_record_and_walk_directly(generator):
    net = chain_cnn().double()
    x = torch.randn(2, 3, 23, 31, generator=generator, dtype=torch.double)
    record = record_chain(net, x, "features.5", (nn.ReLU,))
    assert [s.name for s in record.steps] == [f"features.{i}" for i in range(6)]
    assert record.steps[2].switches is not None and record.steps[0].switches is None
    assert tuple(record.output.shape) == (2, 8, 5, 7)
    seeds = torch.zeros(3, 8, 5, 7, dtype=torch.double)
    seeds[:, 0] = record.output[[1, 0, 1], 0]
    out = reverse_walk(record, seeds, torch.tensor([1, 0, 1]))
    assert out.shape == (3, 3, 23, 31)
    assert_close(out[0], out[2])
    expected = project(net, x, "features.5", channels=[0], mode="map", route="reverse")
    assert_close(out[1], expected.projections[0])
    assert_close(out[0], expected.projections[1])


def test_windowed_walk_equals_the_full_walk_at_every_position(generator):
    from interpret.core.receptive import receptive_field
    from interpret.deconvnet.windowed import gather_window, reverse_walk_units

    net = nn.Sequential(
        nn.Conv2d(2, 4, 5, stride=2, padding=2),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, padding=1, ceil_mode=True),
        nn.LocalResponseNorm(3),
        nn.Conv2d(4, 5, 3, padding=2, dilation=2, groups=1),
        nn.ReLU(),
    )
    seeded(net, 4)
    net = net.double().eval()
    x = torch.randn(2, 2, 37, 45, generator=generator, dtype=torch.double)
    record = record_chain(net, x, "6", (nn.ReLU,))
    _, c, h, w = record.output.shape
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    n = h * w
    image = torch.arange(n) % 2
    channel = torch.arange(n) % c
    location = torch.stack([ys.flatten(), xs.flatten()], 1)
    value = record.output[image, channel, location[:, 0], location[:, 1]]
    windows, origin = reverse_walk_units(record, channel, location, value, image)
    pasted = gather_window(windows, torch.arange(n), -origin, (37, 45))
    seeds = torch.zeros(n, c, h, w, dtype=torch.double)
    seeds[torch.arange(n), channel, location[:, 0], location[:, 1]] = value
    expected = reverse_walk(record, seeds, image)
    assert_close(pasted, expected, rtol=1e-10, atol=1e-12)
    # the windows are the receptive fields (this input is large enough not to cut them)
    field = receptive_field(net, "6")
    assert tuple(windows.shape[-2:]) == field.size
    boxes = [field.box(int(a), int(b))[:2] for a, b in location.tolist()]
    assert origin.tolist() == [list(b) for b in boxes]
