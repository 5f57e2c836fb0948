"""Capture against torchvision's own feature extraction (an independent method)."""

import pytest
import torch
import torchvision
from torchvision.models.feature_extraction import create_feature_extractor

from interpret.core import capture

CASES = {
    "alexnet": (
        torchvision.models.alexnet,
        ["features.1", "features.5", "features.12", "classifier.5"],
    ),
    "vgg11": (
        torchvision.models.vgg11,
        ["features.1", "features.10", "features.20", "classifier.4"],
    ),
    "resnet18": (
        torchvision.models.resnet18,
        ["conv1", "layer1.0.conv2", "layer2.1", "layer4", "avgpool", "fc"],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_capture_equals_create_feature_extractor(name):
    build, sites = CASES[name]
    torch.manual_seed(0)  # random init only; no weights are downloaded
    model = build(weights=None).eval().double()
    x = torch.randn(2, 3, 96, 80, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    if name != "resnet18":
        x = torch.randn(
            1, 3, 224, 224, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
        )
    extractor = create_feature_extractor(model, return_nodes=sites)
    with torch.no_grad():
        expected = extractor(x)
        with capture(model, sites) as acts:
            model(x)
    for site in sites:
        torch.testing.assert_close(acts[site], expected[site], rtol=1e-10, atol=1e-12)


def test_site_before_inplace_relu_differs_from_torchvision_as_documented():
    """AlexNet's conv1 is followed by ReLU(inplace=True). torchvision's extractor returns
    the tensor the ReLU later overwrote; capture clones, so it keeps the pre-ReLU values."""
    torch.manual_seed(0)
    model = torchvision.models.alexnet(weights=None).eval().double()
    x = torch.randn(1, 3, 224, 224, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    extractor = create_feature_extractor(model, return_nodes=["features.0", "features.5"])
    with torch.no_grad():
        theirs = extractor(x)["features.0"]
        with capture(model, "features.0") as acts:
            model(x)
        direct = model.features[0](x)
    torch.testing.assert_close(acts["features.0"], direct)
    assert (direct < 0).any()
    torch.testing.assert_close(theirs, direct.clamp(min=0))
