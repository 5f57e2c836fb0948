"""Adaptive histogram edges that stay exact, order-free and mergeable (internal).

Each neuron's ``B`` bins are consecutive cells of a dyadic grid: cell ``c`` is
``[c * 2^k, (c + 1) * 2^k)`` and the window is cells ``start .. start + B - 1``. ``k`` is
the smallest integer such that every value seen fits in ``B`` cells (and such that
``|value| / 2^k < 2^50``, keeping cell numbers exact in float64); ``start`` is the cell
of the smallest value. Both depend only on the min and max of all values seen, never on
their order or on how the data was split, so:

* when the range grows, the grid coarsens by whole powers of two; every old cell lies in
  exactly one new cell, so re-binning the counts is exact: the histogram always equals
  the one made with the final edges from the start;
* two shards merge exactly by re-binning both to the grid of the union of their ranges.

With ``B`` bins the values span more than ``B / 2 - 1`` of them.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["DyadicGrid"]

CELL_BITS = 50
K_MIN = -1000  # finest width 2^-1000 (constant neurons); 2^-k stays finite in float64


def _smallest_k(lo: Tensor, hi: Tensor, bins: int) -> Tensor:
    """Per neuron, the smallest ``k`` with ``floor(hi / 2^k) - floor(lo / 2^k) <= bins - 1``
    and ``max(|lo|, |hi|) / 2^k < 2^CELL_BITS``."""
    span = (hi - lo).clamp(min=0)
    big = torch.maximum(lo.abs(), hi.abs())
    k = torch.full_like(lo, float(K_MIN))
    k = torch.maximum(k, torch.ceil(torch.log2(span / max(bins - 2, 1))) - 1)
    k = torch.maximum(k, torch.ceil(torch.log2(big)) - CELL_BITS)
    k = k.nan_to_num(nan=float(K_MIN)).to(torch.int64)
    # The start guess is within 2x (one step at most, two with log2 rounding); the steps
    # run unconditionally, so that nothing is read on the host (a finished neuron stays).
    for _ in range(3):
        scale = torch.pow(2.0, -k.to(torch.float64))
        cells = torch.floor(hi * scale) - torch.floor(lo * scale)
        k = k + (cells > bins - 1).long()
    return k


class DyadicGrid:
    """Per-neuron adaptive bins; see the module docstring.

    ``lo``/``hi`` ``(D,)`` are the running min / max, ``k``/``start`` ``(D,)`` int64 the
    grid. Histogram counts using it have ``B + 2`` bins per neuron, the outer two (under /
    overflow) always empty.
    """

    def __init__(self, neurons: int, bins: int, device: torch.device) -> None:
        self.bins = bins
        self.lo = torch.full((neurons,), float("inf"), dtype=torch.float64, device=device)
        self.hi = torch.full((neurons,), float("-inf"), dtype=torch.float64, device=device)
        self.k = torch.zeros(neurons, dtype=torch.int64, device=device)
        self.start = torch.zeros(neurons, dtype=torch.int64, device=device)
        self._started = False  # a host flag: whether any range was seen

    @property
    def empty(self) -> bool:
        return not bool(torch.isfinite(self.lo).any())

    def _grid_for(self, lo: Tensor, hi: Tensor) -> tuple[Tensor, Tensor]:
        k = _smallest_k(lo, hi, self.bins)
        start = torch.floor(lo * torch.pow(2.0, -k.to(torch.float64))).to(torch.int64)
        return k, start

    def remap(self, k: Tensor, start: Tensor) -> Tensor:
        """``(D, B + 2)`` new bin of every current bin when moving to grid ``(k, start)``."""
        b = self.bins
        cell = self.start.unsqueeze(1) + torch.arange(b, device=k.device)  # (D, B)
        shift = (k - self.k).clamp(min=0, max=62).unsqueeze(1)  # |cell| < 2^51: exact
        new = torch.div(cell, torch.pow(2, shift), rounding_mode="floor") - start.unsqueeze(1) + 1
        new = new.clamp(1, b)  # empty cells only can fall outside
        edge = torch.zeros_like(new[:, :1])
        return torch.cat([edge, new, edge + b + 1], 1)

    def extend(self, lo: Tensor, hi: Tensor) -> Tensor | None:
        """Grow the range to include ``[lo, hi]`` ``(D,)``; returns the bin map
        (:meth:`remap`; the identity where a neuron's grid did not change), or ``None``
        when the grid was empty. Nothing is read on the host."""
        first = self.__dict__.get("_started") is False or (
            "_started" not in self.__dict__ and self.empty
        )
        new_lo, new_hi = torch.minimum(self.lo, lo), torch.maximum(self.hi, hi)
        k, start = self._grid_for(new_lo, new_hi)
        mapping = None if first else self.remap(k, start)
        self.lo, self.hi, self.k, self.start = new_lo, new_hi, k, start
        self._started = True
        return mapping

    def bin(self, values: Tensor) -> Tensor:
        """``(N, D)`` bins in ``1 .. B`` of values inside the range."""
        scale = torch.pow(2.0, -self.k.to(torch.float64))
        return (torch.floor(values * scale).to(torch.int64) - self.start + 1).clamp(1, self.bins)

    def edges(self) -> Tensor:
        """``(D, B + 1)`` float64 edges ``(start + j) * 2^k``."""
        cells = self.start.unsqueeze(1) + torch.arange(self.bins + 1, device=self.k.device)
        return cells.to(torch.float64) * torch.pow(2.0, self.k.to(torch.float64)).unsqueeze(1)

    def to(self, device: torch.device) -> DyadicGrid:
        for name in ("lo", "hi", "k", "start"):
            setattr(self, name, getattr(self, name).to(device))
        return self


def apply_map(hist: Tensor, mapping: Tensor) -> Tensor:
    """Re-bin ``(G, D, B + 2)`` counts with a ``(D, B + 2)`` bin map."""
    index = mapping.to(hist.device).unsqueeze(0).expand_as(hist)
    return torch.zeros_like(hist).scatter_add_(-1, index, hist)
