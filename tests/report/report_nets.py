"""A user's own model, as a researcher would give it: ``user_models:small_cnn``."""

from __future__ import annotations

from torch import nn


def small_cnn(num_classes: int = 3) -> nn.Module:
    """A small max-pooled chain CNN (conv-relu-pool x3, global average, linear)."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
        nn.Conv2d(32, 48, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(48, num_classes),
    )
