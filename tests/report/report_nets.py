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


def capped_cnn(num_classes: int = 3) -> nn.Module:
    """A chain CNN without max pooling whose last ReLU6 saturates: its batch norm scales by
    8, so the strongest unit of every map sits at the cap (6) on ordinary images."""
    import torch

    generator = torch.Generator().manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.ReLU6(),
        nn.Conv2d(8, 12, 3, stride=2, padding=1),
        nn.BatchNorm2d(12),
        nn.ReLU6(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(12, num_classes),
    )
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.3)
        model[3].weight.fill_(8.0)
        model[3].bias.zero_()
    return model.eval()
