"""Default feature sites (report defaults) on real architectures, random init, 64 px."""

import pytest
import torch
from torch import nn
from torchvision.models import resnet18, vgg11

from interpret import feature_sites
from interpret.core import capture, hook_count

X = torch.randn(3, 64, 64, generator=torch.Generator().manual_seed(0))


def _check_capture_keys(
    model: nn.Module, sites: list[str], extra: tuple[str, ...] = ()
) -> dict[str, torch.Tensor]:
    """Every proposed site is a capture key with an (N, C, h, w) output, in execution order."""
    with capture(model, [*sites, *extra]) as acts, torch.inference_mode():
        model.eval()(X[None])
        found = dict(acts)
    assert [k for k in found if k in sites] == sites
    assert all(found[k].ndim == 4 for k in sites)
    assert hook_count(model) == 0
    return found


def test_resnet_gives_block_outputs_named_by_stage_at_stage_ends():
    model = resnet18()
    sites = feature_sites(model, X)
    assert sites == [
        "relu",
        "layer1.0",
        "layer1",
        "layer2.0",
        "layer2",
        "layer3.0",
        "layer3",
        "layer4.0",
        "layer4",
    ]
    found = _check_capture_keys(model, sites, ("layer1.0.relu#1", "layer4.1.relu#1"))
    # the block output is the second call of the block's ReLU (not the first)
    assert torch.equal(found["layer1.0"], found["layer1.0.relu#1"])
    assert torch.equal(found["layer4"], found["layer4.1.relu#1"])
    assert model.training  # mode restored


def test_vgg_gives_its_feature_relus():
    model = vgg11()
    sites = feature_sites(model, X)
    relus = [f"features.{i}" for i, m in enumerate(model.features) if isinstance(m, nn.ReLU)]
    assert sites == relus and len(sites) == 8
    _check_capture_keys(model, sites)


def test_user_sequential_and_convolutions_only():
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3), nn.GELU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4),
    )  # fmt: skip
    assert feature_sites(net, X) == ["1", "4"]
    convs = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3), nn.Flatten())
    assert feature_sites(convs, X) == ["0", "1"]
    assert feature_sites(nn.Sequential(nn.Flatten(), nn.Linear(3 * 64 * 64, 2)), X) == []


class _SharedRelu(nn.Module):
    """One ReLU module applied after each convolution: three calls, three sites."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2, self.conv3 = (nn.Conv2d(c, 4, 3) for c in (3, 4, 4))
        self.act = nn.ReLU()
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        x = self.act(self.conv1(x))
        x = self.act(self.conv2(x))
        x = self.act(self.conv3(x))
        return self.head(x.mean((2, 3)))


class _Wrapper(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = _SharedRelu()

    def forward(self, x):
        return self.backbone(x)


def test_reused_activation_gives_every_call_and_wrappers_are_looked_into():
    model = _SharedRelu()
    assert feature_sites(model, X) == ["act", "act#1", "act#2"]
    _check_capture_keys(model, ["act", "act#1", "act#2"])
    assert feature_sites(_Wrapper(), X[None]) == [
        "backbone.act",
        "backbone.act#1",
        "backbone.act#2",
    ]


@pytest.mark.slow
def test_timm_efficientnet_lite0_gives_stem_blocks_stages_and_head():
    timm = pytest.importorskip("timm")
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    sites = feature_sites(model, X)
    assert sites[0] == "bn1" and sites[-1] == "bn2"
    stages = [f"blocks.{i}" for i in range(7)]
    assert [s for s in sites if s.count(".") == 1] == stages  # every stage output, in order
    blocks = [s for s in sites if s.count(".") == 2]
    assert blocks == ["blocks.1.0", "blocks.2.0", "blocks.3.0", "blocks.3.1", "blocks.4.0"] + [
        "blocks.4.1", "blocks.5.0", "blocks.5.1", "blocks.5.2",
    ]  # fmt: skip
    _check_capture_keys(model, sites)
