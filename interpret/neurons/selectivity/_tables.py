"""Streaming per-group, per-neuron statistics with fixed histogram edges (internal).

A :class:`GroupTable` keeps, for ``G`` groups (classes, attribute values, or one group
of all images) and ``D`` neurons: histogram counts ``(G, D, B + 2)``, image counts
``(G,)``, mean / M2 (Chan et al.'s pairwise update, float64), min, max and the number of
images where each neuron is active ``(G, D)``. Memory is ``G x D x (B + 2)``, whatever
the number of images. Merging two tables is exact for counts, min and max, and exact to
float64 rounding for the moments.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["GroupTable", "bin_index"]


def bin_index(values: Tensor, edges: Tensor) -> Tensor:
    """Bin of each value: ``(N, D)`` float64 values, ``(D, B + 1)`` edges -> ``(N, D)`` int64.

    0 is the underflow bin (``x < edges[:, 0]``), ``B + 1`` the overflow bin
    (``x >= edges[:, -1]``); bin ``j`` holds ``edges[:, j-1] <= x < edges[:, j]``.
    """
    return torch.searchsorted(edges, values.T.contiguous(), right=True).T


class GroupTable:
    """Per-group, per-neuron histograms and moments; see the module docstring."""

    def __init__(self, groups: int, neurons: int, bins: int, device: torch.device) -> None:
        self.groups, self.neurons, self.bins = groups, neurons, bins
        g, d = groups, neurons
        self.hist = torch.zeros((g, d, bins + 2), dtype=torch.int64, device=device)
        self.count = torch.zeros(g, dtype=torch.int64, device=device)
        self.mean = torch.zeros((g, d), dtype=torch.float64, device=device)
        self.m2 = torch.zeros((g, d), dtype=torch.float64, device=device)
        self.min = torch.full((g, d), float("inf"), dtype=torch.float64, device=device)
        self.max = torch.full((g, d), float("-inf"), dtype=torch.float64, device=device)
        self.active = torch.zeros((g, d), dtype=torch.int64, device=device)

    def grow(self, groups: int) -> None:
        """Add empty groups at the end so that there are ``groups`` in all."""
        extra = groups - self.groups
        if extra <= 0:
            return

        def pad(t: Tensor, fill: float) -> Tensor:
            return torch.cat(
                [t, torch.full((extra, *t.shape[1:]), fill, dtype=t.dtype, device=t.device)]
            )

        self.hist, self.count = pad(self.hist, 0), pad(self.count, 0)
        self.mean, self.m2, self.active = pad(self.mean, 0), pad(self.m2, 0), pad(self.active, 0)
        self.min, self.max = pad(self.min, float("inf")), pad(self.max, float("-inf"))
        self.groups = groups

    def update(self, values: Tensor, bins: Tensor, active: Tensor, groups: Tensor) -> None:
        """Add a batch.

        ``values`` ``(N, D)`` float64, ``bins`` ``(N, D)`` int64 in ``0 .. B + 1``,
        ``active`` ``(N, D)`` bool, ``groups`` ``(N, M)`` int64: the ``M`` groups each image
        belongs to (-1: none).
        """
        n, d = values.shape
        dev = values.device
        # fixed shapes throughout (no boolean masks): rows outside every group get weight 0
        if groups.shape[1] == 1:  # one group per image (classes): no row copies
            member = groups[:, 0]
        else:  # several (attributes): one row per (image, group) membership
            member = groups.reshape(-1)
            rows = torch.arange(n, device=dev).repeat_interleave(groups.shape[1])
            values, bins, active = values[rows], bins[rows], active[rows]
        r = member.shape[0]
        if r == 0:
            return
        valid = member >= 0
        member = member.clamp(min=0)
        # (G, R) membership matrix: sums by matrix products, exact for counts
        onehot = torch.zeros((self.groups, r), dtype=torch.float64, device=dev)
        onehot[member, torch.arange(r, device=dev)] = valid.to(torch.float64)
        cnt = onehot.sum(1)
        mean = (onehot @ values) / cnt.clamp(min=1).unsqueeze(1)
        m2 = onehot @ (values - mean[member]) ** 2  # two-pass: no cancellation
        self._combine(cnt.to(torch.int64), mean, m2)
        self.active += (onehot @ active.to(torch.float64)).to(torch.int64)
        # contiguous: scatter_reduce_ with a stride-0 index is very slow on multi-threaded CPU
        index = member.unsqueeze(1).expand(-1, d).contiguous()
        inside = valid.unsqueeze(1)
        self.min.scatter_reduce_(0, index, torch.where(inside, values, float("inf")), "amin")
        self.max.scatter_reduce_(0, index, torch.where(inside, values, float("-inf")), "amax")
        nb = self.bins + 2
        flat = member.unsqueeze(1) * (d * nb) + torch.arange(0, d * nb, nb, device=dev) + bins
        weight = inside.expand(-1, d).to(torch.int64)
        self.hist.view(-1).index_add_(0, flat.reshape(-1), weight.reshape(-1))

    def rows(self, index: slice) -> GroupTable:
        """A table of the groups ``index`` (tensors are views)."""
        out = GroupTable.__new__(GroupTable)
        out.neurons, out.bins = self.neurons, self.bins
        for name in ("hist", "count", "mean", "m2", "min", "max", "active"):
            setattr(out, name, getattr(self, name)[index])
        out.groups = out.count.shape[0]
        return out

    def total(self) -> GroupTable:
        """One group holding every image of every group (moments by Chan's formula)."""
        out = GroupTable(1, self.neurons, self.bins, self.hist.device)
        out.hist = self.hist.sum(0, keepdim=True)
        out.active = self.active.sum(0, keepdim=True)
        out.min = self.min.amin(0, keepdim=True)
        out.max = self.max.amax(0, keepdim=True)
        n = self.count.sum()
        counts = self.count.to(torch.float64).unsqueeze(1)
        mean = (counts * self.mean).sum(0, keepdim=True) / n.clamp(min=1)
        out.m2 = (self.m2 + counts * (self.mean - mean) ** 2).sum(0, keepdim=True)
        out.mean, out.count = mean, n.reshape(1)
        return out

    def _combine(self, cnt: Tensor, mean: Tensor, m2: Tensor) -> None:
        n = self.count + cnt
        safe = n.clamp(min=1).to(torch.float64).unsqueeze(1)
        delta = mean - self.mean
        self.mean = self.mean + delta * (cnt.unsqueeze(1) / safe)
        self.m2 = self.m2 + m2 + delta**2 * (self.count * cnt).unsqueeze(1) / safe
        self.count = n

    def merge(self, other: GroupTable) -> None:
        """Fold in another table of the same neurons and bins (groups padded to match)."""
        if (other.neurons, other.bins) != (self.neurons, self.bins):
            raise ValueError("Cannot merge tables with different neurons or bins.")
        self.grow(other.groups)
        other_groups = other.groups
        dev = self.hist.device
        sl = slice(0, other_groups)
        self.hist[sl] += other.hist.to(dev)
        self.active[sl] += other.active.to(dev)
        self.min[sl] = torch.minimum(self.min[sl], other.min.to(dev))
        self.max[sl] = torch.maximum(self.max[sl], other.max.to(dev))
        cnt = torch.zeros_like(self.count)
        cnt[sl] = other.count.to(dev)
        mean, m2 = torch.zeros_like(self.mean), torch.zeros_like(self.m2)
        mean[sl], m2[sl] = other.mean.to(dev), other.m2.to(dev)
        self._combine(cnt, mean, m2)

    def to(self, device: torch.device) -> GroupTable:
        for name in ("hist", "count", "mean", "m2", "min", "max", "active"):
            setattr(self, name, getattr(self, name).to(device))
        return self
