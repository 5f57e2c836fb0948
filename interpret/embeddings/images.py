"""One vector per image: a fully connected layer, or a pooled conv site.

The last hidden layer as a global image descriptor (Krizhevsky et al. 2012; the "fc7"
t-SNE maps of Karpathy; similarity search with Euclidean distance in Oquab et al. 2014).
Keeping one vector per image is the point here, so memory is ``N x D`` (``N`` images,
``D`` dimensions; ``dtype=torch.float16`` halves it); ``max_images`` keeps a uniform
random sample of images instead, in bounded memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from interpret.core import Batch, Result, uniform_keys
from interpret.core.device import to_host, wait_for_copies
from interpret.core.frames import column, image_columns, make_frame, name_column
from interpret.embeddings._select import BestRows

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ImageEmbeddings", "ImageEmbeddingsResult"]

_POOLS = ("auto", "mean", "max", "flatten")


@dataclass(frozen=True)
class ImageEmbeddingsResult(Result):
    """One vector per image of a site.

    Attributes
    ----------
    vectors:
        ``(N, D)`` in the storage dtype, rows sorted by ``image_index``.
    image_index:
        ``(N,)`` int64 dataset index of each image.
    labels:
        ``(N,)`` int64 dataset labels, or ``None`` when the dataset has none.
    predictions:
        ``(N,)`` int64 argmax of the model output when it is ``(N, classes)``, else None.
    thumbnails:
        ``(N, C_in, s, s)`` float16 downscaled model inputs, or ``None``.
    pool:
        How a spatial site became a vector (``"mean"``, ``"max"``, ``"flatten"`` or
        ``"none"`` for an ``(N, D)`` site).
    site_shape:
        Shape of one image's activation at the site, before pooling.
    seen:
        Images scanned (``N`` unless ``max_images`` sampled them).
    """

    vectors: Tensor
    image_index: Tensor
    labels: Tensor | None
    predictions: Tensor | None
    thumbnails: Tensor | None
    site: str
    pool: str
    site_shape: tuple[int, ...]
    max_images: int | None
    seed: int
    seen: int

    def __len__(self) -> int:
        return int(self.image_index.numel())

    def to_frame(
        self, image_names: Sequence[str] | None = None, class_names: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """One row per image (``row``: its row of ``vectors``): ``image_index``
        (``image_name``), ``class_index`` (``class_name``) and, for a classifier's
        output, ``predicted`` (``predicted_name``); names indexed by dataset index /
        class."""
        n = len(self)
        cols = {"row": np.arange(n), **image_columns(self.image_index, self.labels,
                image_names, class_names)}  # fmt: skip
        if self.predictions is not None:
            predicted = column(self.predictions).astype(np.int64)
            cols["predicted"] = predicted
            cols["predicted_name"] = name_column(predicted, class_names)
        return make_frame(cols, n)


def pool_activation(act: Tensor, pool: str) -> tuple[Tensor, str]:
    """``(N, ...)`` activations -> ``(N, D)`` vectors, and the pooling actually used."""
    if act.ndim == 2:
        return act, "none"
    if pool == "auto":
        pool = "mean" if act.ndim >= 3 else "none"
    dims = tuple(range(2, act.ndim))
    if pool == "mean":
        return act.mean(dims), pool
    if pool == "max":
        return act.amax(dims), pool
    return act.reshape(act.shape[0], -1), pool


class ImageEmbeddings:
    """Collect one vector per image at ``site`` during a scan (an Analyzer).

    Parameters
    ----------
    site:
        Any site: ``(N, D)`` is kept as is; ``(N, C, H, W)`` is pooled.
    pool:
        ``"auto"`` (global average for spatial sites), ``"mean"``, ``"max"`` or
        ``"flatten"`` (all ``C * H * W`` values).
    max_images:
        ``None`` keeps every image (memory ``N x D``); an int keeps a uniform random
        sample of that many images (by seeded keys of the dataset index: exact under
        sharding).
    thumbnail_size:
        Also keep each input downscaled to ``s x s`` (float16), for image maps.
    dtype:
        Storage dtype of the vectors.

    Example
    -------
    >>> import torch
    >>> from interpret import scan
    >>> from interpret.testing import chain_cnn
    >>> net = chain_cnn()
    >>> data = torch.utils.data.TensorDataset(torch.randn(5, 3, 32, 32))
    >>> res = scan(net, data, [ImageEmbeddings("features.8")], progress=False)[0]
    >>> tuple(res.vectors.shape), res.pool
    ((5, 10), 'mean')
    """

    def __init__(
        self,
        site: str,
        pool: str = "auto",
        *,
        max_images: int | None = None,
        thumbnail_size: int | None = None,
        dtype: torch.dtype = torch.float32,
        seed: int = 0,
    ) -> None:
        if not isinstance(site, str):
            raise TypeError(f"site must be a site name (str), not {type(site).__name__}.")
        if pool not in _POOLS:
            raise ValueError(f"pool must be one of {_POOLS}, not {pool!r}.")
        if max_images is not None and (not isinstance(max_images, int) or max_images < 1):
            raise ValueError(f"max_images must be a positive int or None, got {max_images!r}.")
        if thumbnail_size is not None and thumbnail_size < 1:
            raise ValueError(f"thumbnail_size must be positive or None, got {thumbnail_size}.")
        self.sites = (site,)
        self.site = site
        self.pool = pool
        self.max_images = max_images
        self.thumbnail_size = thumbnail_size
        self.dtype = dtype
        self.seed = seed
        self._chunks: list[dict[str, Tensor]] = []
        self._kept = BestRows(max_images) if max_images is not None else None
        self.seen = 0
        self.site_shape: tuple[int, ...] | None = None
        self.pool_used: str | None = None

    def update(self, activations: Mapping[str, Tensor], batch: Batch) -> None:
        act = activations[self.site]
        if act.ndim < 2:
            raise ValueError(f"Site {self.site!r} gives {tuple(act.shape)}: not one row per image.")
        changed = self.site_shape is not None and tuple(act.shape[1:]) != self.site_shape
        if changed and (self.pool == "flatten" or act.ndim == 2):
            raise ValueError(
                f"{self.site!r} changed shape from {self.site_shape} to "
                f"{tuple(act.shape[1:])}; resize the images to one size."
            )
        self.site_shape = tuple(act.shape[1:])
        vectors, self.pool_used = pool_activation(act, self.pool)
        index = batch.index.to(torch.int64)
        n = len(index)
        self.seen += n
        columns = {
            "vectors": vectors.to(self.dtype),
            "image_index": index,
            "labels": (batch.labels if batch.labels is not None else torch.full_like(index, -1)),
        }
        out = batch.outputs
        if isinstance(out, Tensor) and out.ndim == 2 and out.shape[0] == n:
            columns["predictions"] = out.argmax(1)
        if self.thumbnail_size is not None:
            size = (self.thumbnail_size, self.thumbnail_size)
            small = F.interpolate(batch.inputs.float(), size, mode="bilinear", antialias=True)
            columns["thumbnails"] = small.to(torch.float16)
        columns = {k: v.detach() for k, v in columns.items()}
        if self._kept is not None:  # a bounded sample: kept on the device until result()
            self._kept.offer(-uniform_keys(index, self.seed), index, columns)
        else:  # every image: non-blocking copies to the host, nothing waits per batch
            self._chunks.append({k: to_host(v) for k, v in columns.items()})

    def merge(self, other: ImageEmbeddings) -> None:
        if (self.site, self.pool, self.max_images, self.seed, self.thumbnail_size) != (
            other.site,
            other.pool,
            other.max_images,
            other.seed,
            other.thumbnail_size,
        ):
            raise ValueError("Cannot merge ImageEmbeddings built with different parameters.")
        if self._kept is not None and other._kept is not None:
            self._kept.merge(other._kept)
        else:
            self._chunks.extend(other._chunks)
        self.seen += other.seen
        self.site_shape = self.site_shape or other.site_shape
        self.pool_used = self.pool_used or other.pool_used

    def result(self) -> ImageEmbeddingsResult:
        if self.site_shape is None or self.pool_used is None:
            raise ValueError("ImageEmbeddings saw no batch; run it through interpret.scan first.")
        wait_for_copies()
        if self._kept is not None:
            cols = self._kept.to(torch.device("cpu")).columns
        else:
            cols = {k: torch.cat([c[k] for c in self._chunks]) for k in self._chunks[0]}
        order = torch.sort(cols["image_index"], stable=True).indices
        cols = {k: v[order] for k, v in cols.items()}
        if len(cols["image_index"].unique()) != len(order):
            raise ValueError(
                "Some dataset indices were scanned twice (overlapping shards?); each image "
                "must be scanned once."
            )
        labels = cols["labels"]
        return ImageEmbeddingsResult(
            vectors=cols["vectors"],
            image_index=cols["image_index"],
            labels=None if bool((labels < 0).all()) else labels,
            predictions=cols.get("predictions"),
            thumbnails=cols.get("thumbnails"),
            site=self.site,
            pool=self.pool_used,
            site_shape=self.site_shape,
            max_images=self.max_images,
            seed=self.seed,
            seen=self.seen,
        )
