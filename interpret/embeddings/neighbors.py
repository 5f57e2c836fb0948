"""Nearest patches or images to a query, and how well an embedding keeps neighbours.

Similarity search in the last hidden layer: "semantically similar images should have
small Euclidean distance" (the 20 nearest images to a query, with their distances). Exact
search is chunked brute force in torch (float64 distances, on the vectors' device);
past ``exact_max`` points an inverted-file index answers instead (IVF, Jégou et al. 2011:
k-means cells, each query searched exactly in its ``probes`` nearest cells), also in torch,
so it runs on the GPU and needs no JIT compilation. (pynndescent, which umap-learn brings,
spends minutes compiling with numba on a 2-core machine before its first query.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from interpret.core import Result
from interpret.core.frames import column, grid_keys, make_frame, name_column
from interpret.embeddings.embedding import vectors_of
from interpret.embeddings.search import IVFIndex, exact_knn

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Neighbors", "NeighborIndex", "nearest", "knn_preservation", "knn_accuracy"]

_METRICS = ("euclidean", "cosine")


@dataclass(frozen=True)
class Neighbors(Result):
    """The ``k`` nearest rows of a set to each query, nearest first.

    Attributes
    ----------
    indices:
        ``(Q, k)`` int64 rows of the searched set (map them to images with the source
        result's ``image_index``).
    distances:
        ``(Q, k)`` float64: Euclidean distance, or cosine distance ``1 - cos``.
    query_rows:
        ``(Q,)`` rows of the set that served as queries, or ``None`` for outside vectors.
    metric, method:
        ``"euclidean"``/``"cosine"``; ``"exact"`` or ``"ivf"`` (approximate).
    """

    indices: Tensor
    distances: Tensor
    query_rows: Tensor | None
    metric: str
    method: str
    k: int
    exclude_self: bool

    def to_frame(
        self, source: Any = None, image_names: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """One row per (query, neighbour): ``query``, ``query_row`` (when the queries were
        rows of the set), ``rank`` (0 = nearest), ``row`` and ``distance``.

        With ``source``, the patch or image embeddings result that was searched (anything
        with an ``image_index`` ``(N,)``), rows become images: ``image_index`` (and
        ``query_image_index``), and ``image_name`` / ``query_image_name`` from
        ``image_names`` (indexed by dataset index, e.g. the dataset's file names).
        """
        q, k = self.indices.shape
        keys = grid_keys((q, k), ("query", "rank"))
        rows = column(self.indices).astype(np.int64)
        query_rows = None if self.query_rows is None else column(self.query_rows)[keys["query"]]
        columns: dict[str, Any] = {
            "query": keys["query"],
            "query_row": query_rows,
            "rank": keys["rank"],
            "row": rows,
            "distance": column(self.distances),
        }
        if source is not None:
            image_index = getattr(source, "image_index", None)
            if not isinstance(image_index, Tensor):
                raise TypeError(
                    "source must be the searched PatchEmbeddingsResult / ImageEmbeddingsResult "
                    f"(with an image_index), not {type(source).__name__}."
                )
            ids = column(image_index).astype(np.int64)
            columns["image_index"] = ids[rows]
            columns["image_name"] = name_column(ids[rows], image_names)
            if query_rows is not None:
                columns["query_image_index"] = ids[query_rows]
                columns["query_image_name"] = name_column(ids[query_rows], image_names)
        return make_frame(columns, q * k)


class NeighborIndex:
    """A searchable set of ``(N, D)`` vectors.

    Parameters
    ----------
    data:
        ``(N, D)`` vectors (tensor, array, or a patch/image embeddings result).
    metric:
        ``"euclidean"`` or ``"cosine"`` (distance ``1 - cos``; an all-zero vector is at
        distance 1 from everything).
    method:
        ``"exact"``; ``"ivf"`` (approximate: an inverted-file index, built on the first
        query, searching ``probes`` of ``round(sqrt(N))`` k-means cells); ``"auto"``: exact
        up to ``exact_max`` points. Exact search of ``Q`` queries costs ``Q x N x D``;
        a few queries are cheap at any ``N``, all-pairs neighbours of large sets are not.
    probes:
        Cells the IVF index searches per query (recall rises with it).
    seed:
        Seeds the index's k-means.

    Example
    -------
    >>> x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    >>> NeighborIndex(x).query([0], k=2).distances.tolist()
    [[0.0, 1.0]]
    """

    def __init__(
        self,
        data: Any,
        metric: str = "euclidean",
        *,
        method: str = "auto",
        probes: int = 8,
        seed: int = 0,
        exact_max: int = 100_000,
    ) -> None:
        if metric not in _METRICS:
            raise ValueError(f"metric must be one of {_METRICS}, not {metric!r}.")
        if method not in ("auto", "exact", "ivf"):
            raise ValueError(f"method must be 'auto', 'exact' or 'ivf', not {method!r}.")
        x, _ = vectors_of(data)
        if x.shape[0] == 0:
            raise ValueError("Cannot search an empty set of vectors.")
        self.metric = metric
        self.vectors = F.normalize(x, dim=1) if metric == "cosine" else x
        self.method = (
            method if method != "auto" else ("exact" if x.shape[0] <= exact_max else "ivf")
        )
        self.probes = probes
        self.seed = seed
        self._index: IVFIndex | None = None

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def query(self, queries: Any, k: int = 20, *, exclude_self: bool = False) -> Neighbors:
        """The ``k`` nearest rows to each query.

        ``queries`` are rows of the set (a list or 1-D int tensor) or vectors ``(Q, D)``.
        For rows, the query itself comes first at distance 0 (as in the classic "20 most
        similar images" figures) unless ``exclude_self=True``.
        """
        rows: Tensor | None = None
        if isinstance(queries, (list, tuple, range)) or (
            isinstance(queries, Tensor) and queries.ndim == 1 and not queries.is_floating_point()
        ):
            rows = torch.as_tensor(list(queries) if not isinstance(queries, Tensor) else queries)
            rows = rows.to(torch.int64)
            if rows.numel() and (int(rows.min()) < 0 or int(rows.max()) >= len(self)):
                raise ValueError(f"Query rows must lie in [0, {len(self)}).")
            q = self.vectors[rows.to(self.vectors.device)]
        else:
            if exclude_self:
                raise ValueError("exclude_self needs queries given as rows of the set.")
            q, _ = vectors_of(queries)
            if q.shape[1] != self.vectors.shape[1]:
                raise ValueError(
                    f"Queries have {q.shape[1]} dims, the set {self.vectors.shape[1]}."
                )
            q = F.normalize(q, dim=1) if self.metric == "cosine" else q
        available = len(self) - (1 if exclude_self else 0)
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}.")
        if k > available:
            raise ValueError(
                f"k={k} neighbours asked for, but the set has only {available} other point(s)"
                f"{' besides the query' if exclude_self else ''}; lower k."
            )
        skip = rows if exclude_self else None
        if self.method == "exact":
            dist, idx = exact_knn(self.vectors, q, k, skip)
        else:
            if self._index is None:
                self._index = IVFIndex(self.vectors, probes=self.probes, seed=self.seed)
            dist, idx = self._index.search(q, k, skip)
        if self.metric == "cosine":
            dist = dist**2 / 2  # |a - b|^2 = 2 - 2 cos for unit vectors
        return Neighbors(
            indices=idx.cpu(),
            distances=dist.cpu(),
            query_rows=rows,
            metric=self.metric,
            method=self.method,
            k=k,
            exclude_self=exclude_self,
        )


def nearest(
    data: Any, queries: Any, k: int = 20, *, metric: str = "euclidean", **kwargs: Any
) -> Neighbors:
    """``NeighborIndex(data, metric, **kwargs).query(queries, k)``; see :class:`NeighborIndex`."""
    exclude_self = kwargs.pop("exclude_self", False)
    return NeighborIndex(data, metric, **kwargs).query(queries, k, exclude_self=exclude_self)


def _sample_rows(n: int, count: int | None, seed: int) -> Tensor:
    if count is None or count >= n:
        return torch.arange(n)
    gen = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=gen)[:count].sort().values


def knn_preservation(
    high: Any, low: Any, k: int = 10, *, queries: int | None = 2000, seed: int = 0
) -> float:
    """Mean share of each point's ``k`` nearest neighbours in ``high`` (the vectors) that
    are also among its ``k`` nearest in ``low`` (the embedding); self excluded.

    1.0: every neighbourhood kept; about ``k / N``: none beyond chance. Computed exactly
    over ``queries`` randomly chosen points (all when ``None``).
    """
    x, _ = vectors_of(high)
    z, _ = vectors_of(low)
    if x.shape[0] != z.shape[0]:
        raise ValueError(f"{x.shape[0]} vectors but {z.shape[0]} embedded points.")
    if k >= x.shape[0]:
        raise ValueError(f"k={k} must be below the number of points ({x.shape[0]}).")
    rows = _sample_rows(x.shape[0], queries, seed)
    _, nh = exact_knn(x, x[rows], k, rows)
    _, nl = exact_knn(z, z[rows], k, rows)
    hits = (nh[:, :, None] == nl[:, None, :]).any(2).float().sum(1)
    return float(hits.double().mean() / k)


def knn_accuracy(
    coords: Any,
    labels: Tensor | np.ndarray,
    k: int = 5,
    *,
    queries: int | None = 5000,
    seed: int = 0,
) -> float:
    """Leave-one-out ``k``-NN classification accuracy of ``labels`` from ``coords``.

    Each sampled point is given the most common label among its ``k`` nearest other
    points (ties to the label of the nearer neighbour); returns the share right.
    """
    z, _ = vectors_of(coords)
    y = torch.as_tensor(np.asarray(labels)).long().flatten()
    if y.shape[0] != z.shape[0]:
        raise ValueError(f"{z.shape[0]} points but {y.shape[0]} labels.")
    if k >= z.shape[0]:
        raise ValueError(f"k={k} must be below the number of points ({z.shape[0]}).")
    rows = _sample_rows(z.shape[0], queries, seed)
    _, nn = exact_knn(z, z[rows], k, rows)
    votes = y[nn]  # (Q, k), nearest first
    counts = (votes[:, :, None] == votes[:, None, :]).sum(2)  # how often each vote occurs
    # highest count wins; among equal counts the nearest neighbour's label
    rank = counts * (k + 1) - torch.arange(k)[None, :]
    pred = votes.gather(1, rank.argmax(1, keepdim=True)).squeeze(1)
    return float((pred == y[rows]).double().mean())
