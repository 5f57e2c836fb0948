"""Krypton's adaptive drill-down (Nakandala et al., SIGMOD 2019, Sec. 4.2): a coarse pass
over every other row and column of the occluder grid, then the fine positions where the
coarse map changes most; the rest are interpolated from the coarse map.

Used by the approximate sweep (:mod:`interpret.occlusion._sweep`). Each image's coarse
map is read back to the host once (to pick where to drill), not once per batch.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["coarse_axis", "coarse_positions", "drill_positions", "interpolate"]


def coarse_axis(count: int) -> Tensor:
    """Every other index of an axis of ``count`` positions, and always the last."""
    picked = torch.arange(0, count, 2)
    if picked[-1] != count - 1:
        picked = torch.cat([picked, torch.tensor([count - 1])])
    return picked


def coarse_positions(grid: tuple[int, int]) -> Tensor:
    """Flattened (row-major) indices of the coarse grid ``(Pc,)``."""
    rows, cols = coarse_axis(grid[0]), coarse_axis(grid[1])
    return (rows[:, None] * grid[1] + cols[None, :]).reshape(-1)


def _bracket(count: int) -> tuple[Tensor, Tensor, Tensor]:
    """Per fine index: the coarse neighbours below/above (as fine indices) and the weight
    of the upper one."""
    coarse = coarse_axis(count)
    fine = torch.arange(count)
    upper = torch.searchsorted(coarse, fine).clamp(max=len(coarse) - 1)
    lower = (upper - (coarse[upper] > fine).long()).clamp(min=0)
    lo, hi = coarse[lower], coarse[upper]
    span = (hi - lo).clamp(min=1)
    return lo, hi, (fine - lo).double() / span


def interpolate(values: Tensor, grid: tuple[int, int]) -> Tensor:
    """Fill a map ``(Ph * Pw, ...)`` known on the coarse grid: bilinear for floating
    values, nearest coarse position for integers (labels). Returns a new tensor."""
    (r_lo, r_hi, r_w), (c_lo, c_hi, c_w) = _bracket(grid[0]), _bracket(grid[1])
    dev = values.device
    r_lo, r_hi, c_lo, c_hi = (t.to(dev) for t in (r_lo, r_hi, c_lo, c_hi))
    r_w, c_w = r_w.to(dev), c_w.to(dev)
    full = values.view(grid[0], grid[1], *values.shape[1:])
    if not values.is_floating_point():
        rows = torch.where(r_w >= 0.5, r_hi, r_lo)
        cols = torch.where(c_w >= 0.5, c_hi, c_lo)
        return full[rows][:, cols].reshape(values.shape).clone()
    extra = (1,) * (values.ndim - 1)
    rw = r_w.view(-1, 1, *extra).to(values.dtype)
    cw = c_w.view(1, -1, *extra).to(values.dtype)
    top = full[r_lo][:, c_lo] * (1 - cw) + full[r_lo][:, c_hi] * cw
    bottom = full[r_hi][:, c_lo] * (1 - cw) + full[r_hi][:, c_hi] * cw
    return (top * (1 - rw) + bottom * rw).reshape(values.shape)


def drill_positions(change: Tensor, grid: tuple[int, int], fraction: float) -> Tensor:
    """The fine positions to compute after the coarse pass: the ``fraction`` of the
    positions off the coarse grid where the interpolated ``change (Ph * Pw,)`` (the
    absolute change of the target probability) is largest; returns indices ``(Q,)``."""
    off = torch.ones(grid[0] * grid[1], dtype=torch.bool)
    off[coarse_positions(grid)] = False
    candidates = off.nonzero().view(-1)
    count = int(round(fraction * len(candidates)))
    if count == 0:
        return candidates[:0]
    score = change.double().cpu()[candidates]
    return candidates[score.topk(count).indices].sort().values
