"""Pictures of the atlas: per-unit strips (top-k crops over their projections), per-site
thumbnail sprites and feature visualizations, encoded as WebP (PNG where Pillow lacks it).

Contrast of a projection, as in :mod:`interpret.deconvnet.plot`:
``0.5 + 0.5 * clip(p / s, -1, 1)`` with ``s`` the 99.5th percentile of ``|p|`` over that
projection (zero is mid-grey). Crops show the model's input, un-normalized; pixels of a
window outside the image are grey.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from interpret.deconvnet import TopProjectionsResult

__all__ = [
    "CELL",
    "FV_SIDE",
    "THUMB",
    "SPRITE_COLUMNS",
    "encode",
    "image_format",
    "patch_sprite",
    "sprite",
    "unit_strips",
    "visualization_picture",
]

CELL = 72
"""Side in pixels of one crop or projection on a unit page."""
THUMB = 48
"""Side in pixels of a unit's thumbnail on a site page."""
SPRITE_COLUMNS = 16
FV_SIDE = 128
"""Side in pixels of a feature visualization on a unit page."""


def image_format() -> str:
    """``"webp"`` when Pillow can write it, else ``"png"``."""
    from PIL import features

    return "webp" if features.check("webp") else "png"


def encode(array: np.ndarray, fmt: str) -> bytes:
    """``(H, W, 3)`` uint8 to WebP (quality 80) or PNG bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    image = Image.fromarray(array)
    if fmt == "webp":
        image.save(buffer, format="WEBP", quality=80, method=4)
    else:
        image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _to_uint8(x: Tensor) -> np.ndarray:
    """``(..., 3, H, W)`` in ``[0, 1]`` to ``(..., H, W, 3)`` uint8."""
    return (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8).movedim(-3, -1).contiguous().numpy()


def _resize(x: Tensor, side: int) -> Tensor:
    """``(N, C, h, w)`` to ``(N, 3, side, side)`` (antialiased; grey channels repeated)."""
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return F.interpolate(x.float(), size=(side, side), mode="bilinear", antialias=True,
                         align_corners=False)  # fmt: skip


def stretch_batch(p: Tensor, percentile: float = 99.5) -> Tensor:
    """Symmetric contrast stretch of each ``(C, H, W)`` map of ``(N, C, H, W)``, zero at 0.5."""
    flat = p.abs().flatten(1).double()
    scale = torch.quantile(flat, percentile / 100.0, dim=1) if flat.shape[1] else flat.sum(1)
    scale = torch.where(scale > 0, scale, flat.amax(1)).clamp_min(1e-30)
    return (0.5 + 0.5 * (p.double() / scale.view(-1, 1, 1, 1)).clamp(-1, 1)).float()


def unit_strips(proj: TopProjectionsResult, preprocess: Any, cell: int = CELL) -> np.ndarray:
    """``(C, 2 cell, k cell, 3)`` uint8: each unit's crops (top row) over their projections.

    Unfilled slots (fewer than ``k`` images) are white.
    """
    n, k = proj.image_index.shape
    filled = (proj.image_index >= 0).flatten()
    patches = proj.patches.flatten(0, 1).float()
    shown = preprocess.inverse(patches, clamp=True) if patches.shape[1] == len(preprocess.mean) \
        else patches.clamp(0, 1)  # fmt: skip
    inside = proj.inside.flatten(0, 1).unsqueeze(1)
    shown = torch.where(inside, shown, torch.full_like(shown, 0.5))
    projected = stretch_batch(proj.projections.flatten(0, 1).float())
    top, bottom = _resize(shown, cell), _resize(projected, cell)
    blank = ~filled.view(-1, 1, 1, 1)
    top = torch.where(blank, torch.ones_like(top), top)
    bottom = torch.where(blank, torch.ones_like(bottom), bottom)
    grid = torch.stack([top, bottom], 1).view(n, k, 2, 3, cell, cell)
    grid = grid.permute(0, 3, 2, 4, 1, 5).reshape(n, 3, 2 * cell, k * cell)
    return _to_uint8(grid)


def thumbnails(strips: np.ndarray, fv: dict[int, Tensor], thumb: int = THUMB) -> Tensor:
    """``(C, 3, thumb, thumb)``: each unit's strongest crop, or its feature visualization."""
    first = torch.from_numpy(strips[:, : strips.shape[1] // 2, : strips.shape[1] // 2])
    images = first.movedim(-1, 1).float() / 255.0
    small = _resize(images, thumb)
    for unit, image in fv.items():
        small[unit] = _resize(image[None], thumb)[0]
    return small


def sprite(thumbs: Tensor, columns: int = SPRITE_COLUMNS) -> np.ndarray:
    """Tile ``(C, 3, t, t)`` thumbnails row-major into one ``(rows t, columns t, 3)`` image."""
    c, _, t, _ = thumbs.shape
    rows = max(1, -(-c // columns))
    canvas = torch.ones((rows * columns, 3, t, t))
    canvas[:c] = thumbs
    grid = canvas.view(rows, columns, 3, t, t).permute(2, 0, 3, 1, 4).reshape(3, rows * t, -1)
    return _to_uint8(grid)


def write_image(path: Path, array: np.ndarray, fmt: str) -> str:
    """Encode and write ``array``; returns the file name."""
    path.write_bytes(encode(array, fmt))
    return path.name


def visualization_picture(image: Tensor, side: int = FV_SIDE) -> np.ndarray:
    """A feature visualization ``(C, H, W)`` in ``[0, 1]`` as ``(side, side, 3)`` uint8."""
    return _to_uint8(_resize(image[None], side)[0])


def patch_sprite(
    path: Path, fv: dict[int, Tensor], thumb: int = THUMB, columns: int = SPRITE_COLUMNS
) -> None:
    """Draw the feature visualizations ``unit -> (C, H, W)`` into the cells of a sprite file.

    The other cells are kept (decoded and encoded again, in the file's own format).
    """
    from PIL import Image

    with Image.open(path) as opened:
        canvas = np.array(opened.convert("RGB"))
    for unit, image in fv.items():
        row, col = divmod(int(unit), columns)
        if (row + 1) * thumb > canvas.shape[0] or (col + 1) * thumb > canvas.shape[1]:
            raise ValueError(f"Unit {unit} has no cell in the sprite {path}.")
        cell = _to_uint8(_resize(image[None], thumb)[0])
        canvas[row * thumb : (row + 1) * thumb, col * thumb : (col + 1) * thumb] = cell
    write_image(path, canvas, path.suffix.lstrip("."))
