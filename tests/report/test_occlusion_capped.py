"""Occlusion panel (c) where the feature map comes out of a ReLU6 at its cap.

Guided backpropagation is blank at a ReLU6's cap (its gradient is zero there); the
section then seeds the map's strongest unit before the cap, at the ReLU6's input. These
tests pin down where that input is found, that the seed is guided backpropagation with
only the seed's own cap open, and that the section draws (c) that way, never falling back
to the deconvnet (image-agnostic without max-pooling switches).
"""

from __future__ import annotations

import copy

import pytest
import torch
from report_nets import capped_cnn
from torch import nn

from interpret.core import load_result
from interpret.deconvnet import project_units
from interpret.report import run_report
from interpret.report.sections._capped import capped_rectifier_input


def _units(n: int, channel: int) -> torch.Tensor:
    zero = torch.zeros(n, dtype=torch.int64)
    return torch.stack([torch.arange(n), torch.full((n,), channel), zero, zero], 1)


def test_capped_rectifier_input_names_the_relu6_input() -> None:
    import timm

    net = capped_cnn()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert capped_rectifier_input(net, "4", x) == "3"  # in-place ReLU6 after batch norm
    assert capped_rectifier_input(net, "1", x) == "0"  # ReLU6 after a convolution
    assert capped_rectifier_input(net, "3", x) is None  # batch norm: no rectifier
    relu = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    assert capped_rectifier_input(relu, "1", x) is None  # no cap
    # timm's BatchNormAct2d (EfficientNet-Lite's bn2): its own output is the ReLU6's.
    lite = nn.Sequential(nn.Conv2d(3, 4, 3))
    lite.add_module("bn2", timm.layers.BatchNormAct2d(4, act_layer=nn.ReLU6).eval())
    assert capped_rectifier_input(lite, "bn2", x) == "bn2.drop"
    assert not any(m._forward_hooks for m in lite.modules())  # every hook removed
    with pytest.raises(ValueError, match="not a module"):
        capped_rectifier_input(net, "nope", x)


def test_pre_activation_seed_is_guided_with_only_its_own_cap_open() -> None:
    net = capped_cnn().double()
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(1)).double() * 16 - 8
    units = _units(3, 5)
    at_cap = project_units(net, x, "4", units, mode="max", rule="guided")
    assert float(at_cap.activation.min()) == 6.0
    assert not at_cap.projections.any()  # blank at the cap: why the section seeds before it
    pre = project_units(net, x, "3", units, mode="max", rule="guided")
    assert bool(pre.projections.flatten(1).any(1).all())
    assert float(pre.activation.min()) > 6.0  # the unit's value before the cap
    # The same unit with its own ReLU6 read as a ReLU (every other ReLU6 unchanged).
    opened = copy.deepcopy(net)
    opened[4] = nn.ReLU()
    same = project_units(opened, x, "4", units, mode="max", rule="guided")
    assert torch.equal(same.y, pre.y) and torch.equal(same.x, pre.x)
    torch.testing.assert_close(same.projections, pre.projections)
    # ...but not every ReLU6 opened: the lower one keeps its mask 0 < x < 6.
    everywhere = copy.deepcopy(opened)
    everywhere[1] = nn.ReLU()
    with torch.no_grad():
        lower = net[:2](x)
    assert bool((lower == 6).any()) and bool(((lower > 0) & (lower < 6)).any())
    other = project_units(everywhere, x, "4", units, mode="max", rule="guided")
    assert not torch.allclose(other.projections, pre.projections)


def test_occlusion_section_draws_guided_c_before_the_cap(tiny_config) -> None:
    config = tiny_config(["occlusion"], model="report_nets:capped_cnn")
    run = run_report(config)
    record = load_result(run.out / "results" / "occlusion.pt").result
    info, projection = record.info, record.parts["projection"]
    site = record.parts["occlusion"].feature_site
    assert capped_rectifier_input(capped_cnn(), site, torch.zeros(1, 3, 32, 32)) is not None
    assert info["rule"] == projection.rule == "guided"  # never the deconvnet fallback
    assert info["seed_site"] != site and projection.site == info["seed_site"]
    assert bool(projection.projections.flatten(1).any(1).all())  # not blank
    markdown = (run.out / "report.md").read_text()
    assert "before the cap" in markdown and "(c) is the deconvnet" not in markdown
