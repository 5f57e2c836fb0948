"""Projections of a site's top-k, drawn into uint8 strips a chunk of units at a time.

:func:`~interpret.deconvnet.project_top` holds, for every projected unit, ``k`` float
projections and patches; on the gradient route it first makes them at the full input size
(``(C k, 3, H, W)``: 0.4 GB for the 80 units of EfficientNet-Lite0's ``blocks.3`` at 224
px, several copies of it on the way). The atlas needs only the pictures, so
:func:`project_site` projects ``chunk`` units at a time (by default as many as fit
:data:`CHUNK_BYTES` of full-size projections), draws them at once into the unit strips
(:func:`~interpret.atlas.images.unit_strips`, uint8) and lets the floats go: the build's
peak memory no longer grows with the units of a site, and the time stays the same (the
projections cost the same per unit; each chunk reads its own top images again).

On the gradient route the window of each chunk is the largest support box of its own
projections (``window="support"``), so units of different chunks may show crops of
different sizes; every unit's ``k`` crops share one window. The receptive fields of the
reverse route do not depend on the chunks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from interpret.atlas.images import CELL, unit_strips
from interpret.deconvnet import TopActivationsResult, project_top

__all__ = ["CHUNK_BYTES", "PROJECTION_PIXELS", "SiteProjections", "chunk_units", "project_site"]

CHUNK_BYTES = 2**26
"""Full-size float32 projections per chunk (64 MiB: 12 units of 9 at 3 x 224 x 224;
:func:`~interpret.deconvnet.project_top` peaks at about 4 times that). On
EfficientNet-Lite0's ``blocks.3`` chunks of 12 units project as fast as all 80 at once
(chunks of 6 take 10% longer)."""
PROJECTION_PIXELS = 8 * 224 * 224
"""Input pixels per backward pass: at most ``PROJECTION_PIXELS // (H W)`` projections
(8 at 224 px, 32 at 96 px; the gradient route keeps the graph of that many images: 32
EfficientNet-Lite0 images at 224 px up to ``blocks.3`` hold 1.5 GB, 8 a quarter of that,
in less time per projection)."""


@dataclass(frozen=True)
class SiteProjections:
    """The pictures and windows of one site's projections.

    Attributes
    ----------
    strips:
        ``(C, 2 cell, k cell, 3)`` uint8 (:func:`~interpret.atlas.images.unit_strips`).
    boxes:
        ``(C, k, 4)`` int64 windows ``(top, left, bottom, right)`` in input pixels.
    route, window:
        ``"reverse"`` or ``"gradient"``; ``"receptive"`` or ``"support"``.
    drawing_s:
        CPU seconds (this process) spent drawing the strips, within the projections' time.
    """

    strips: np.ndarray
    boxes: Tensor
    route: str
    window: str
    drawing_s: float = 0.0


def chunk_units(top: TopActivationsResult, input_shape: tuple[int, ...], budget: int) -> int:
    """Units per chunk: ``k`` full-size float32 projections of each fit ``budget`` bytes."""
    per_unit = top.values.shape[1] * int(np.prod(input_shape)) * 4
    return max(1, budget // max(per_unit, 1))


def project_site(
    model: nn.Module,
    dataset: Dataset,
    top: TopActivationsResult,
    preprocess: Any,
    *,
    input_shape: tuple[int, ...],
    batch_size: int = 32,
    chunk: int | None = None,
    cell: int = CELL,
) -> SiteProjections:
    """Project every unit of ``top`` (a chunk at a time) and draw its strip.

    Parameters
    ----------
    model, dataset, top:
        As for :func:`~interpret.deconvnet.project_top` (the scanned model and Dataset).
    preprocess:
        The model's :class:`interpret.data.Preprocess` (crops are shown un-normalized).
    input_shape:
        ``(C, H, W)`` of one input image (sizes the default chunk).
    chunk:
        Units per :func:`~interpret.deconvnet.project_top` call (default:
        :func:`chunk_units` with :data:`CHUNK_BYTES`).
    """
    n = int(top.values.shape[0])
    size = chunk or chunk_units(top, input_shape, CHUNK_BYTES)
    pixels = int(np.prod(input_shape[-2:]))
    batch = max(1, min(batch_size, PROJECTION_PIXELS // max(pixels, 1)))
    strips, boxes, routes, windows, drawing = [], [], set(), set(), 0.0
    for start in range(0, n, size):
        channels = range(start, min(start + size, n))
        result = project_top(model, dataset, top, channels=channels, batch_size=batch)
        begin = time.process_time()
        strips.append(unit_strips(result, preprocess, cell))
        drawing += time.process_time() - begin
        boxes.append(result.boxes)
        routes.add(result.route)
        windows.add(result.window)
        del result  # the float projections and patches of this chunk
    if len(routes) != 1 or len(windows) != 1:
        raise RuntimeError(f"The chunks of {top.site} took different routes: {routes}.")
    return SiteProjections(np.concatenate(strips), torch.cat(boxes), routes.pop(), windows.pop(),
                           drawing)  # fmt: skip
