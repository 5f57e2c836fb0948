"""Incremental (Krypton-style) sweeps equal full recomputation on VGG-, ResNet- and
EfficientNet-style models and on awkward models; what is done incrementally is exact."""

from __future__ import annotations

import pytest
import timm
import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn

from interpret.core import hook_count
from interpret.occlusion import IncrementalPlan, Occluder, occlusion_sensitivity
from interpret.occlusion._trace import trace_calls
from interpret.testing import awkward_zoo, chain_cnn, seeded


def relative(a: Tensor, b: Tensor) -> float:
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


def assert_same(model: nn.Module, images: Tensor, occ: Occluder, **kwargs) -> tuple:
    full = occlusion_sensitivity(model, images, occ, keep_logits=True, **kwargs)
    inc = occlusion_sensitivity(model, images, occ, keep_logits=True, incremental=True, **kwargs)
    assert relative(inc.logits, full.logits) < 1e-4
    if full.feature_total is not None:
        assert relative(inc.feature_total, full.feature_total) < 1e-4
    assert torch.equal(inc.target, full.target)
    return full, inc


@pytest.mark.parametrize(
    ("build", "size"),
    [
        (lambda: torchvision.models.vgg11(weights=None), 40),
        (lambda: torchvision.models.resnet18(weights=None), 64),
        (lambda: timm.create_model("tf_efficientnet_lite0", pretrained=False), 64),
    ],
    ids=["vgg11", "resnet18", "efficientnet_lite0"],
)
def test_incremental_equals_full_on_real_architectures(build, size) -> None:
    torch.manual_seed(0)  # torchvision/timm initialise from the global generator
    model = build().eval()
    images = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    _, inc = assert_same(model, images, Occluder(12, 8, padding="cover"), batch_size=16)
    assert len(inc.incremental_sites) >= 4


def test_residual_bottleneck_and_downsample_units() -> None:
    torch.manual_seed(0)
    model = torchvision.models.resnet50(weights=None).eval()
    model.layer3, model.layer4 = nn.Identity(), nn.Identity()
    model.fc = nn.Linear(512, 10)
    images = torch.randn(1, 3, 64, 48, generator=torch.Generator().manual_seed(2))
    _, inc = assert_same(model, images, Occluder(8, 8), site="layer2.0", batch_size=32)
    assert "layer1.0" in inc.incremental_sites  # Bottleneck with a downsample shortcut


def test_pooling_variants_and_site_inside_the_chain() -> None:
    model = seeded(
        nn.Sequential(
            nn.Conv2d(3, 5, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, padding=1, ceil_mode=True),
            nn.Conv2d(5, 6, 3, stride=2, padding="valid", dilation=2),
            nn.BatchNorm2d(6),
            nn.Hardswish(),
            nn.AvgPool2d(2, 2, padding=1),
            nn.Conv2d(6, 7, 3, padding="same"),
            nn.LeakyReLU(0.1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(7, 4),
        ),  # fmt: skip
        4,
    )
    model[4].running_var.abs_()  # a valid variance after seeding
    images = torch.randn(2, 3, 29, 26, generator=torch.Generator().manual_seed(3))
    for site in ("2", "5", "8"):
        _, inc = assert_same(model, images, Occluder(5, 3), site=site, batch_size=9)
        assert inc.incremental_sites[0] == "0"


def test_everything_incremental_up_to_global_pooling() -> None:
    model = chain_cnn(seed=2)
    images = torch.randn(1, 3, 40, 44, generator=torch.Generator().manual_seed(0))
    _, inc = assert_same(model, images, Occluder(4, 4), batch_size=50)
    names = list(inc.incremental_sites)
    # the chain stops at the first layer it cannot do locally (AdaptiveAvgPool2d), or earlier
    # once the changed box exceeds half a map
    assert names == [f"features.{i}" for i in range(len(names))]
    plan = IncrementalPlan(model, trace_calls(model, images, log_ops=True))
    assert plan.names == [f"features.{i}" for i in range(9)]


@pytest.mark.parametrize("name", sorted(awkward_zoo()))
def test_awkward_zoo_incremental_equals_full(name: str) -> None:
    entry = awkward_zoo()[name]
    model = entry.build()
    images = torch.randn(2, *entry.input_shape, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        out = model(images)
    output = "logits" if isinstance(out, dict) else None
    if isinstance(out, Tensor) and out.ndim == 4:  # feature maps: pool them into logits
        model = nn.Sequential(model, nn.AdaptiveMaxPool2d(1), nn.Flatten())
    _, inc = assert_same(model, images, Occluder(3, 2), output=output, site=None)
    assert inc.incremental_sites  # every zoo model starts with a chain of local layers


class _Escape(nn.Module):
    """conv1's output is read again after the chain by a functional op."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)
        seeded(self, 8)

    def forward(self, x: Tensor) -> Tensor:
        a = self.conv1(x)
        b = self.conv2(self.relu(a))
        return self.fc((b + a.mean(dim=(2, 3), keepdim=True)).mean(dim=(2, 3)))


def test_an_output_read_elsewhere_ends_the_stubbed_chain() -> None:
    model = _Escape()
    images = torch.randn(1, 3, 20, 20, generator=torch.Generator().manual_seed(6))
    plan = IncrementalPlan(model, trace_calls(model, images, log_ops=True))
    assert plan.names == ["conv1", "relu", "conv2"]
    assert [s.escapes for s in plan.stages] == [True, False, True]  # a.mean(), b + ...
    _, inc = assert_same(model, images, Occluder(4, 2), site=None)
    assert inc.incremental_sites == ("conv1",)


class _Preprocessing(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = chain_cnn()

    def forward(self, x: Tensor) -> Tensor:
        return self.body(F.avg_pool2d(x * 2 - 1, 1))


def test_functional_preprocessing_goes_through_the_graph_plan() -> None:
    model = _Preprocessing()
    images = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    plan = IncrementalPlan(model, trace_calls(model, images, log_ops=True))
    assert plan.names == []  # no chain: the functional ops come first
    _, inc = assert_same(model, images, Occluder(4, 4))
    assert "body.features.0" in inc.incremental_sites  # the torch.fx graph plan


def test_site_inside_a_residual_unit_is_left_to_the_model() -> None:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    images = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    _, inc = assert_same(model, images, Occluder(16, 8), site="layer1.1.conv1", batch_size=64)
    assert "layer1.1" not in inc.incremental_sites
    assert hook_count(model) == 0
    assert all("forward" not in m.__dict__ for m in model.modules())


def test_layers_with_user_hooks_run_for_real() -> None:
    model = chain_cnn(seed=1)
    seen: list[Tensor] = []
    handle = model.features[3].register_forward_hook(lambda m, i, o: seen.append(o.clone()))
    try:
        images = torch.randn(1, 3, 24, 24, generator=torch.Generator().manual_seed(1))
        full, inc = assert_same(model, images, Occluder(4, 4), batch_size=36)
        assert inc.incremental_sites == ("features.0", "features.1", "features.2")
        # the hook saw the same real activations in both sweeps: the probing pass, the
        # clean pass and one batch of the 36 occluded copies
        half = len(seen) // 2
        assert [len(t) for t in seen[:half]] == [1, 1, 36]
        torch.testing.assert_close(
            torch.cat(seen[:half]), torch.cat(seen[half:]), rtol=1e-4, atol=1e-5
        )
    finally:
        handle.remove()
