"""Principal component analysis in torch, on the data's device; also streaming and exact.

:func:`pca` matches scikit-learn's ``PCA`` (same components, signs, explained variance
with the ``n - 1`` divisor, whitening). :class:`IncrementalPCA` accumulates the mean and
scatter matrix of a stream (Chan et al.'s pairwise update, float64) and gives *exactly*
the PCA of everything it saw, in ``D x D`` memory; it merges across shards and can be
fed by :func:`interpret.scan` directly (every position of a site, no sampling).

Sign convention: each component's entry of largest magnitude is positive (scikit-learn's
``svd_flip(..., u_based_decision=False)``), so results are deterministic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from interpret.core import Batch, Result
from interpret.core.device import DeferredCheck
from interpret.core.naming import renamed
from interpret.embeddings.embedding import as_matrix, points_frame, vectors_of

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PCAResult", "pca", "IncrementalPCA"]


@dataclass(frozen=True)
class PCAResult(Result):
    """A fitted PCA.

    Attributes
    ----------
    components:
        ``(K, D)`` float64, orthonormal rows, by decreasing variance.
    mean:
        ``(D,)`` float64 mean of the fitted data.
    explained_variance:
        ``(K,)`` variance along each component (divisor ``n - 1``, as scikit-learn).
    explained_variance_ratio:
        ``(K,)`` share of the total variance.
    singular_values:
        ``(K,)`` singular values of the centred data.
    n_samples, whiten:
        How many vectors were fitted; whether coordinates are whitened.
    coordinates:
        ``(N, K)`` float32 coordinates of the fitted vectors (as
        :attr:`Embedding.coordinates <interpret.embeddings.embedding.Embedding>`), or
        ``None`` when not computed (:class:`IncrementalPCA` keeps no vectors).
    labels:
        ``(N,)`` int64 labels carried over from the input result, or ``None``.

    ``embedding`` is a deprecated alias of ``coordinates`` (for one release).
    """

    components: Tensor
    mean: Tensor
    explained_variance: Tensor
    explained_variance_ratio: Tensor
    singular_values: Tensor
    n_samples: int
    whiten: bool
    coordinates: Tensor | None
    labels: Tensor | None = None

    renamed_fields: ClassVar[dict[str, str]] = {"embedding": "coordinates"}
    embedding = renamed("embedding", "coordinates")

    def __len__(self) -> int:
        return 0 if self.coordinates is None else int(self.coordinates.shape[0])

    def to_frame(self, class_names: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per fitted vector: ``point``, ``dim_0`` ... ``dim_{K-1}``, and
        ``class_index`` / ``class_name`` where labels are known (as
        :meth:`Embedding.to_frame <interpret.embeddings.embedding.Embedding.to_frame>`).

        Raises ``ValueError`` for a streamed PCA, which kept no coordinates.
        """
        if self.coordinates is None:
            raise ValueError(
                "This PCA kept no coordinates (IncrementalPCA); call .transform(vectors) "
                "and make an Embedding, or fit with pca(vectors)."
            )
        return points_frame(self.coordinates, self.labels, class_names)

    def transform(self, x: Tensor | np.ndarray) -> Tensor:
        """Coordinates ``(M, K)`` (float32, on ``x``'s device) of new vectors ``(M, D)``."""
        x = as_matrix(x)
        if x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"Expected {self.mean.shape[0]} dimensions, got {x.shape[1]}.")
        dtype = torch.float64 if x.device.type != "mps" else torch.float32
        comp = self.components.to(x.device, dtype)
        z = (x.to(dtype) - self.mean.to(x.device, dtype)) @ comp.T
        if self.whiten:
            z = z / self.explained_variance.to(x.device, dtype).sqrt()
        return z.float()

    def inverse_transform(self, z: Tensor) -> Tensor:
        """Vectors ``(M, D)`` back from coordinates ``(M, K)`` (float32)."""
        z = z.to(torch.float64)
        if self.whiten:
            z = z * self.explained_variance.to(z.device).sqrt()
        return (z @ self.components.to(z.device) + self.mean.to(z.device)).float()


def _flip_signs(components: Tensor) -> Tensor:
    rows = torch.arange(components.shape[0], device=components.device)
    pivots = components.abs().argmax(1)
    return components * torch.sign(components[rows, pivots])[:, None]


def _from_scatter(
    mean: Tensor, scatter: Tensor, n: int, k: int, whiten: bool, total: Tensor | None = None
) -> PCAResult:
    evals, evecs = torch.linalg.eigh(scatter)
    evals, evecs = evals.flip(0)[:k].clamp_min(0), evecs.flip(1)[:, :k]
    total = scatter.diagonal().sum() if total is None else total
    comps = _flip_signs(evecs.T)
    var = evals / max(n - 1, 1)
    return PCAResult(
        components=comps.cpu(),
        mean=mean.cpu(),
        explained_variance=var.cpu(),
        explained_variance_ratio=(evals / total).cpu() if total > 0 else torch.zeros_like(var),
        singular_values=evals.sqrt().cpu(),
        n_samples=n,
        whiten=whiten,
        coordinates=None,
    )


