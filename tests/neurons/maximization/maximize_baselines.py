"""Baselines for activation-maximization tests: real photos, and "far above" them."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from interpret.data import sample_photos

PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "china", "flower")


def photos(size: int) -> torch.Tensor:
    """Six real photos (skimage, sklearn) as ``(6, 3, size, size)`` in ``[0, 1]``."""
    out = []
    for _, array in sample_photos(PHOTOS):
        x = torch.from_numpy(array).permute(2, 0, 1).float()[None] / 255
        out.append(F.interpolate(x, size=(size, size), mode="bilinear", antialias=True))
    return torch.cat(out)


def assert_far_above(value: float, baseline: torch.Tensor, what: str) -> None:
    """Beats the best baseline by more than twice the distance from the typical (median)
    baseline to the best one."""
    best, typical = float(baseline.max()), float(baseline.median())
    assert value - best > 2 * (best - typical) and value > best, (what, value, baseline.tolist())
