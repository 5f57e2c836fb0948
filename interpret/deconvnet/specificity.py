"""How image-specific a unit's top-k projections are: own crop against the others.

A projection is meant to show what *in this image* drove the unit. Mahendran & Vedaldi
(2016, "Salient deconvolutional networks", ECCV) showed that a deconvnet without
max-pooling switches is largely image-agnostic: the projections of a unit's top-9 are
nearly one picture, whatever the image. Guided backpropagation (Springenberg et al.
2015) adds the forward ReLU mask, which carries the image back into the projection.

:func:`image_specificity` measures that, per unit (channel) of a top-k figure: the edge
map of a crop is the Sobel gradient magnitude of its grey image (the mean over colour
channels); for projection ``i`` and crop ``j`` of the same unit, ``r[i, j]`` is the
Pearson correlation over pixels of the projection's magnitude ``sum_c |p_i[c]|`` with the
edge map of crop ``j``. The specificity is the mean over ``i`` of
``r[i, i] - mean_{j != i} r[i, j]``: how much better a projection matches its own image
than the other images of the same unit. Near 0: the projection could belong to any of
the images; up to 2 in principle.

Details: the pixels compared are those whose 3x3 Sobel neighbourhood lies inside the
window and inside the image for both crops (so padding never makes an edge); a
constant projection or edge map correlates 0 with anything; a unit with fewer than two
filled slots has specificity NaN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["edge_map", "image_specificity", "specificity_matrix"]

_SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def edge_map(crops: Tensor) -> Tensor:
    """Sobel gradient magnitude of the grey image of each crop.

    Parameters
    ----------
    crops:
        ``(..., C, h, w)`` images (any scale: correlations ignore it).

    Returns
    -------
    Tensor
        ``(..., h, w)`` float64 ``sqrt(gx^2 + gy^2)``, zero-padded at the window edge
        (those pixels are left out of every correlation).
    """
    grey = crops.detach().double().mean(-3)
    lead, (h, w) = grey.shape[:-2], grey.shape[-2:]
    flat = grey.reshape(-1, 1, h, w)
    kernel = torch.stack([_SOBEL, _SOBEL.T]).unsqueeze(1).to(flat)  # (2, 1, 3, 3)
    grad = F.conv2d(flat, kernel, padding=1)
    return grad.pow(2).sum(1).sqrt().reshape(*lead, h, w)


def _valid(inside: Tensor) -> Tensor:
    """Pixels whose 3x3 neighbourhood lies inside the window and the image."""
    outside = (~inside).double().reshape(-1, 1, *inside.shape[-2:])
    outside = F.max_pool2d(F.pad(outside, (1, 1, 1, 1), value=1.0), 3, stride=1)
    return (outside == 0).reshape(inside.shape)


def specificity_matrix(projections: Tensor, crops: Tensor, inside: Tensor | None = None) -> Tensor:
    """``r[..., i, j]``: Pearson correlation of projection ``i``'s magnitude with the edge
    map of crop ``j``, over the pixels valid for both.

    Parameters
    ----------
    projections, crops:
        ``(n, k, C, h, w)``: the top-k projections of ``n`` units and their image crops
        (same windows), as in :class:`~interpret.deconvnet.TopProjectionsResult`
        (``C`` may differ between the two).
    inside:
        ``(n, k, h, w)`` bool, window pixels inside the image (default all).

    Returns
    -------
    Tensor
        ``(n, k, k)`` float64.
    """
    same = projections.shape[:2] + projections.shape[3:] == crops.shape[:2] + crops.shape[3:]
    if projections.ndim != 5 or crops.ndim != 5 or not same:
        raise ValueError(
            "projections and crops must both be (n, k, C, h, w) with the same n, k, h, w; "
            f"got {tuple(projections.shape)} and {tuple(crops.shape)}."
        )
    n, k, _, h, w = projections.shape
    if inside is None:
        inside = torch.ones(n, k, h, w, dtype=torch.bool)
    if tuple(inside.shape) != (n, k, h, w):
        got = tuple(inside.shape)
        raise ValueError(f"inside must be (n, k, h, w) = {(n, k, h, w)}; got {got}.")
    valid = _valid(inside.bool()).double().flatten(2)  # (n, k, P)
    mag = projections.detach().double().abs().sum(2).flatten(2)
    edges = edge_map(crops).flatten(2)
    # scale each map to max 1 (Pearson ignores it; it keeps the sums well conditioned)
    mag = mag / mag.abs().amax(-1, keepdim=True).clamp_min(1e-300)
    edges = edges / edges.abs().amax(-1, keepdim=True).clamp_min(1e-300)
    vm, ve = valid * mag, valid * edges
    vt = valid.transpose(1, 2)
    count = valid @ vt  # (n, k, k): pixels valid for both i and j
    s_m, s_e = vm @ vt, valid @ ve.transpose(1, 2)
    s_mm, s_ee = (vm * mag) @ vt, valid @ (ve * edges).transpose(1, 2)
    s_me = vm @ ve.transpose(1, 2)
    safe = count.clamp_min(1)
    cov = s_me / safe - s_m * s_e / safe**2
    var_m = (s_mm / safe - (s_m / safe) ** 2).clamp_min(0)
    var_e = (s_ee / safe - (s_e / safe) ** 2).clamp_min(0)
    denom = (var_m * var_e).sqrt()
    flat = (denom <= 1e-12) | (count < 2)
    return torch.where(flat, torch.zeros_like(cov), cov / denom.clamp_min(1e-300))


def image_specificity(
    projections: Tensor,
    crops: Tensor,
    inside: Tensor | None = None,
    filled: Tensor | None = None,
) -> Tensor:
    """Per unit: mean over its top-k of (own-crop correlation - mean other-crop correlation).

    See the module docstring for the definition. ``projections``, ``crops`` and
    ``inside`` are laid out as in :class:`~interpret.deconvnet.TopProjectionsResult`
    (``projections``, ``patches``, ``inside``); ``filled`` is ``(n, k)`` bool, the slots
    that hold a unit (default all; a result's ``index >= 0``).

    Returns
    -------
    Tensor
        ``(n,)`` float64; NaN for a unit with fewer than two filled slots. Average them
        (``nanmean``) for one number per site.

    Example
    -------
    >>> import torch
    >>> crops = torch.rand(2, 9, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    >>> own_edges = edge_map(crops)[:, :, None]  # (2, 9, 1, 16, 16)
    >>> image_specificity(own_edges, crops).gt(0.9).tolist()  # each shows its own image
    [True, True]
    >>> same_picture = own_edges[:, :1].expand_as(own_edges)  # one picture for all nine
    >>> image_specificity(same_picture, crops).abs().lt(0.2).tolist()
    [True, True]
    """
    r = specificity_matrix(projections, crops, inside)
    n, k = r.shape[:2]
    used = torch.ones(n, k, dtype=torch.bool) if filled is None else filled.bool().reshape(n, k)
    pair = used[:, :, None] & used[:, None, :]
    eye = torch.eye(k, dtype=torch.bool).expand(n, k, k)
    others = pair & ~eye
    n_others = others.sum(-1)  # (n, k)
    mean_others = (r * others).sum(-1) / n_others.clamp_min(1)
    own = r.diagonal(dim1=1, dim2=2)
    gap = torch.where(used & (n_others > 0), own - mean_others, torch.zeros_like(own))
    rows = (used & (n_others > 0)).sum(-1)
    out = gap.sum(-1) / rows.clamp_min(1)
    return torch.where(rows > 0, out, torch.full_like(out, float("nan")))
