"""Captum as the referee of guided backpropagation (``rule="guided"``), float64.

Guided backpropagation (Springenberg et al. 2015): at every rectifier the backward signal
is masked by the forward pass and rectified, ``relu(gradient)``. Captum's
``GuidedBackprop``/``NeuronGuidedBackprop`` do this for ``nn.ReLU`` modules.

- torchvision VGG-11 (random init): the explicit reverse walk and the gradient route
  both equal ``NeuronGuidedBackprop`` at feature sites and ``GuidedBackprop`` at a logit.
- torchvision ResNet-18 (random init; in-place ReLUs, a ReLU module called twice per
  block): the gradient route equals both.
- The bundled EfficientNet-Lite0 uses ReLU6 everywhere, which Captum does not hook: on
  the unmodified model Captum's guided backpropagation is the plain gradient, and so is
  ours with ``rectifiers=(nn.ReLU,)``. Our default rectifies ReLU6 too (``relu`` of its
  gradient, which carries the mask ``0 < x < 6``); Captum computes exactly that once
  ReLU6 is swapped for an ``nn.ReLU`` subclass computing ``relu6``.
"""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
import torch.nn.functional as F
import torchvision
from captum.attr import GuidedBackprop, NeuronGuidedBackprop
from torch import nn

from interpret.core import get_module
from interpret.deconvnet import project

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _relative_error(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    scale = float(theirs.abs().max())
    assert scale > 0, "the reference projection is zero: the test would prove nothing"
    return float((ours - theirs).abs().max()) / scale


def _captum_neurons(model, site, x, result):
    guided = NeuronGuidedBackprop(model, get_module(model, site.split("#")[0]))
    out = []
    for row in range(len(result.image)):
        image = int(result.image[row])
        selector = (int(result.channel[row]),)
        if int(result.y[row]) >= 0:
            selector += (int(result.y[row]), int(result.x[row]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.append(guided.attribute(x[image : image + 1], neuron_selector=selector)[0])
    return torch.stack(out)


@pytest.fixture(scope="module")
def vgg11():
    torch.manual_seed(0)
    return torchvision.models.vgg11(weights=None).double().eval()


@pytest.mark.parametrize("site", ["features.4", "features.12"])
def test_guided_equals_captum_on_vgg11_both_routes(vgg11, site, generator):
    x = torch.randn(2, 3, 48, 56, generator=generator, dtype=torch.double)
    walked = project(vgg11, x, site, channels=[0, 7], seed="one", rule="guided", route="reverse")
    autograd = project(vgg11, x, site, channels=[0, 7], seed="one", route="gradient",
                       rule="guided")  # fmt: skip
    assert (walked.route, walked.rule, autograd.route) == ("reverse", "guided", "gradient")
    theirs = _captum_neurons(vgg11, site, x, walked)
    assert _relative_error(walked.projections, theirs) < 1e-9
    assert _relative_error(autograd.projections, theirs) < 1e-9
    # the same units with the deconvnet differ: the forward mask matters
    deconvnet = project(vgg11, x, site, channels=[0, 7], seed="one", route="reverse")
    assert _relative_error(deconvnet.projections, theirs) > 1e-2
    # route="guided" is shorthand for rule="guided"
    short = project(vgg11, x, site, channels=[0, 7], seed="one", route="guided")
    assert short.rule == "guided" and torch.equal(short.projections, walked.projections)


def test_guided_equals_captum_at_a_vgg11_logit(vgg11, generator):
    """Through max pools, adaptive average pooling, flatten, dropout and linear layers."""
    x = torch.randn(2, 3, 48, 56, generator=generator, dtype=torch.double)
    ours = project(vgg11, x, "classifier.6", units=[[0, 3, 0, 0], [1, 7, 0, 0]], seed="one",
                   rule="guided")  # fmt: skip
    assert ours.route == "reverse"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = GuidedBackprop(vgg11).attribute(x, target=torch.tensor([3, 7]))
    assert _relative_error(ours.projections, theirs) < 1e-9


def test_guided_gradient_route_equals_captum_on_resnet18(generator):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).double().eval()
    x = torch.randn(2, 3, 64, 64, generator=generator, dtype=torch.double)
    classes = project(model, x, "fc", units=[[0, 3, 0, 0], [1, 7, 0, 0]], seed="one",
                      rule="guided")  # fmt: skip
    assert classes.route == "gradient"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = GuidedBackprop(model).attribute(x, target=torch.tensor([3, 7]))
    assert _relative_error(classes.projections, theirs) < 1e-9
    result = project(model, x, "layer2.0", channels=[5], seed="one", rule="guided")
    assert _relative_error(result.projections, _captum_neurons(model, "layer2.0", x, result)) < 1e-9
    # Captum's layer output of a reused ReLU is its last call: ours "layer3.1.relu#1"
    second = project(model, x, "layer3.1.relu#1", channels=[5], seed="one", rule="guided")
    theirs = _captum_neurons(model, "layer3.1.relu", x, second)
    assert _relative_error(second.projections, theirs) < 1e-9


class _ReLU6AsReLU(nn.ReLU):
    """ReLU6 that Captum recognises (it hooks nn.ReLU instances only)."""

    def forward(self, x):
        return F.relu6(x, inplace=self.inplace)


def _swap_relu6(model):
    twin = copy.deepcopy(model)
    for module in list(twin.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.ReLU6):
                setattr(module, name, _ReLU6AsReLU(inplace=child.inplace))
    return twin


@pytest.fixture(scope="module")
def lite0():
    from interpret.models import efficientnet_lite0

    return efficientnet_lite0(pretrained=True).double().eval()


@pytest.mark.parametrize("site", ["blocks.2", pytest.param("blocks.5.0", marks=pytest.mark.slow)])
def test_guided_equals_captum_on_efficientnet_lite0(lite0, site, generator):
    x = torch.randn(2, 3, 64, 64, generator=generator, dtype=torch.double)
    assert not any(type(m) is nn.ReLU for m in lite0.modules())  # ReLU6 only
    # ReLU6 rectified (our default) == Captum with ReLU6 made visible to it
    ours = project(lite0, x, site, channels=[3], seed="one", rule="guided")
    assert ours.route == "gradient"
    theirs = _captum_neurons(_swap_relu6(lite0), site, x, ours)
    assert _relative_error(ours.projections, theirs) < 1e-9
    # unmodified model: Captum hooks nothing, so its guided backprop is the plain
    # gradient; ours with rectifiers=(nn.ReLU,) likewise
    plain = project(lite0, x, site, channels=[3], seed="one", rule="guided",
                    rectifiers=(nn.ReLU,))  # fmt: skip
    assert _relative_error(plain.projections, _captum_neurons(lite0, site, x, plain)) < 1e-9
    assert _relative_error(plain.projections, ours.projections) > 1e-2
