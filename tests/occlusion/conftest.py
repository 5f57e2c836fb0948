"""Fixtures for the occlusion tests: the bundled EfficientNet-Lite0 and real photos."""

from __future__ import annotations

import pytest
import torch
from torch import nn


def _lite0() -> nn.Module:
    try:
        from interpret.models import efficientnet_lite0
    except ImportError:
        from interpret.models.efficientnet import efficientnet_lite0
    return efficientnet_lite0(pretrained=True).eval()


@pytest.fixture(scope="session")
def lite0() -> nn.Module:
    """EfficientNet-Lite0 with its bundled ImageNet weights (inputs in [-1, 1])."""
    return _lite0()


@pytest.fixture(scope="session")
def chelsea() -> torch.Tensor:
    """``skimage.data.chelsea()`` resized (not cropped, so the background at the right
    stays in view) to 224x224 and scaled to [-1, 1]: ``(3, 224, 224)``."""
    import skimage.data

    from interpret.data import Preprocess

    pre = Preprocess(mean=(0.5,) * 3, std=(0.5,) * 3, size=224, interpolation="bicubic")
    return pre(skimage.data.chelsea())
