"""Windows around units: exact receptive fields (chain CNNs) or projection support.

A window is ``(top, left, bottom, right)`` in input pixels, half-open and *not* clipped
to the image; all windows of one call have one size so crops stack into one tensor.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from interpret.core.receptive import receptive_field

__all__ = ["receptive_windows", "support_windows", "crop_windows"]


def receptive_windows(
    model: nn.Module,
    site: str,
    y: Tensor,
    x: Tensor,
    layers: Sequence[tuple[str, nn.Module]] | None = None,
) -> Tensor:
    """``(B, 4)`` int64: the exact receptive field of unit ``(y[b], x[b])`` of ``site``.

    Computed from the chain's kernels, strides, paddings and dilations
    (:func:`interpret.core.receptive.receptive_field`; ``layers`` is the chain if
    already resolved, e.g. a plan's); whole-map rows (``y = -1``) get the field of unit
    ``(0, 0)``.
    """
    field = receptive_field(model, site, layers)
    rows = [field.box(max(int(a), 0), max(int(b), 0)) for a, b in zip(y.tolist(), x.tolist())]
    return torch.tensor(rows, dtype=torch.int64).reshape(-1, 4)


def _interval(marginal: Tensor, trim: Tensor) -> tuple[Tensor, Tensor]:
    """Per row of ``marginal`` (B, L): [start, stop) leaving ``trim`` of the mass each side."""
    total = marginal.sum(-1, keepdim=True)
    after = marginal.cumsum(-1)  # mass up to and including each position
    before = after - marginal  # mass strictly before each position
    start = (after <= trim * total).sum(-1)
    stop = (before < (1 - trim) * total).sum(-1)
    return start, torch.maximum(stop, start + 1)


def support_windows(projections: Tensor, mass: float = 1.0) -> Tensor:
    """``(B, 4)`` int64 windows around the support of each projection.

    Per projection, the magnitude ``sum_c |p[c]|`` is summed over columns and over rows;
    its box keeps ``mass`` of each marginal, trimming ``(1 - mass) / 2`` from each end
    (``mass=1``: exactly the non-zero support). Every window gets the size of the largest
    box, centred on its own box. A projection that is zero everywhere gets a window of
    that size centred on the image (and does not enlarge the others).

    Parameters
    ----------
    projections:
        ``(B, C, H, W)``.
    mass:
        Fraction in ``(0, 1]`` of the projection's magnitude the box must hold (per axis).
    """
    if projections.ndim != 4:
        raise ValueError("projections must be (B, C, H, W).")
    if not 0.0 < mass <= 1.0:
        raise ValueError(f"mass must lie in (0, 1], got {mass}.")
    b, _, height, width = projections.shape
    magnitude = projections.detach().abs().sum(1).double()  # (B, H, W)
    trim = torch.tensor((1.0 - mass) / 2, dtype=torch.float64)
    top, bottom = _interval(magnitude.sum(2), trim)
    left, right = _interval(magnitude.sum(1), trim)
    boxes = torch.stack([top, left, bottom, right], 1).long()
    empty = magnitude.flatten(1).amax(1) == 0
    if bool(empty.all()):
        win_h, win_w = height, width
    else:
        win_h = int((boxes[~empty, 2] - boxes[~empty, 0]).max())
        win_w = int((boxes[~empty, 3] - boxes[~empty, 1]).max())
    # an empty projection: a window-size box at the image centre
    top0, left0 = (height - win_h) // 2, (width - win_w) // 2
    boxes[empty] = torch.tensor([top0, left0, top0 + win_h, left0 + win_w])
    top = boxes[:, 0] - (win_h - (boxes[:, 2] - boxes[:, 0])) // 2
    left = boxes[:, 1] - (win_w - (boxes[:, 3] - boxes[:, 1])) // 2
    return torch.stack([top, left, top + win_h, left + win_w], 1)


def crop_windows(images: Tensor, windows: Tensor) -> tuple[Tensor, Tensor]:
    """Crop ``(B, C, H, W)`` images to equal-size ``(B, 4)`` windows, zero-padding outside.

    Returns
    -------
    (crops, inside):
        ``(B, C, h, w)`` crops and ``(B, h, w)`` bool, true where the window pixel lies
        inside the image.
    """
    if len(images) != len(windows):
        raise ValueError("One window per image is needed.")
    if len(windows) == 0:
        return images[:, :, :0, :0], torch.zeros(0, 0, 0, dtype=torch.bool)
    sizes = torch.stack([windows[:, 2] - windows[:, 0], windows[:, 3] - windows[:, 1]], 1)
    if not bool((sizes == sizes[0]).all()):
        raise ValueError("All windows must have the same size.")
    height, width = images.shape[-2:]
    win_h, win_w = int(sizes[0, 0]), int(sizes[0, 1])
    pad_t = max(0, -int(windows[:, 0].min()))
    pad_l = max(0, -int(windows[:, 1].min()))
    pad_b = max(0, int(windows[:, 2].max()) - height)
    pad_r = max(0, int(windows[:, 3].max()) - width)
    padded = F.pad(images, (pad_l, pad_r, pad_t, pad_b))
    ones = torch.ones(1, 1, height, width, dtype=torch.bool)
    valid = F.pad(ones.float(), (pad_l, pad_r, pad_t, pad_b))[0, 0] > 0
    crops, inside = [], []
    for (top, left, _, _), img in zip(windows.tolist(), padded, strict=True):
        top, left = top + pad_t, left + pad_l
        crops.append(img[:, top : top + win_h, left : left + win_w])
        inside.append(valid[top : top + win_h, left : left + win_w])
    return torch.stack(crops), torch.stack(inside)