def _randomized_svd(xc: Tensor, q: int, seed: int, iters: int = 6) -> tuple[Tensor, Tensor]:
    """Halko, Martinsson & Tropp (2011) range finder with power iterations; seeded."""
    gen = torch.Generator().manual_seed(seed)
    omega = torch.randn(xc.shape[1], q, generator=gen, dtype=torch.float64).to(xc)
    basis = torch.linalg.qr(xc @ omega).Q
    for _ in range(iters):
        basis = torch.linalg.qr(xc @ torch.linalg.qr(xc.T @ basis).Q).Q
    _, s, vt = torch.linalg.svd(basis.T @ xc, full_matrices=False)
    return s, vt


def pca(
    vectors: Tensor | np.ndarray,
    n_components: int = 2,
    *,
    whiten: bool = False,
    device: str | torch.device | None = None,
    solver: str = "auto",
    seed: int = 0,
) -> PCAResult:
    """PCA of ``(N, D)`` vectors, computed in float64 with torch on ``device``.

    Parameters
    ----------
    vectors:
        ``(N, D)``, ``N >= 2`` (a tensor, an array, or a patch/image embeddings result).
    n_components:
        ``K <= min(N, D)``.
    whiten:
        Scale coordinates to unit variance (as scikit-learn's ``whiten=True``).
    device:
        Where to compute (default: the data's device; float32 on MPS, which has no float64).
    solver:
        ``"full"``: eigendecomposition of the ``D x D`` scatter (``N >= D``) or SVD of the
        centred data; ``"randomized"``: ``torch.svd_lowrank`` (Halko et al.) for large
        ``N`` and ``D``; ``"auto"``: full when ``min(N, D) <= 4096``.

    Example
    -------
    >>> x = torch.randn(100, 5, generator=torch.Generator().manual_seed(0))
    >>> res = pca(x, 2)
    >>> tuple(res.coordinates.shape), bool(res.explained_variance[0] >= res.explained_variance[1])
    ((100, 2), True)
    """
    x, labels = vectors_of(vectors)
    n, d = x.shape
    if not isinstance(n_components, int) or not 1 <= n_components <= min(n, d):
        raise ValueError(
            f"n_components must be an int in [1, min(N, D)] = [1, {min(n, d)}] for {n} points "
            f"of {d} dims, got {n_components!r}."
        )
    if n < 2:
        raise ValueError("PCA needs at least 2 points.")
    if solver not in ("auto", "full", "randomized"):
        raise ValueError(f"solver must be 'auto', 'full' or 'randomized', not {solver!r}.")
    dev = torch.device(device) if device is not None else x.device
    dtype = torch.float32 if dev.type == "mps" else torch.float64
    x = x.to(dev, dtype)
    mean = x.mean(0)
    xc = x - mean
    total = (xc * xc).sum()
    if solver == "auto":
        solver = "full" if min(n, d) <= 4096 else "randomized"
    if solver == "full" and n >= d:
        res = _from_scatter(mean, xc.T @ xc, n, n_components, whiten, total)
    else:
        if solver == "full":
            _, s, vt = torch.linalg.svd(xc, full_matrices=False)
        else:
            s, vt = _randomized_svd(xc, min(n_components + 10, n, d), seed)
        s, vt = s[:n_components], vt[:n_components]
        comps = _flip_signs(vt)
        evals = s**2
        res = PCAResult(
            components=comps.cpu(),
            mean=mean.cpu(),
            explained_variance=(evals / (n - 1)).cpu(),
            explained_variance_ratio=(evals / total).cpu(),
            singular_values=s.cpu(),
            n_samples=n,
            whiten=whiten,
            coordinates=None,
        )
    coords = res.transform(x).cpu()
    return dataclasses.replace(res, coordinates=coords, labels=labels)


