"""Small helpers shared by the report sections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "GUIDED_WHY",
    "ROUTE_WHY",
    "choose_channels",
    "display_inverse",
    "has_max_pooling",
    "stack_items",
]

ROUTE_WHY = {
    "reverse": "the path to the site is a chain, so the deconvnet walks it layer by layer "
    "(Zeiler & Fergus), unpooling through the max-pooling switches recorded for each image",
    "gradient": "the path to the site is not a chain (branches, residual additions or "
    "functional ops), so the projection takes the gradient route: autograd with rectified "
    "backward signals, which unpools through the switches of every max pool on the way "
    "just the same",
}
"""Why a deconvnet projection took its route, for figure captions."""

GUIDED_WHY = (
    "without max pooling the deconvnet has no switches to carry the image and draws nearly "
    "the same pattern for every image (Mahendran & Vedaldi 2016), so the projection is "
    "guided backpropagation, which also applies each forward ReLU's mask (Springenberg et "
    "al. 2015)"
)
"""Why a projection of a network without max pooling is guided backpropagation."""


def has_max_pooling(model: nn.Module) -> bool:
    """Whether any max-pooling module (the deconvnet's switches) is in ``model``."""
    pools = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AdaptiveMaxPool2d)
    return any(isinstance(m, pools) for m in model.modules())


def display_inverse(preprocess: Any):
    """A callable ``(C, H, W) -> [0, 1]`` for drawing the model inputs of ``preprocess``."""

    def inverse(x: Tensor) -> Tensor:
        return preprocess.inverse(x.float(), clamp=True)

    return inverse


def stack_items(dataset: Any, indices: Sequence[int]) -> Tensor:
    """Images ``(N, C, H, W)`` of dataset items ``indices``."""
    return torch.stack([dataset[int(i)][0] for i in indices])


def choose_channels(top_values: Tensor, count: int, generator: torch.Generator) -> list[int]:
    """``count`` channels picked at random among those whose strongest value is positive.

    ``top_values`` is ``(C, k)`` (descending per row). The paper shows "a random subset of
    feature maps"; channels that never fire on the data would show nothing.
    """
    alive = (top_values[:, 0] > 0).nonzero().flatten()
    if len(alive) == 0:
        alive = torch.arange(top_values.shape[0])
    order = torch.randperm(len(alive), generator=generator)[:count]
    return sorted(alive[order].tolist())
