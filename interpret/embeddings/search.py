"""k-nearest-neighbour machinery in torch: chunked exact search and an IVF index.

Both select candidates with the expansion ``|q|^2 + |x|^2 - 2 q.x`` (one matrix product)
and then recompute the kept distances directly in float64, so reported distances carry
no cancellation error; ties go to the lower row.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["exact_knn", "IVFIndex"]


def _tie_order(dist: Tensor, index: Tensor) -> Tensor:
    """Sort each row by distance, ties by index (deterministic)."""
    by_index = torch.sort(index, dim=1, stable=True).indices
    by_dist = torch.sort(dist.gather(1, by_index), dim=1, stable=True).indices
    return by_index.gather(1, by_dist)


def _sq_dist(q: Tensor, x: Tensor) -> Tensor:
    return ((q * q).sum(1, keepdim=True) + (x * x).sum(1)[None, :] - 2 * q @ x.T).clamp_min(0)


def _refine(data: Tensor, q: Tensor, idx: Tensor, skip: Tensor | None) -> tuple[Tensor, Tensor]:
    """Exact float64 distances of the chosen rows ``idx`` (``-1``: none), sorted."""
    safe = idx.clamp_min(0)
    diff = q.to(torch.float64)[:, None, :] - data[safe].to(torch.float64)
    dist = diff.pow(2).sum(2).sqrt()
    bad = idx < 0
    if skip is not None:
        bad |= idx == skip.to(idx.device)[:, None]
    dist = torch.where(bad, float("inf"), dist)
    order = _tie_order(dist, idx)
    return dist.gather(1, order), idx.gather(1, order)


def _merge(best_d: Tensor, best_i: Tensor, d: Tensor, i: Tensor, k: int) -> tuple[Tensor, Tensor]:
    all_d, all_i = torch.cat([best_d, d], 1), torch.cat([best_i, i], 1)
    top = torch.topk(all_d, min(k, all_d.shape[1]), dim=1, largest=False).indices
    return all_d.gather(1, top), all_i.gather(1, top)


_TIE_MARGIN = 8  # extra candidates kept so near-ties at the k-th place reach the exact pass


def _tie_keys(d: Tensor, scale: Tensor) -> Tensor:
    """Squared distances rounded to a relative 2**-36 of ``scale``: the expansion's
    rounding cannot split a true tie, so a stable sort on the keys ranks ties by row."""
    return torch.round(d / scale * float(1 << 36))


def exact_knn(
    data: Tensor,
    queries: Tensor,
    k: int,
    skip: Tensor | None = None,
    budget: int = 1 << 24,
    query_chunk: int = 4096,
) -> tuple[Tensor, Tensor]:
    """Brute-force ``k`` nearest rows of ``data`` to each query: ``(distances, rows)``.

    ``skip`` ``(Q,)``: a row to exclude per query (the query itself). Queries go in
    chunks of ``query_chunk`` and the set in chunks of about ``budget / query_chunk``
    rows, so memory stays near ``budget`` float64 values whatever ``N`` and ``Q``.
    """
    if queries.shape[0] > query_chunk:
        parts = [
            exact_knn(
                data,
                queries[s : s + query_chunk],
                k,
                None if skip is None else skip[s : s + query_chunk],
                budget,
                query_chunk,
            )
            for s in range(0, queries.shape[0], query_chunk)
        ]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    q = queries.to(data.device, torch.float64)
    chunk = max(1024, budget // max(q.shape[0], 1))
    keep = k + _TIE_MARGIN
    best_key = torch.empty(q.shape[0], 0, dtype=torch.float64, device=data.device)
    best_i = torch.empty(q.shape[0], 0, dtype=torch.int64, device=data.device)
    scale = (q * q).sum(1, keepdim=True) + data.to(torch.float64).pow(2).sum(1).max() + 1e-300
    for start in range(0, data.shape[0], chunk):
        x = data[start : start + chunk].to(torch.float64)
        d = _sq_dist(q, x)
        if skip is not None:
            rows = torch.arange(start, start + x.shape[0], device=data.device)
            d[skip.to(data.device)[:, None] == rows[None, :]] = float("inf")
        key = _tie_keys(d, scale)
        order = torch.sort(key, dim=1, stable=True).indices[:, :keep]  # ties: lower row
        all_key = torch.cat([best_key, key.gather(1, order)], 1)  # earlier chunks first
        all_i = torch.cat([best_i, order + start], 1)
        top = torch.sort(all_key, dim=1, stable=True).indices[:, :keep]
        best_key, best_i = all_key.gather(1, top), all_i.gather(1, top)
    dist, idx = _refine(data, queries, best_i, skip)
    return dist[:, :k], idx[:, :k]


class IVFIndex:
    """Inverted-file index (Jégou, Douze & Schmid 2011): k-means cells, exact search in
    the ``probes`` cells nearest each query.

    Parameters
    ----------
    data:
        ``(N, D)`` vectors (kept by reference, on their device).
    cells:
        Number of k-means cells (default ``round(sqrt(N))``).
    probes:
        Cells searched per query: more is slower and closer to exact.
    seed:
        Seeds the k-means initialisation (a ``torch.Generator``).
    iters:
        Lloyd iterations, run on a sample of at most ``64 * cells`` points.
    """

    def __init__(
        self,
        data: Tensor,
        cells: int | None = None,
        probes: int = 8,
        seed: int = 0,
        iters: int = 10,
    ) -> None:
        n = data.shape[0]
        cells = cells or max(1, round(math.sqrt(n)))
        if not 1 <= cells <= n:
            raise ValueError(f"cells must be in [1, {n}], got {cells}.")
        if probes < 1:
            raise ValueError(f"probes must be at least 1, got {probes}.")
        self.data = data
        self.probes = min(probes, cells)
        gen = torch.Generator().manual_seed(seed)
        sample = data[torch.randperm(n, generator=gen)[: 64 * cells].to(data.device)].float()
        centroids = sample[torch.randperm(len(sample), generator=gen)[:cells].to(data.device)]
        for _ in range(iters):
            assign = self._nearest_cell(sample, centroids)
            sums = torch.zeros_like(centroids).index_add_(0, assign, sample)
            counts = torch.bincount(assign, minlength=cells).to(sample.dtype)
            empty = counts == 0
            centroids = torch.where(empty[:, None], centroids, sums / counts.clamp_min(1)[:, None])
        self.centroids = centroids
        assign = self._nearest_cell(data.float(), centroids)
        self.members = torch.sort(assign, stable=True).indices
        self.offsets = torch.cat(
            [
                torch.zeros(1, dtype=torch.int64, device=data.device),
                torch.bincount(assign, minlength=cells).cumsum(0),
            ]
        )

    @staticmethod
    def _nearest_cell(x: Tensor, centroids: Tensor, chunk: int = 65536) -> Tensor:
        return torch.cat([_sq_dist(c, centroids).argmin(1) for c in x.split(chunk)])

    def search(self, queries: Tensor, k: int, skip: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(distances, rows)`` of the ``k`` nearest found; exact fallback for a query
        whose probed cells hold fewer than ``k`` candidates."""
        q = queries.to(self.data.device).float()
        probe = torch.topk(_sq_dist(q, self.centroids), self.probes, dim=1, largest=False).indices
        nq = q.shape[0]
        best_d = torch.full((nq, k), float("inf"), device=q.device)
        best_i = torch.full((nq, k), -1, dtype=torch.int64, device=q.device)
        for cell in probe.unique().tolist():
            members = self.members[self.offsets[cell] : self.offsets[cell + 1]]
            if members.numel() == 0:
                continue
            who = (probe == cell).any(1).nonzero().flatten()
            d = _sq_dist(q[who], self.data[members].float())
            if skip is not None:
                d[skip.to(q.device)[who][:, None] == members[None, :]] = float("inf")
            top = torch.topk(d, min(k, d.shape[1]), dim=1, largest=False)
            nd, ni = _merge(best_d[who], best_i[who], top.values, members[top.indices], k)
            best_d[who], best_i[who] = nd, ni
        short = torch.isinf(best_d).any(1)
        dist, idx = _refine(self.data, queries, best_i, skip)
        if bool(short.any()):
            rows = short.nonzero().flatten()
            sub_skip = skip.to(q.device)[rows] if skip is not None else None
            dist[rows], idx[rows] = exact_knn(self.data, queries[rows], k, sub_skip)
        return dist, idx
