"""Streaming accumulators shared by the analyzers.

Each one takes batches with ``update`` and combines with another of its kind with
``merge``; merging the states of the shards of a dataset gives the state of the whole
(exactly for counts, top-k and reservoirs; to float64 rounding for moments).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["RunningMoments", "Histogram", "TopK", "Reservoir", "first_k", "uniform_keys"]


class RunningMoments:
    """Count, mean, variance, min and max of a stream of vectors, in float64.

    ``update(x)`` takes ``x`` of shape ``(N, *shape)``; merging uses Chan et al.'s
    pairwise formula, so shards combine to the moments of the whole.
    """

    def __init__(self, shape: Sequence[int] = ()) -> None:
        self.shape = tuple(shape)
        self.count = 0
        self.mean = torch.zeros(self.shape, dtype=torch.float64)
        self.m2 = torch.zeros(self.shape, dtype=torch.float64)
        self.min = torch.full(self.shape, float("inf"), dtype=torch.float64)
        self.max = torch.full(self.shape, float("-inf"), dtype=torch.float64)

    def update(self, x: Tensor) -> None:
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"Expected vectors of shape {self.shape}, got {tuple(x.shape[1:])}.")
        if x.shape[0] == 0:
            return
        x = x.detach().to(torch.float64)  # stays on its device: no host round trip
        other = RunningMoments(self.shape)
        other.count = x.shape[0]
        other.mean = x.mean(0)
        other.m2 = ((x - other.mean) ** 2).sum(0)
        other.min = x.amin(0)
        other.max = x.amax(0)
        self.merge(other)

    def merge(self, other: RunningMoments) -> None:
        if other.shape != self.shape:
            raise ValueError(f"Cannot merge moments of shape {other.shape} into {self.shape}.")
        if other.count == 0:
            return
        self.to(other.mean.device)
        n = self.count + other.count
        delta = other.mean - self.mean
        self.mean = self.mean + delta * (other.count / n)
        self.m2 = self.m2 + other.m2 + delta**2 * (self.count * other.count / n)
        self.min = torch.minimum(self.min, other.min)
        self.max = torch.maximum(self.max, other.max)
        self.count = n

    def to(self, device: torch.device) -> RunningMoments:
        """Move the state to ``device`` (in place); returns ``self``."""
        self.mean, self.m2 = self.mean.to(device), self.m2.to(device)
        self.min, self.max = self.min.to(device), self.max.to(device)
        return self

    @property
    def variance(self) -> Tensor:
        """Population variance (divides by the count)."""
        return self.m2 / max(self.count, 1)

    @property
    def std(self) -> Tensor:
        return self.variance.sqrt()


class Histogram:
    """Counts of values in fixed bins, per cell of a ``shape``-shaped grid.

    ``edges`` (``B + 1`` increasing values) define ``B`` bins; values below the first
    edge or at/above the last land in two extra outer bins, so nothing is dropped:
    ``counts`` has shape ``(*shape, B + 2)`` (underflow first, overflow last).
    """

    def __init__(self, edges: Tensor, shape: Sequence[int] = ()) -> None:
        edges = torch.as_tensor(edges, dtype=torch.float64).flatten()
        if edges.numel() < 2 or not bool((edges[1:] > edges[:-1]).all()):
            raise ValueError("Histogram edges must be at least two strictly increasing values.")
        self.edges = edges
        self.shape = tuple(shape)
        self.counts = torch.zeros((*self.shape, edges.numel() + 1), dtype=torch.int64)

    def update(self, x: Tensor) -> None:
        """``x``: shape ``(N, *shape)``."""
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"Expected values of shape {self.shape}, got {tuple(x.shape[1:])}.")
        x = x.detach().to(torch.float64)  # stays on its device: no host round trip
        if self.counts.device != x.device:
            self.counts, self.edges = self.counts.to(x.device), self.edges.to(x.device)
        bins = torch.bucketize(x, self.edges, right=True)  # 0 = underflow, B+1 = overflow
        cells = math.prod(self.shape)
        nbins = self.edges.numel() + 1
        flat = bins.reshape(x.shape[0], cells) + torch.arange(cells, device=x.device) * nbins
        counts = torch.bincount(flat.flatten(), minlength=cells * nbins)
        self.counts += counts.reshape(self.counts.shape)

    @property
    def underflow(self) -> Tensor:
        """``shape`` counts of values below the first edge (bin 0 of ``counts``)."""
        return self.counts[..., 0]

    @property
    def overflow(self) -> Tensor:
        """``shape`` counts of values at or above the last edge (the last bin)."""
        return self.counts[..., -1]

    def merge(self, other: Histogram) -> None:
        if other.shape != self.shape or not torch.equal(other.edges.cpu(), self.edges.cpu()):
            raise ValueError("Cannot merge histograms with different shapes or edges.")
        self.counts += other.counts.to(self.counts.device)


def _ordered(values: Tensor, *ties: Tensor) -> Tensor:
    """Permutation sorting rows by value (descending), then by each tie key (ascending)."""
    order = torch.arange(values.shape[-1], device=values.device).expand_as(values)
    for key in reversed(ties):
        perm = torch.sort(key.gather(-1, order), dim=-1, stable=True).indices
        order = order.gather(-1, perm)
    perm = torch.sort(values.gather(-1, order), dim=-1, descending=True, stable=True).indices
    return order.gather(-1, perm)


class TopK:
    """The ``k`` largest values per channel over a dataset, with provenance.

    ``update(values, index)`` takes activations ``(N, C)`` or ``(N, C, *spatial)`` and
    the dataset index of each of the ``N`` rows. Kept per channel: ``values`` ``(C, k)``,
    ``index`` ``(C, k)`` (dataset index) and ``location`` ``(C, k)`` (flat position in
    the spatial map, 0 when there is none), sorted by value descending; ties go to the
    lower dataset index, then the lower location, so merging shards is exact. Slots not
    yet filled hold ``-inf`` with index ``-1``.

    With ``distinct_images=True`` (the Zeiler & Fergus top-9), each image contributes at
    most one entry per channel: its strongest position.

    Values are kept in float32, or in float64 once float64 values arrive (a float64
    model's near-equal activations are not tied by rounding).
    """

    def __init__(self, channels: int, k: int = 9, distinct_images: bool = True) -> None:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        self.k = k
        self.channels = channels
        self.distinct_images = distinct_images
        self.values = torch.full((channels, k), float("-inf"))
        self.index = torch.full((channels, k), -1, dtype=torch.int64)
        self.location = torch.zeros((channels, k), dtype=torch.int64)

    def update(self, values: Tensor, index: Tensor) -> None:
        """Rank a batch in: ``values`` ``(N, C, ...)``, ``index`` ``(N,)`` dataset rows.

        Runs on the values' device without reading anything on the host: the batch's own
        top ``k`` per channel (in the kept order) is picked with fixed shapes, then ranked
        into the state, which moves to that device.
        """
        if values.ndim < 2 or values.shape[1] != self.channels:
            raise ValueError(
                f"Expected activations (N, {self.channels}, ...), got {tuple(values.shape)}."
            )
        n, c = values.shape[:2]
        if n == 0:
            return
        flat = values.detach().reshape(n, c, -1)
        flat = flat.to(torch.promote_types(flat.dtype, torch.float32))  # float64 stays
        index = index.to(flat.device, torch.int64)
        # rows in dataset order, so that position order is the tie order (index, location)
        order = torch.argsort(index, stable=True)
        index = index[order]
        if self.distinct_images:
            best, loc = flat.max(dim=-1)  # first position wins ties
            cand_v, cand_l = best[order].T, loc[order].T
            cand_i = index.view(1, n).expand(c, n)
        else:
            flat = flat[order]
            spatial = flat.shape[-1]
            cand_v = flat.permute(1, 0, 2).reshape(c, n * spatial)
            cand_l = torch.arange(spatial, device=flat.device).repeat(n).expand(c, -1)
            cand_i = index.repeat_interleave(spatial).expand(c, -1)
        if cand_v.shape[1] > self.k:
            pick = first_k(cand_v, self.k)
            cand_v, cand_i, cand_l = (t.gather(1, pick) for t in (cand_v, cand_i, cand_l))
        self.absorb(cand_v, cand_i, cand_l)

    def to(self, device: torch.device) -> TopK:
        """Move the state to ``device`` (in place); returns ``self``."""
        self.values, self.index = self.values.to(device), self.index.to(device)
        self.location = self.location.to(device)
        return self

    def absorb(self, values: Tensor, index: Tensor, location: Tensor) -> None:
        """Rank candidates ``(C, m)`` (value, dataset index, flat location; padding
        entries ``-inf`` with index ``-1``) into the kept top ``k``, in the same order
        as :meth:`update`. For analyzers that pre-select their own candidates."""
        dtype = torch.promote_types(
            torch.promote_types(self.values.dtype, values.dtype), torch.float32
        )
        self.to(values.device)
        index, location = index.to(values.device), location.to(values.device)
        all_v = torch.cat([self.values.to(dtype), values.to(dtype)], 1)
        all_i = torch.cat([self.index, index.long()], 1)
        all_l = torch.cat([self.location, location.long()], 1)
        # empty slots (index -1) must sort after real entries of equal value (-inf)
        tie_i = torch.where(all_i < 0, torch.iinfo(torch.int64).max, all_i)
        order = _ordered(all_v, tie_i, all_l)[:, : self.k]
        self.values = all_v.gather(1, order)
        self.index = all_i.gather(1, order)
        self.location = all_l.gather(1, order)

    def merge(self, other: TopK) -> None:
        if (other.channels, other.k, other.distinct_images) != (
            self.channels,
            self.k,
            self.distinct_images,
        ):
            raise ValueError("Cannot merge TopK states with different channels, k or mode.")
        self.absorb(
            other.values.to(self.values.device),
            other.index.to(self.values.device),
            other.location.to(self.values.device),
        )


def first_k(values: Tensor, k: int) -> Tensor:
    """Columns of the ``k`` largest entries per row of ``values`` ``(R, M)``, ``M >= k``,
    ties going to the lower column; ``(R, k)`` int64, in column order.

    Fixed shapes and no host reads (unlike a boolean mask): the ``k``-th largest value
    splits each row into entries above it (all kept) and equal to it (the first ones
    by column, as many as are missing).
    """
    kth = values.topk(k, dim=1).values[:, -1:]
    above = values > kth
    equal = values == kth
    missing = k - above.sum(1, keepdim=True)
    keep = above | (equal & (equal.cumsum(1) <= missing))
    columns = values.shape[1]
    key = torch.where(keep, columns - torch.arange(columns, device=values.device), 0)
    return key.topk(k, dim=1).indices.sort(dim=1).values


_GOLDEN = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1


def _to_signed(x: int) -> int:
    return x - (1 << 64) if x >= 1 << 63 else x


def uniform_keys(ids: Tensor, seed: int) -> Tensor:
    """Deterministic pseudo-random floats in [0, 1) from int64 ``ids`` (splitmix64).

    The same ``(id, seed)`` always gives the same key, whichever process computes it;
    this is what makes reservoir samples identical however a dataset is sharded.
    """
    z = ids.to(torch.int64) * _to_signed(_GOLDEN) + _to_signed((seed * _GOLDEN + 1) & _MASK)
    z = (z ^ ((z >> 30) & ((1 << 34) - 1))) * _to_signed(0xBF58476D1CE4E5B9)
    z = (z ^ ((z >> 27) & ((1 << 37) - 1))) * _to_signed(0x94D049BB133111EB)
    z = z ^ ((z >> 31) & ((1 << 33) - 1))
    return ((z >> 11) & ((1 << 53) - 1)).double() / float(1 << 53)


class Reservoir:
    """A uniform sample of at most ``capacity`` items from a stream, by random keys.

    Each item carries an int64 id (unique over the dataset, e.g. ``image * P + position``);
    its key is ``uniform_keys(id, seed)`` and the reservoir keeps the items with the
    smallest keys. The sample depends only on the ids and the seed, so any split of the
    stream, merged, gives exactly the single-pass sample.
    """

    def __init__(self, capacity: int, seed: int = 0) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}.")
        self.capacity = capacity
        self.seed = seed
        self.seen = 0
        self.keys = torch.empty(0, dtype=torch.float64)
        self.ids = torch.empty(0, dtype=torch.int64)
        self.items: Tensor | None = None

    def update(self, items: Tensor, ids: Tensor) -> None:
        """``items``: ``(N, ...)`` rows to sample from; ``ids``: ``(N,)`` unique int64.

        Runs on the items' device (the sample moves there) without reading anything on
        the host: the batch's rows are ranked in with the kept ones by their keys.
        """
        if items.shape[0] != ids.shape[0]:
            raise ValueError("items and ids must have the same length.")
        self.seen += items.shape[0]
        ids = ids.to(items.device, torch.int64)
        keys = uniform_keys(ids, self.seed)
        if items.shape[0] > self.capacity:  # only the batch's own smallest keys can enter
            by_id = torch.argsort(ids)  # equal keys: the lower id first, as in _absorb
            pick = by_id[first_k(-keys[by_id].unsqueeze(0), self.capacity)[0]]
            items, ids, keys = items[pick], ids[pick], keys[pick]
        self._absorb(items.detach(), ids, keys)

    def _absorb(self, items: Tensor, ids: Tensor, keys: Tensor) -> None:
        if self.items is None:
            self.items = items[:0].clone()
        device = items.device
        all_items = torch.cat([self.items.to(device), items])
        all_keys = torch.cat([self.keys.to(device), keys.to(device)])
        all_ids = torch.cat([self.ids.to(device), ids.to(device, torch.int64)])
        order = _ordered(-all_keys.unsqueeze(0), all_ids.unsqueeze(0))[0][: self.capacity]
        self.items, self.keys, self.ids = all_items[order], all_keys[order], all_ids[order]

    def merge(self, other: Reservoir) -> None:
        if (other.capacity, other.seed) != (self.capacity, self.seed):
            raise ValueError("Cannot merge reservoirs with different capacity or seed.")
        self.seen += other.seen
        if other.items is not None:
            device = self.items.device if self.items is not None else other.items.device
            self._absorb(other.items.to(device), other.ids, other.keys)
