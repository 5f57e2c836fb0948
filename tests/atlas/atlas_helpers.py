"""Constants, model factories and the browser helpers shared by the atlas tests."""

from __future__ import annotations

from chromium import CHROMIUM_FLAGS, find_chromium  # tests/chromium.py, shared
from torch import Tensor, nn

__all__ = [
    "CHROMIUM_FLAGS",
    "CLASSES",
    "FORWARDS",
    "SITES",
    "counted_chain_cnn",
    "find_chromium",
    "wide_chain_cnn",
    "wide_residual_cnn",
]

SITES = ["features.1", "features.4", "features.7"]
CLASSES = ("cat", "coffee", "rocket")

FORWARDS: list[Tensor] = []
"""The input of every forward of the models :func:`counted_chain_cnn` made (this process)."""


def counted_chain_cnn() -> nn.Module:
    """``chain_cnn()`` (same weights) recording each forward's input in :data:`FORWARDS`."""
    from interpret.testing import chain_cnn

    model = chain_cnn()
    # a pre-hook: it also sees calls that stop early at a site (maximization does)
    model.register_forward_pre_hook(lambda module, args: FORWARDS.append(args[0].detach().clone()))
    return model


def wide_chain_cnn() -> nn.Module:
    """A chain CNN with the sites of ``chain_cnn()`` but 12 units in ``features.4``, not 8."""
    from interpret.testing import chain_cnn

    return chain_cnn(channels=(3, 6, 12, 10))


class _WideResidual(nn.Module):
    """stem (stride 4) -> residual block -> ``expand``: 1x1 conv to 96 units -> ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 4, stride=4)
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.relu = nn.ReLU()
        self.expand = nn.Sequential(nn.Conv2d(8, 96, 1), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(96, 3))

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        x = self.relu(x + self.conv(x))  # the residual add: projections take the gradient route
        return self.head(self.expand(x))


def wide_residual_cnn() -> nn.Module:
    """96 cheap units behind a residual add (gradient-route projections at full input size)."""
    from interpret.testing import seeded

    return seeded(_WideResidual(), 0)
