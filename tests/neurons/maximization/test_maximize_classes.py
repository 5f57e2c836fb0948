"""Class visualizations on the bundled EfficientNet-Lite0 that the model itself puts in
its top 5 for those classes, with both presets."""

from __future__ import annotations

import pytest
import torch

from interpret.models.efficientnet import efficientnet_lite0
from interpret.neurons.maximization.objectives import class_logit
from interpret.neurons.maximization.presets import preset
from interpret.neurons.maximization.run import maximize

pytestmark = pytest.mark.slow
LITE0 = ((0.5,) * 3, (0.5,) * 3)
CLASSES = {417: "balloon", 963: "pizza", 980: "volcano"}


@pytest.fixture(scope="module")
def lite0() -> torch.nn.Module:
    return efficientnet_lite0(pretrained=True)


def top5(net: torch.nn.Module, images: torch.Tensor) -> list[list[int]]:
    with torch.no_grad():
        return net((images - 0.5) / 0.5).topk(5, dim=1).indices.tolist()


def test_lucid_class_visualizations_are_classified_as_their_classes(lite0):
    classes = list(CLASSES)
    result = maximize(
        lite0, class_logit(classes), normalize=LITE0, config=preset("lucid", size=96, steps=48)
    )
    assert result.labels == [f"class {c}" for c in classes]
    for c, top in zip(classes, top5(lite0, result.images)):
        assert c in top, (CLASSES[c], top)
    # the logit rose from its random start by far
    assert bool((result.final > result.curve[0] + 20).all())


def test_deepvis_class_visualization_is_classified_as_its_class(lite0):
    config = preset("deepvis", size=96, steps=80)
    result = maximize(lite0, class_logit([417, 963]), normalize=LITE0, config=config)
    for c, top in zip([417, 963], top5(lite0, result.images)):
        assert c in top, (CLASSES[c], top)
    # Yosinski's clipping keeps pixels valid; decay and blur keep them close to grey
    assert float(result.images.min()) >= 0 and float(result.images.max()) <= 1
