import pytest
import torch
from torch import nn

from interpret.models import ZFNet, clip_filter_rms, zfnet, zfnet_digits


def _trace(model, x):
    """Run x through every leaf module in order; returns the per-leaf output shapes."""
    shapes = []
    for module in model.modules():
        if not list(module.children()):
            x = module(x)
            shapes.append(tuple(x.shape[1:]))
    return x, shapes


def test_paper_layout_at_224(one_thread):
    model = zfnet()
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 256, 384, 384, 256]
    assert [c.kernel_size[0] for c in convs] == [7, 5, 3, 3, 3]
    assert [c.stride[0] for c in convs] == [2, 2, 1, 1, 1]
    assert [m.out_features for m in model.classifier if isinstance(m, nn.Linear)] == [
        4096,
        4096,
        1000,
    ]
    with torch.inference_mode():
        out, shapes = _trace(model, torch.randn(1, 3, 224, 224))
    assert out.shape == (1, 1000)
    # Fig. 3 map sizes: conv1 110, pool1 55, conv2 26, pool2 13, conv3-5 13, pool5 6
    assert [s[1] for s in shapes[:15]] == [110, 110, 55, 55, 26, 26, 13, 13] + [13] * 6 + [6]
    assert shapes[15] == (256 * 6 * 6,)


def test_chain_the_forward_pass_is_the_leaves_in_order():
    model = zfnet(num_classes=7, width=0.1, input_size=64)
    assert isinstance(model, nn.Sequential) and isinstance(model, ZFNet)
    assert [name for name, _ in model.named_children()] == ["features", "classifier"]
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        chained, _ = _trace(model, x)
        assert torch.equal(chained, model(x))
    assert chained.shape == (2, 7)


@pytest.mark.parametrize("size", [5, 8, 28, 32, 48])
def test_small_inputs_with_small_padding(size):
    model = zfnet(num_classes=10, width=0.125, input_size=size, padding="small", in_channels=1)
    assert model(torch.zeros(2, 1, size, size)).shape == (2, 10)


def test_paper_padding_too_small_says_what_to_do():
    assert zfnet(width=0.05, input_size=53, fc_features=8)(torch.zeros(1, 3, 53, 53)).shape
    with pytest.raises(ValueError, match="padding='small'"):
        zfnet(width=0.05, input_size=52)
    model = zfnet(width=0.05, input_size=64, fc_features=8)
    with pytest.raises(ValueError, match="input_size=32"):
        model(torch.zeros(1, 3, 32, 32))


def test_width_scaling_and_options():
    model = zfnet(width=0.1, input_size=64, lcn=False)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [10, 26, 38, 38, 26]
    assert model.classifier[1].out_features == round(4096 * 0.1)
    assert isinstance(model.features[3], nn.Identity) and isinstance(model.features[7], nn.Identity)
    tiny = zfnet(width=0.0001, input_size=64, fc_features=3)
    assert [m.out_channels for m in tiny.features if isinstance(m, nn.Conv2d)] == [1] * 5
    with pytest.raises(ValueError, match="padding"):
        zfnet(padding="same")
    with pytest.raises(ValueError, match="width"):
        zfnet(width=0)


def test_initialisation_is_seeded_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b = zfnet_digits(), zfnet_digits()
    c = zfnet_digits(generator=torch.Generator().manual_seed(1))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert not torch.equal(a.features[0].weight, c.features[0].weight)
    assert not a.training
    assert a(torch.zeros(3, 1, 32, 32)).shape == (3, 10)


def test_clip_filter_rms_against_the_literal_definition():
    conv = nn.Conv2d(2, 4, 3, dtype=torch.float64)
    weights = torch.randn(
        4, 2, 3, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64
    )
    weights[0] *= 0.01  # one filter well inside the radius
    with torch.no_grad():
        conv.weight.copy_(weights)
    bias = conv.bias.detach().clone()
    radius = 0.5
    expected, count = [], 0
    for o in range(4):
        values = [float(v) for v in weights[o].flatten()]
        rms = (sum(v * v for v in values) / len(values)) ** 0.5
        if rms > radius:
            count += 1
            values = [v * radius / rms for v in values]
        expected.append(values)
    assert clip_filter_rms(conv, radius) == count == 3
    assert torch.allclose(conv.weight.flatten(1), torch.tensor(expected, dtype=torch.float64))
    assert torch.equal(conv.bias, bias)
    rms_after = conv.weight.pow(2).flatten(1).mean(1).sqrt()
    assert torch.allclose(rms_after[1:], torch.full((3,), radius, dtype=torch.float64))
    assert clip_filter_rms(conv, radius) == 0


def test_clip_filter_rms_hand_values_and_errors():
    conv = nn.Conv2d(1, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([0.3, -0.05]).view(2, 1, 1, 1))
    assert clip_filter_rms(conv, 0.1) == 1
    assert conv.weight.flatten().tolist() == pytest.approx([0.1, -0.05])
    with pytest.raises(ValueError, match="positive"):
        clip_filter_rms(conv, 0.0)
    with pytest.raises(TypeError, match="Conv2d"):
        clip_filter_rms(nn.Linear(2, 2), 0.1)
