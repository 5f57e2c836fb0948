"""Collecting pooled features of several sites over a dataset, for linear probes.

Zeiler & Fergus (2013), Sec. 5.2 and Table 7, train a linear SVM or softmax on the
features of each layer of a frozen network to measure how discriminative each layer is.
:class:`FeatureCollector` is the analyzer that gathers those features during one
:func:`interpret.scan`.

Memory: a probe needs every image's feature vector at once, so the collector keeps
``N x D`` float32 values per site (``N`` images, ``D`` features after pooling). That is
inherent to fitting a classifier, not a streaming reduction; bound it with ``pool``
(global pooling keeps ``D = C``) and ``max_images`` (a uniform random subset whose choice
depends only on the dataset indices and ``seed``, so sharded scans merge exactly).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from interpret.core import Batch, Result, uniform_keys
from interpret.core.device import to_host, wait_for_copies
from interpret.core.naming import renamed

__all__ = ["FeatureCollector", "ProbeFeatures", "POOLS", "pool_features"]

POOLS = ("avg", "max", "flatten")


def _check_pool(pool: str | int) -> None:
    if isinstance(pool, bool) or not (pool in POOLS or (isinstance(pool, int) and pool >= 1)):
        raise ValueError(
            f"pool must be 'avg', 'max', 'flatten' or a grid size k >= 1 (adaptive average "
            f"pooling to k x k, then flatten), not {pool!r}."
        )


def pool_features(activations: Tensor, pool: str | int) -> Tensor:
    """``(N, C, *spatial)`` -> ``(N, D)`` float32.

    ``"avg"`` / ``"max"``: global average / max over the spatial positions (``D = C``);
    ``"flatten"``: every value (``D = C * h * w``, what Zeiler & Fergus used);
    ``k`` (int): adaptive average pooling to ``k x k`` then flatten (``D = C k^2``; maps
    ``(N, C, h, w)`` only). ``(N, D)`` activations are returned as they are.

    Example
    -------
    >>> import torch
    >>> pool_features(torch.arange(8.0).view(1, 2, 2, 2), "avg").tolist()
    [[1.5, 5.5]]
    """
    _check_pool(pool)
    if activations.ndim < 2:
        raise ValueError(f"Activations must be (N, C, ...), got {tuple(activations.shape)}.")
    x = activations.detach().float()
    if x.ndim == 2:
        return x.clone()
    if pool == "avg":
        return x.flatten(2).mean(dim=2)
    if pool == "max":
        return x.flatten(2).amax(dim=2)
    if pool == "flatten":
        return x.flatten(1).clone()
    if x.ndim != 4:
        raise ValueError(
            f"pool={pool} (a k x k grid) needs maps (N, C, h, w), got {tuple(x.shape)}; use "
            "'avg', 'max' or 'flatten'."
        )
    return F.adaptive_avg_pool2d(x, int(pool)).flatten(1)


@dataclass(frozen=True)
class ProbeFeatures(Result):
    """Pooled features of several sites, one row per image, ordered by dataset index.

    Attributes
    ----------
    features:
        ``site -> (N, D_site)`` float32.
    labels:
        ``(N,)`` int64 class labels.
    image_index:
        ``(N,)`` int64 dataset positions, increasing (``index``: deprecated alias).
    pool:
        How maps were pooled (see :func:`pool_features`).
    images_seen:
        Images scanned (``N`` is smaller when ``max_images`` subsampled).
    max_images, seed:
        The subsampling parameters (``None``: every image kept).
    """

    features: dict[str, Tensor]
    labels: Tensor
    image_index: Tensor
    pool: str | int
    images_seen: int
    max_images: int | None
    seed: int

    renamed_fields: ClassVar[dict[str, str]] = {"index": "image_index"}
    index = renamed("index", "image_index")

    @property
    def sites(self) -> tuple[str, ...]:
        return tuple(self.features)


class FeatureCollector:
    """Analyzer for :func:`interpret.scan`: pooled features and labels of ``sites``.

    Parameters
    ----------
    sites:
        Site names (one or several).
    pool:
        ``"avg"`` (default), ``"max"``, ``"flatten"`` or a grid size ``k``; see
        :func:`pool_features`.
    max_images:
        Keep a uniform random subset of at most this many images (chosen by
        :func:`interpret.core.uniform_keys` of the dataset index and ``seed``, so the
        subset is the same however the scan is sharded); ``None`` keeps all.
    seed:
        Seed of that subset.

    Memory grows as ``N x D`` per site (inherent to fitting probes; see the module
    docstring); at most about ``2 * max_images`` rows are held at any time.

    Example
    -------
    >>> import torch
    >>> from torch.utils.data import TensorDataset
    >>> from interpret import scan
    >>> from interpret.testing import chain_cnn
    >>> data = TensorDataset(torch.randn(10, 3, 16, 16), torch.arange(10) % 2)
    >>> (feats,) = scan(chain_cnn(), data, [FeatureCollector(["features.0", "features.3"])],
    ...                 progress=False)
    >>> tuple(feats.features["features.3"].shape)
    (10, 8)
    """

    def __init__(
        self,
        sites: str | Sequence[str],
        pool: str | int = "avg",
        max_images: int | None = None,
        seed: int = 0,
    ) -> None:
        names = (sites,) if isinstance(sites, str) else tuple(sites)
        if not names or not all(isinstance(s, str) for s in names):
            raise ValueError("sites must be one site name or a non-empty list of site names.")
        if len(set(names)) != len(names):
            raise ValueError(f"sites lists a name twice: {names}.")
        _check_pool(pool)
        if max_images is not None and (isinstance(max_images, bool) or max_images < 1):
            raise ValueError(f"max_images must be a positive int or None, got {max_images!r}.")
        self.sites = names
        self.pool = pool
        self.max_images = max_images
        self.seed = int(seed)
        self.images_seen = 0
        self._features: dict[str, list[Tensor]] = {}  # per site, filled in update
        self._labels: list[Tensor] = []
        self._index: list[Tensor] = []
        self._rows = 0

    def update(self, activations: Mapping[str, Tensor], batch: Batch) -> None:
        if batch.labels is None:
            raise ValueError(
                "Linear probes need class labels: the dataset must yield (image, label) pairs "
                "or dicts with a 'label' entry."
            )
        # non-blocking copies to the host: nothing waits for the device per batch
        for site in self.sites:
            pooled = to_host(pool_features(activations[site], self.pool))
            self._features.setdefault(site, []).append(pooled)
        self._labels.append(to_host(batch.labels.detach().long().clone()))
        self._index.append(to_host(batch.index.detach().long().clone()))
        self.images_seen += int(batch.index.numel())
        self._rows += int(batch.index.numel())
        if self.max_images is not None and self._rows > 2 * self.max_images:
            self._compact()

    def _concat(self) -> tuple[dict[str, Tensor], Tensor, Tensor]:
        wait_for_copies()
        parts = {s: self._features.get(s, []) for s in self.sites}
        feats = {s: torch.cat(v) if v else torch.empty(0, 0) for s, v in parts.items()}
        labels = torch.cat(self._labels) if self._labels else torch.empty(0, dtype=torch.long)
        index = torch.cat(self._index) if self._index else torch.empty(0, dtype=torch.long)
        return feats, labels, index

    def _compact(self) -> None:
        """Keep the ``max_images`` rows with the smallest keys (then indices)."""
        feats, labels, index = self._concat()
        if self.max_images is not None and index.numel() > self.max_images:
            by_index = torch.argsort(index, stable=True)
            keys = uniform_keys(index[by_index], self.seed)
            keep = by_index[torch.argsort(keys, stable=True)[: self.max_images]]
            feats = {s: f[keep] for s, f in feats.items()}
            labels, index = labels[keep], index[keep]
        self._features = {s: [f] for s, f in feats.items()}
        self._labels, self._index = [labels], [index]
        self._rows = int(index.numel())

    def merge(self, other: FeatureCollector) -> None:
        same = (other.sites, other.pool, other.max_images, other.seed)
        if same != (self.sites, self.pool, self.max_images, self.seed):
            raise ValueError("Cannot merge FeatureCollectors built with different parameters.")
        for site in self.sites:
            self._features.setdefault(site, []).extend(other._features.get(site, []))
        self._labels.extend(other._labels)
        self._index.extend(other._index)
        self.images_seen += other.images_seen
        self._rows += other._rows
        self._compact()

    def result(self) -> ProbeFeatures:
        self._compact()
        feats, labels, index = self._concat()
        order = torch.argsort(index, stable=True)
        return ProbeFeatures(
            features={s: f[order].contiguous() for s, f in feats.items()},
            labels=labels[order],
            image_index=index[order],
            pool=self.pool,
            images_seen=self.images_seen,
            max_images=self.max_images,
            seed=self.seed,
        )
