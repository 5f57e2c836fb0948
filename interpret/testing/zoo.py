"""Small, deterministic models with the awkward features real models have.

Shipped (not only used by our tests) so that users can check their own analyzers
against the same corner cases. Every model is built from a ``torch.Generator`` seed;
``awkward_zoo()`` lists them with an input shape that suits each.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "ZooEntry",
    "awkward_zoo",
    "chain_cnn",
    "InplaceReluNet",
    "ReusedReluNet",
    "ResidualNet",
    "BranchNet",
    "DictOutputNet",
    "TupleBlockNet",
    "FunctionalReluNet",
    "seeded",
]


def seeded(model: nn.Module, seed: int = 0) -> nn.Module:
    """Re-initialise every parameter from a fixed generator (normal, std 0.3), eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * 0.3)
    return model.eval()


def chain_cnn(
    channels: tuple[int, ...] = (3, 6, 8, 10),
    num_classes: int = 5,
    pool: tuple[int, int] = (3, 2),
    seed: int = 0,
) -> nn.Sequential:
    """A chain CNN: [conv3x3 -> ReLU -> maxpool(k, s)] per stage, then a linear head.

    With the default ``pool=(3, 2)`` the pooling windows overlap (as in AlexNet and
    ZFNet). Module names: ``features.{i}``, ``classifier.{i}``.
    """
    layers: list[nn.Module] = []
    for cin, cout in zip(channels[:-1], channels[1:]):
        layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.MaxPool2d(*pool)]
    features = nn.Sequential(*layers)
    head = nn.Sequential(
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels[-1], num_classes)
    )
    model = nn.Sequential(OrderedDict(features=features, classifier=head))
    return seeded(model, seed)  # type: ignore[return-value]


class InplaceReluNet(nn.Module):
    """conv -> in-place ReLU -> conv: the first conv's output is overwritten in place."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        seeded(self, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv2(self.relu(self.conv1(x)))


class ReusedReluNet(nn.Module):
    """One ReLU module called at two places: capture gives ``relu`` and ``relu#1``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.relu = nn.ReLU()
        seeded(self, 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.conv2(self.relu(self.conv1(x))))


class ResidualNet(nn.Module):
    """A residual block: ``relu(x + conv(relu(conv(x))))`` with module ReLUs."""

    def __init__(self, channels: int = 4) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, 3)
        seeded(self, 3)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        x = self.relu2(x + self.conv2(self.relu1(self.conv1(x))))
        return self.fc(self.pool(x).flatten(1))


class BranchNet(nn.Module):
    """Two parallel branches concatenated along channels (Inception-like)."""

    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.ReLU())
        self.right = nn.Sequential(nn.Conv2d(3, 2, 5, padding=2), nn.ReLU())
        self.merge = nn.Conv2d(5, 4, 1)
        seeded(self, 4)

    def forward(self, x: Tensor) -> Tensor:
        return self.merge(torch.cat([self.left(x), self.right(x)], dim=1))


class DictOutputNet(nn.Module):
    """Returns ``{"logits": ..., "embedding": ...}`` like detection/multi-head models."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(4, 3)
        seeded(self, 5)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        embedding = self.pool(self.body(x)).flatten(1)
        return {"logits": self.head(embedding), "embedding": embedding}


class _PairBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        y = self.conv(x)
        return y, y.mean(dim=(2, 3))


class TupleBlockNet(nn.Module):
    """A submodule (``block``) returns a tuple: capture it as ``"block:0"``/``"block:1"``."""

    def __init__(self) -> None:
        super().__init__()
        self.block = _PairBlock()
        self.fc = nn.Linear(4, 3)
        seeded(self, 6)

    def forward(self, x: Tensor) -> Tensor:
        maps, pooled = self.block(x)
        return self.fc(pooled + maps.amax(dim=(2, 3)))


class FunctionalReluNet(nn.Module):
    """Uses ``F.relu``: invisible to module hooks, so rectifying methods must notice."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        seeded(self, 7)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv2(F.relu(self.conv1(x)))


@dataclass(frozen=True)
class ZooEntry:
    """A zoo model factory with an input shape ``(C, H, W)`` and a site worth capturing."""

    build: Callable[[], nn.Module]
    input_shape: tuple[int, int, int]
    site: str


def awkward_zoo() -> dict[str, ZooEntry]:
    """Every awkward model, by name. Shapes are deliberately non-square."""
    return {
        "inplace_relu": ZooEntry(InplaceReluNet, (3, 9, 13), "conv1"),
        "reused_relu": ZooEntry(ReusedReluNet, (3, 8, 11), "relu"),
        "residual": ZooEntry(ResidualNet, (3, 10, 7), "conv2"),
        "branches": ZooEntry(BranchNet, (3, 12, 9), "right.0"),
        "dict_output": ZooEntry(DictOutputNet, (3, 8, 10), "body.1"),
        "tuple_block": ZooEntry(TupleBlockNet, (3, 8, 10), "block:0"),
        "functional_relu": ZooEntry(FunctionalReluNet, (3, 9, 9), "conv1"),
        "overlapping_pools": ZooEntry(chain_cnn, (3, 23, 31), "features.3"),
    }
