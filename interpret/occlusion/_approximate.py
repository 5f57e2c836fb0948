"""Krypton's adaptive drill-down (Nakandala et al., SIGMOD 2019, Sec. 4.2): a coarse pass
over every other row and column of the occluder grid, then the fine positions where the
coarse values around them disagree most; the rest are interpolated from the coarse map.

Used by the approximate sweep (:mod:`interpret.occlusion._sweep`). Each image's coarse
map is read back to the host once (to pick where to drill), not once per batch.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["coarse_axis", "coarse_positions", "disagreement", "drill_positions", "interpolate"]


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


def disagreement(values: Tensor, grid: tuple[int, int]) -> Tensor:
    """Per position of a map ``(Ph * Pw,)`` known on the coarse grid: the range (max - min)
    of the coarse values its interpolation reads (the four bracketing coarse positions);
    zero on the coarse grid itself. Where they disagree, interpolation is least reliable."""
    (r_lo, r_hi, _), (c_lo, c_hi, _) = _bracket(grid[0]), _bracket(grid[1])
    full = values.double().cpu().view(grid)
    corners = torch.stack(
        [full[r_lo][:, c_lo], full[r_lo][:, c_hi], full[r_hi][:, c_lo], full[r_hi][:, c_hi]]
    )
    return (corners.amax(0) - corners.amin(0)).reshape(-1)


def drill_positions(values: Tensor, grid: tuple[int, int], fraction: float) -> Tensor:
    """The fine positions to compute after the coarse pass: the ``fraction`` of the
    positions off the coarse grid where the coarse values around them disagree most
    (:func:`disagreement` of the map ``values (Ph * Pw,)``, e.g. the target probability);
    returns indices ``(Q,)``.

    Ranking by disagreement rather than by the size of the change puts the exact
    evaluations where interpolation would err: on the 11 sample photos (bundled
    EfficientNet-Lite0, 224 px, occluder 16 / stride 8, fraction 0.25) the map's SSIM
    against the exact one is 0.856 (worst 0.702), against 0.839 (0.652) by change."""
    off = torch.ones(grid[0] * grid[1], dtype=torch.bool)
    off[coarse_positions(grid)] = False
    candidates = off.nonzero().view(-1)
    count = int(round(fraction * len(candidates)))
    if count == 0:
        return candidates[:0]
    score = disagreement(values, grid)[candidates]
    return candidates[score.topk(count).indices].sort().values
