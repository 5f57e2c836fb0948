"""Occluder geometry: window size, stride, fill, the grid of positions and pixel maps.

Padding policies (where the windows go):

``"cover"`` (default, Captum's ``Occlusion`` convention)
    Windows start at ``0, s, 2s, ...`` until the image is covered:
    ``ceil((H - k) / s) + 1`` rows; the last window is cut off at the border when the
    stride does not divide ``H - k``. Every pixel is covered.
``"valid"``
    Only windows that lie fully inside the image: ``floor((H - k) / s) + 1`` rows. The
    strip past the last window may stay uncovered.
``"same"``
    One window centred on each of ``0, s, 2s, ... < H`` (top ``i*s - k//2``), cut off at
    the borders: ``ceil(H / s)`` rows, like a padded convolution.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from interpret.occlusion.fills import Fill, FillSpec, resolve_fill

__all__ = [
    "Occluder",
    "Padding",
    "window_positions",
    "grid_boxes",
    "average_over_windows",
    "window_coverage",
]

Padding = Literal["cover", "valid", "same"]


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}.")
    if min(pair) <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}.")
    return pair  # type: ignore[return-value]


def window_positions(size: int, window: int, stride: int, padding: Padding) -> Tensor:
    """First index of every window along one axis, ``(P,)`` int64 (may be negative for
    ``"same"``); see the module docstring for the policies."""
    if window > size and padding != "same":
        raise ValueError(
            f"The occluder ({window}) is larger than the image ({size}); use a smaller "
            "occluder or padding='same'."
        )
    if padding == "cover":
        count = -(-(size - window) // stride) + 1
        return torch.arange(count, dtype=torch.int64) * stride
    if padding == "valid":
        return torch.arange((size - window) // stride + 1, dtype=torch.int64) * stride
    if padding == "same":
        return torch.arange(-(-size // stride), dtype=torch.int64) * stride - window // 2
    raise ValueError(f"padding must be 'cover', 'valid' or 'same', not {padding!r}.")


@dataclass(frozen=True, init=False)
class Occluder:
    """A square (or rectangular) occluder slid over the image.

    Parameters
    ----------
    window:
        Window ``(height, width)`` in input pixels, or one int for a square; stored as a
        pair, the name :class:`~interpret.occlusion.OcclusionResult` uses.
        ``size=`` is a deprecated alias (one release).
    stride:
        Step between positions, ``(sy, sx)`` or one int; stored as a pair. With
        ``padding="cover"`` it may not exceed the window (pixels would be skipped); use
        ``"valid"`` to allow gaps.
    fill:
        What the window is filled with (see :func:`interpret.occlusion.fills.resolve_fill`):
        ``"gray"`` (0 in input space), ``"mean"``, ``"blur"``, a number, per-channel numbers,
        a tensor or a :class:`~interpret.occlusion.fills.Fill`.
    padding:
        ``"cover"`` (Captum), ``"valid"`` or ``"same"``; see the module docstring.

    Example
    -------
    >>> occ = Occluder(window=16, stride=8)
    >>> occ.window, occ.stride
    ((16, 16), (8, 8))
    >>> tops, lefts = occ.grid(224, 224)
    >>> len(tops), len(lefts)
    (27, 27)
    """

    window: tuple[int, int]
    stride: tuple[int, int]
    fill: FillSpec = "gray"
    padding: Padding = "cover"
    _fill: Fill = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        window: int | tuple[int, int] | None = None,
        stride: int | tuple[int, int] | None = None,
        fill: FillSpec = "gray",
        padding: Padding = "cover",
        *,
        size: int | tuple[int, int] | None = None,
    ) -> None:
        if size is not None:
            warnings.warn(
                "Occluder(size=) is deprecated; use Occluder(window=), the name the result uses.",
                DeprecationWarning,
                stacklevel=2,
            )
            if window is not None:
                raise TypeError("Give the occluder's window once: window= (size= is its old name).")
            window = size
        if window is None or stride is None:
            raise TypeError("Occluder needs a window and a stride, e.g. Occluder(16, 8).")
        pair, step = _pair(window, "Occluder window"), _pair(stride, "Occluder stride")
        if padding not in ("cover", "valid", "same"):
            raise ValueError(f"padding must be 'cover', 'valid' or 'same', not {padding!r}.")
        if padding == "cover" and (step[0] > pair[0] or step[1] > pair[1]):
            raise ValueError(
                f"stride {step} exceeds the window {pair}: pixels between windows would "
                "never be occluded. Use a stride <= the window, or padding='valid'."
            )
        object.__setattr__(self, "window", pair)
        object.__setattr__(self, "stride", step)
        object.__setattr__(self, "fill", fill)
        object.__setattr__(self, "padding", padding)
        object.__setattr__(self, "_fill", resolve_fill(fill))

    @property
    def size(self) -> tuple[int, int]:
        """Deprecated alias of :attr:`window`."""
        warnings.warn(
            "Occluder.size is deprecated; use Occluder.window.", DeprecationWarning, stacklevel=2
        )
        return self.window

    @property
    def steps(self) -> tuple[int, int]:
        """Deprecated alias of :attr:`stride`."""
        warnings.warn(
            "Occluder.steps is deprecated; use Occluder.stride.", DeprecationWarning, stacklevel=2
        )
        return self.stride

    @property
    def filler(self) -> Fill:
        return self._fill

    def grid(self, height: int, width: int) -> tuple[Tensor, Tensor]:
        """``(tops (Ph,), lefts (Pw,))``: the first row / column of each window."""
        (kh, kw), (sh, sw) = self.window, self.stride
        return (
            window_positions(height, kh, sh, self.padding),
            window_positions(width, kw, sw, self.padding),
        )

    def boxes(self, height: int, width: int) -> Tensor:
        """``(Ph * Pw, 4)`` int64 ``(top, left, bottom, right)`` half-open, clipped to the
        image, in row-major position order."""
        tops, lefts = self.grid(height, width)
        return grid_boxes(tops, lefts, self.window, (height, width))

    def describe(self) -> str:
        return self._fill.describe()


def grid_boxes(
    tops: Tensor, lefts: Tensor, window: tuple[int, int], image_hw: tuple[int, int]
) -> Tensor:
    """``(Ph * Pw, 4)`` clipped half-open boxes of a position grid, row-major."""
    rows = torch.stack([tops.clamp(min=0), (tops + window[0]).clamp(max=image_hw[0])], 1)
    cols = torch.stack([lefts.clamp(min=0), (lefts + window[1]).clamp(max=image_hw[1])], 1)
    r = rows[:, None, :].expand(-1, len(lefts), -1)
    c = cols[None, :, :].expand(len(tops), -1, -1)
    return torch.stack([r[..., 0], c[..., 0], r[..., 1], c[..., 1]], -1).reshape(-1, 4)


def _indicator(starts: Tensor, window: int, size: int) -> Tensor:
    """``(size, P)`` float64: 1 where pixel ``y`` lies in window ``p``."""
    pixels = torch.arange(size, dtype=torch.int64)[:, None]
    return ((pixels >= starts[None]) & (pixels < starts[None] + window)).double()


def average_over_windows(
    values: Tensor,
    tops: Tensor,
    lefts: Tensor,
    window: tuple[int, int],
    image_hw: tuple[int, int],
) -> Tensor:
    """Per-pixel mean of ``values (N, Ph, Pw)`` over the windows covering each pixel.

    This is Captum's ``Occlusion`` averaging: each pixel gets the sum of the values of the
    windows that contain it divided by their count. Pixels no window covers (possible with
    ``padding="valid"`` or gaps) are NaN. Returns ``(N, H, W)`` in ``values``' dtype.
    """
    rows = _indicator(tops, window[0], image_hw[0])
    cols = _indicator(lefts, window[1], image_hw[1])
    total = torch.einsum("hp,npq,wq->nhw", rows, values.double().cpu(), cols)
    count = rows.sum(1)[:, None] * cols.sum(1)[None, :]
    out = total / count
    return out.to(values.dtype)


def window_coverage(
    tops: Tensor, lefts: Tensor, window: tuple[int, int], image_hw: tuple[int, int]
) -> Tensor:
    """``(H, W)`` int64: the number of windows of the grid covering each pixel."""
    rows = _indicator(tops, window[0], image_hw[0]).sum(1)
    cols = _indicator(lefts, window[1], image_hw[1]).sum(1)
    return (rows[:, None] * cols[None, :]).round().long()
