"""Captum as the referee of the deconvnet (float64).

- The explicit reverse walk == Captum ``NeuronDeconvolution`` to 1e-5 (relative) on chain
  CNNs with overlapping 3x3/2 pools, non-square inputs and several layers (the shipped
  chain CNN, torchvision AlexNet and VGG-11-BN, ZFNet's layers).
- The gradient route == Captum ``Deconvolution``/``NeuronDeconvolution`` on ResNet-18
  (in-place ReLUs, a ReLU module called twice per block) and EfficientNet-Lite0.
  Captum rectifies ``nn.ReLU`` modules only: on Lite0 (ReLU6 everywhere) it matches our
  ``rectifiers=(nn.ReLU,)``; with ReLU6 swapped for an ``nn.ReLU`` subclass computing
  ``relu6`` Captum rectifies them and matches our default.
- Functional ReLUs: Captum passes them their plain gradient silently; we refuse by
  default and match Captum with ``functional="gradient"``.
"""

from __future__ import annotations

import copy
import warnings
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
import torchvision
from captum.attr import Deconvolution, NeuronDeconvolution
from torch import nn
from torchvision.models import vgg

from interpret.core import get_module
from interpret.deconvnet import project
from interpret.testing import FunctionalReluNet, chain_cnn

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _relative_error(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    scale = float(theirs.abs().max())
    assert scale > 0, "the reference projection is zero: the test would prove nothing"
    return float((ours - theirs).abs().max()) / scale


def _captum_neurons(model, site, x, result):
    layer = get_module(model, site.split("#")[0])
    deconv = NeuronDeconvolution(model, layer)
    out = []
    for row in range(len(result.image)):
        image = int(result.image[row])
        selector = (int(result.channel[row]),)
        if int(result.y[row]) >= 0 and result.projections.ndim == 4 and _is_map(model, site, x):
            selector += (int(result.y[row]), int(result.x[row]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.append(deconv.attribute(x[image : image + 1], neuron_selector=selector)[0])
    return torch.stack(out)


def _is_map(model, site, x):
    from interpret.core.capture import run_and_capture

    _, acts = run_and_capture(model, x[:1], site.split("#")[0])
    return acts[site].ndim == 4


def _units(generator, n_images, channels, height, width, count):
    return torch.stack(
        [
            torch.randint(n_images, (count,), generator=generator),
            torch.randint(channels, (count,), generator=generator),
            torch.randint(height, (count,), generator=generator),
            torch.randint(width, (count,), generator=generator),
        ],
        1,
    )


@pytest.mark.parametrize("shape", [(23, 31), (29, 40)])
@pytest.mark.parametrize("site", ["features.0", "features.2", "features.4", "features.5",
                                  "features.8"])  # fmt: skip
def test_reverse_walk_equals_captum_on_chain_cnn(site, shape, generator):
    net = chain_cnn(channels=(3, 5, 6, 7)).double()
    x = torch.randn(2, 3, *shape, generator=generator, dtype=torch.double)
    strongest = project(net, x, site, route="reverse", seed="one", channels=[0, 2, 4])
    assert _relative_error(strongest.projections, _captum_neurons(net, site, x, strongest)) < 1e-5
    from interpret.core.capture import run_and_capture

    _, acts = run_and_capture(net, x, site)
    c, h, w = acts[site].shape[1:]
    units = _units(generator, 2, c, h, w, 4)
    chosen = project(net, x, site, units=units, route="reverse", seed="one")
    assert _relative_error(chosen.projections, _captum_neurons(net, site, x, chosen)) < 1e-5


def _batchnorm_statistics(model, generator):
    for module in model.modules():  # non-trivial batch-norm statistics
        if isinstance(module, nn.BatchNorm2d):
            module.running_var.uniform_(0.5, 2.0, generator=generator)
            module.running_mean.normal_(0, 0.1, generator=generator)


@pytest.mark.parametrize(
    "build, shape, sites",
    [
        (lambda: torchvision.models.alexnet(weights=None).features, (79, 95),
         ["features.2", "features.7", "features.12"]),
        # torchvision's own VGG-11-BN feature stack (its classifier is not needed here)
        (lambda: vgg.make_layers(vgg.cfgs["A"], batch_norm=True), (40, 56),
         ["features.3", "features.10", "features.28"]),
    ],
    ids=["alexnet", "vgg11_bn"],
)  # fmt: skip
def test_reverse_walk_equals_captum_on_torchvision_features(build, shape, sites, generator):
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(features=build())).double().eval()
    _batchnorm_statistics(model, generator)
    x = torch.randn(2, 3, *shape, generator=generator, dtype=torch.double)
    for site in sites:
        result = project(model, x, site, channels=[0, 7], seed="one")
        assert result.route == "reverse", site
        assert _relative_error(result.projections, _captum_neurons(model, site, x, result)) < 1e-5


@pytest.mark.slow
def test_reverse_walk_equals_captum_on_whole_alexnet(generator):
    """Through avgpool, torch.flatten, dropout and the fully connected layers to a logit."""
    torch.manual_seed(0)
    model = torchvision.models.alexnet(weights=None).double().eval()
    x = torch.randn(2, 3, 79, 95, generator=generator, dtype=torch.double)
    for site in ["features.12", "classifier.6"]:
        result = project(model, x, site, channels=[0, 7], seed="one")
        assert result.route == "reverse", site
        assert _relative_error(result.projections, _captum_neurons(model, site, x, result)) < 1e-5


def test_reverse_walk_equals_captum_on_zfnet(generator):
    """ZFNet itself (Fig. 3 layout at 64 px; LRN reversed in closed form), float64."""
    from interpret.models import zfnet

    model = zfnet(num_classes=10, width=0.1, input_size=64, padding="small").double().eval()
    x = torch.randn(2, 3, 64, 64, generator=generator, dtype=torch.double)
    for site in ["features.2", "features.6", "features.9", "features.14", "classifier.4"]:
        result = project(model, x, site, channels=[1, 3], seed="one")
        assert result.route == "reverse"
        assert _relative_error(result.projections, _captum_neurons(model, site, x, result)) < 1e-5


def test_gradient_route_equals_captum_on_resnet18(generator):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).double().eval()
    x = torch.randn(2, 3, 64, 64, generator=generator, dtype=torch.double)
    classes = project(model, x, "fc", units=[[0, 3, 0, 0], [1, 7, 0, 0]], seed="one")
    assert classes.route == "gradient"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = Deconvolution(model).attribute(x, target=torch.tensor([3, 7]))
    assert _relative_error(classes.projections, theirs) < 1e-5
    result = project(model, x, "layer2.0", channels=[5], seed="one")  # a block's output
    assert _relative_error(result.projections, _captum_neurons(model, "layer2.0", x, result)) < 1e-5
    # a ReLU module called twice per block: Captum's layer output is the last call, ours
    # names each call ("layer3.1.relu" the first, "layer3.1.relu#1" the second)
    second = project(model, x, "layer3.1.relu#1", channels=[5], seed="one")
    theirs = _captum_neurons(model, "layer3.1.relu", x, second)
    assert _relative_error(second.projections, theirs) < 1e-5
    first = project(model, x, "layer3.1.relu", channels=[5], seed="one")
    assert _relative_error(first.projections, theirs) > 1e-2


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


def test_gradient_route_equals_captum_on_efficientnet_lite0(lite0, generator):
    x = torch.randn(2, 3, 64, 64, generator=generator, dtype=torch.double)
    for site in ["blocks.2", "blocks.5.0"]:
        ours = project(lite0, x, site, channels=[3], seed="one")
        assert ours.route == "gradient"
        theirs = _captum_neurons(_swap_relu6(lite0), site, x, ours)
        assert _relative_error(ours.projections, theirs) < 1e-5
        # unmodified model: Captum rectifies nothing (no nn.ReLU), as ours with (nn.ReLU,)
        plain = project(lite0, x, site, channels=[3], seed="one", rectifiers=(nn.ReLU,))
        assert _relative_error(plain.projections, _captum_neurons(lite0, site, x, plain)) < 1e-5
        assert _relative_error(plain.projections, ours.projections) > 1e-2


def test_functional_relu_captum_skips_silently_we_do_not(generator):
    net = FunctionalReluNet().double()
    x = torch.randn(2, 3, 9, 9, generator=generator, dtype=torch.double)
    with pytest.raises(ValueError, match="F.relu"):
        project(net, x, "conv2", channels=[1])
    ours = project(net, x, "conv2", channels=[1], functional="gradient", seed="one")
    assert _relative_error(ours.projections, _captum_neurons(net, "conv2", x, ours)) < 1e-5