class IncrementalPCA:
    """Exact PCA of a stream of vectors, in ``D x D`` memory; mergeable; an Analyzer.

    Use ``partial_fit(x)`` on ``(N, D)`` batches, or give ``site`` to feed it from
    :func:`interpret.scan`: then every valid position's ``C x k x k`` neighbourhood vector
    (``neighbourhood=k``, as :class:`~interpret.embeddings.patches.PatchEmbeddings`) or,
    for ``(N, D)`` sites, every row, is used. ``result()`` equals :func:`pca` on all the
    vectors seen (up to float64 rounding) and carries no coordinates.

    Example
    -------
    >>> gen = torch.Generator().manual_seed(0)
    >>> x = torch.randn(300, 4, generator=gen)
    >>> inc = IncrementalPCA(2)
    >>> for chunk in x.split(64):
    ...     _ = inc.partial_fit(chunk)
    >>> torch.allclose(inc.result().components, pca(x, 2).components)
    True
    """

    def __init__(
        self,
        n_components: int = 2,
        *,
        site: str | None = None,
        neighbourhood: int = 1,
        whiten: bool = False,
    ) -> None:
        if not isinstance(n_components, int) or n_components < 1:
            raise ValueError(f"n_components must be a positive int, got {n_components!r}.")
        if not isinstance(neighbourhood, int) or neighbourhood < 1:
            raise ValueError(f"neighbourhood must be a positive int, got {neighbourhood!r}.")
        self.n_components = n_components
        self.site = site
        self.sites = (site,) if site is not None else ()
        self.neighbourhood = neighbourhood
        self.whiten = whiten
        self.count = 0
        self.mean: Tensor | None = None
        self.scatter: Tensor | None = None
        self._finite = DeferredCheck()

    def partial_fit(self, vectors: Tensor | np.ndarray) -> IncrementalPCA:
        """Fold ``(N, D)`` vectors in (computed and kept on their device; ``result()``
        returns CPU tensors)."""
        return self._fold(as_matrix(vectors))

    def _fold(self, x: Tensor) -> IncrementalPCA:
        if x.shape[0] == 0:
            return self
        dtype = torch.float32 if x.device.type == "mps" else torch.float64
        x = x.to(dtype)
        mean = x.mean(0)
        xc = x - mean
        self._combine(x.shape[0], mean.double(), (xc.T @ xc).double())
        return self

    def _combine(self, n: int, mean: Tensor, scatter: Tensor) -> None:
        if self.mean is None or self.scatter is None:
            self.count, self.mean, self.scatter = n, mean, scatter
            return
        if mean.shape != self.mean.shape:
            raise ValueError(f"Expected {self.mean.shape[0]} dimensions, got {mean.shape[0]}.")
        mean, scatter = mean.to(self.mean.device), scatter.to(self.mean.device)
        total = self.count + n
        delta = mean - self.mean
        self.scatter = self.scatter + scatter + torch.outer(delta, delta) * (self.count * n / total)
        self.mean = self.mean + delta * (n / total)
        self.count = total

    def update(self, activations: Mapping[str, Tensor], batch: Batch) -> None:
        if self.site is None:
            raise ValueError("IncrementalPCA needs site= to be used in a scan.")
        act = activations[self.site]
        if act.ndim == 4:
            k = self.neighbourhood
            if act.shape[2] < k or act.shape[3] < k:
                raise ValueError(f"neighbourhood={k} does not fit the map {tuple(act.shape[2:])}.")
            cols = F.unfold(act.float(), k)  # (N, C*k*k, L), (channel, dy, dx) order
            act = cols.transpose(1, 2).reshape(-1, cols.shape[1])
        elif act.ndim != 2:
            raise ValueError(
                f"Site {self.site!r} gives {tuple(act.shape)}; need (N, D) or (N, C, H, W)."
            )
        if act.ndim != 2 or not act.is_floating_point():
            act = as_matrix(act)
        # the NaN check runs on the device and is read in result(): no wait per batch
        self._finite.record(~torch.isfinite(act).all(), self.count)
        self._fold(act.detach())

    def merge(self, other: IncrementalPCA) -> None:
        if (other.n_components, other.site, other.neighbourhood, other.whiten) != (
            self.n_components,
            self.site,
            self.neighbourhood,
            self.whiten,
        ):
            raise ValueError("Cannot merge IncrementalPCA states with different parameters.")
        if other.mean is not None and other.scatter is not None:
            self._combine(other.count, other.mean, other.scatter)
        bad = other._finite.failed()
        if bad is not None:
            self._finite.record(torch.tensor(True), bad)

    def result(self) -> PCAResult:
        if self._finite.failed() is not None:
            raise ValueError(
                f"Site {self.site!r} produced NaN or infinite activations (first after "
                f"{self._finite.failed()} vectors); check the model and its inputs."
            )
        if self.mean is None or self.scatter is None or self.count < 2:
            raise ValueError("IncrementalPCA needs at least 2 vectors before result().")
        self.mean, self.scatter = self.mean.cpu(), self.scatter.cpu()
        d = self.mean.shape[0]
        if self.n_components > min(self.count, d):
            raise ValueError(
                f"n_components={self.n_components} exceeds min(N, D) = {min(self.count, d)}."
            )
        return _from_scatter(self.mean, self.scatter, self.count, self.n_components, self.whiten)
