"""The default activation-maximization settings work on models they were not tuned on.

For the bundled EfficientNet-Lite0 (ImageNet weights) and three random-init models (the
digits ZFNet, torchvision VGG-11 and ResNet-18), 8 random channels of the middle site the
report visualizes must end at least 3x their maximum over real data (sample photos;
digits for ZFNet). The report's preset, ``preset("lucid", size=..., steps=...)``, is
checked at 64 px and 32 steps (32 px for the digits, as the report runs them); the
no-config default of ``maximize`` (128 px, 512 steps) in the slow tests.
"""

from __future__ import annotations

import pytest
import torch
from maximize_transfer_setup import ARCHITECTURES, report_overrides, setting
from torch import nn

from interpret.core import hook_count
from interpret.neurons.maximization.config import MaximizeConfig
from interpret.neurons.maximization.objectives import channel
from interpret.neurons.maximization.presets import ADAPTIVE, preset
from interpret.neurons.maximization.relu_redirect import RedirectedReLU, redirect_relu_gradients
from interpret.neurons.maximization.run import maximize
from interpret.testing import chain_cnn

TARGET = 3.0


def ratios(name: str, size: int, config: MaximizeConfig | None) -> torch.Tensor:
    s = setting(name, size)
    before = hook_count(s.model)
    result = maximize(s.model, s.objective, normalize=s.normalize, config=config, seed=0)
    assert hook_count(s.model) == before
    return result.final / s.data_max


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_report_preset_raises_every_channel_3x_above_the_data(name):
    size = 32 if name == "zfnet_digits" else 64
    config = preset("lucid", size=size, steps=32, **report_overrides(name))
    ratio = ratios(name, size, config)
    assert float(ratio.min()) >= TARGET, (name, ratio.tolist())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["efficientnet_lite0", "zfnet_digits"])
def test_no_config_default_raises_every_channel_3x_above_the_data(name):
    ratio = ratios(name, preset("lucid").size, None)  # data at the default's 128 px
    assert float(ratio.min()) >= TARGET, (name, ratio.tolist())


@pytest.mark.slow
def test_paper_settings_fail_where_the_adaptive_ones_pass():
    """The reason for the adaptive default: Lucid's literal settings at the report's size
    leave a random-init ResNet-18's channels near (or below) the photos' maximum."""
    config = preset("lucid", literal=True, size=64, steps=32)
    ratio = ratios("resnet18", 64, config)
    assert float(ratio.min()) < 1.0, ratio.tolist()


# ---- the pieces ----------------------------------------------------------------------


def test_default_preset_is_lucid_plus_the_adaptive_fields_and_literal_is_the_paper():
    adaptive, literal = preset("lucid"), preset("lucid", literal=True)
    assert {k: getattr(adaptive, k) for k in ADAPTIVE} == ADAPTIVE
    assert (literal.lr_schedule, literal.relu_gradient, literal.transform_fraction) == (
        "constant",
        "exact",
        1.0,
    )
    assert adaptive.replace(**{k: getattr(literal, k) for k in ADAPTIVE}) == literal
    assert preset("lucid", literal=True, steps=8).steps == 8
    for name in ("deepvis", "deepvis-1", "plain"):  # the others are literal already
        assert preset(name) == preset(name, literal=True)
        assert preset(name).lr_schedule == "constant"


@pytest.mark.slow
def test_no_config_runs_the_default_preset():
    net = chain_cnn()
    result = maximize(net, channel("features.3", 0), normalize=None, config=None)
    expected = preset("lucid").describe()
    assert {k: result.settings[k] for k in expected} == expected


def test_new_fields_are_checked():
    with pytest.raises(ValueError, match="lr_schedule must be 'constant' or 'adaptive'"):
        MaximizeConfig(lr_schedule="cosine")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="relu_gradient must be 'exact' or 'redirect'"):
        MaximizeConfig(relu_gradient="leaky")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"transform_fraction must be in \[0, 1\]"):
        MaximizeConfig(transform_fraction=1.5)


def test_redirected_relu_backward_is_lucids_rule():
    x = torch.tensor([[-1.0, 2.0, -3.0], [-1.0, -2.0, 7.0], [-1.0, -2.0, -3.0]])
    grad = torch.tensor([[-1.0, 2.0, 3.0], [-1.0, 2.0, -3.0], [-1.0, 2.0, -3.0]])
    for upper in (None, 6.0):
        x_ = x.clone().requires_grad_(True)
        out = RedirectedReLU.apply(x_, upper)
        torch.testing.assert_close(out, x.clamp(0, upper))
        out.backward(grad)
        expected = torch.zeros_like(x)
        for b in range(3):  # literal: exact gradient if any passes, else the redirected one
            live = (x[b] >= 0) & (x[b] <= (upper or float("inf")))
            exact = torch.where(live, grad[b], 0.0)
            if bool((exact != 0).any()):
                expected[b] = exact
            else:
                up = (x[b] < 0) & (grad[b] < 0)  # a descent gradient < 0 raises x
                down = (x[b] > (upper or float("inf"))) & (grad[b] > 0)
                expected[b] = torch.where(live | up | down, grad[b], 0.0)
        torch.testing.assert_close(x_.grad, expected)


def test_dead_start_rises_with_redirected_gradients_only():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True), nn.Conv2d(4, 2, 3), nn.ReLU())
    with torch.no_grad():
        net[2].bias.fill_(-0.1)  # both channels are zero on the start image
    site = "3"
    config = preset("plain", size=16, steps=40)
    exact = maximize(net, channel(site, [0, 1]), normalize=None, config=config)
    assert float(exact.final.abs().max()) == 0.0  # no gradient ever reaches the image
    before = hook_count(net)
    redirected = maximize(
        net, channel(site, [0, 1]), normalize=None, config=config.replace(relu_gradient="redirect")
    )
    assert hook_count(net) == before
    assert float(redirected.curve[0].abs().max()) == 0.0 and float(redirected.final.min()) > 0


def test_redirect_keeps_forward_values_and_removes_its_hooks():
    from interpret.core import HookSet

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True), nn.Conv2d(4, 2, 3), nn.ReLU6())
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    expected = net(x.detach())
    hooks = HookSet()
    try:
        assert redirect_relu_gradients(net, hooks) == 2
        torch.testing.assert_close(net(x), expected)
    finally:
        hooks.undo()
    assert hook_count(net) == 0


def test_adaptive_rates_grow_on_a_rising_objective():
    net = chain_cnn()
    objective = channel("features.3", [0, 1])
    base = preset("plain", size=16, steps=12)
    constant = maximize(net, objective, normalize=None, config=base)
    adaptive = maximize(net, objective, normalize=None, config=base.replace(lr_schedule="adaptive"))
    # the same first step; after it, larger steps while the objective keeps rising
    torch.testing.assert_close(adaptive.curve[:2], constant.curve[:2])
    assert bool((adaptive.final > constant.final).all()), (adaptive.final, constant.final)
