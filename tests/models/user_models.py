"""A model factory as a user writes it, named as ``user_models:small_cnn``."""

from __future__ import annotations

import torch
from torch import nn


def small_cnn(num_classes: int = 3, seed: int = 0) -> nn.Sequential:
    """conv-ReLU-maxpool twice, then a linear head; weights drawn from ``seed``."""
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, num_classes),
    )
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.2)
    return model


def not_a_model() -> str:
    return "a string"
