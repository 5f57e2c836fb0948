"""UMAP (McInnes, Healy & Melville 2018) of activation vectors, through umap-learn.

umap-learn compiles its kernels with numba the first time they run in a process: the
first ``fit`` costs about 45 s more on a 2-core machine (much less when numba's on-disk
cache is warm). :func:`warm_up_umap` pays that once on a tiny problem, so later timings
are the method's own; an :class:`~interpret.embeddings.embedding.Embedding` made by the
first call in a process says so in its ``note``.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import torch
from torch import Tensor

from interpret.embeddings.embedding import Embedding, to_numpy, vectors_of
from interpret.embeddings.pca import PCAResult, pca

__all__ = ["UMAP", "umap", "warm_up_umap"]

# Whether umap-learn's numba kernels have run in this process (a fact about the process,
# used only to annotate timings).
_WARM = {"umap": False}

_JIT_NOTE = (
    "First UMAP call in this process: the time includes numba's JIT compilation "
    "(about 45 s on a 2-core machine); call interpret.embeddings.warm_up_umap() first to "
    "keep it out of timings."
)


def warm_up_umap(seed: int = 0) -> float:
    """Compile umap-learn's kernels (fit and transform) on 300 random points.

    Returns the seconds it took (about 45 s cold on a 2-core machine, well under 1 s warm).
    """
    import umap as umap_learn

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = umap_learn.UMAP(n_neighbors=10, random_state=seed, n_jobs=1, n_epochs=20)
        model.fit(x)
        model.transform(x[:10])
    _WARM["umap"] = True
    return time.perf_counter() - start


class UMAP:
    """UMAP with ``transform`` for new points.

    Parameters
    ----------
    n_components:
        Output dimensions.
    n_neighbors:
        Size of the local neighbourhood (must be below the number of points).
    min_dist:
        How tightly points may pack in the embedding.
    metric:
        ``"euclidean"`` or ``"cosine"``.
    seed:
        An int makes the result reproducible (umap-learn then runs single-threaded);
        ``None`` lets it use every thread, not reproducibly. One exception, in
        umap-learn: with ``init="spectral"`` a k-NN graph of several disconnected
        components (well-separated clusters) gets a layout of the components that can
        differ between runs; ``init="pca"`` is reproducible there too.
    init:
        Initial layout: ``"spectral"`` (umap-learn's default), ``"pca"`` or ``"random"``.
    pca_dims:
        Reduce to this many dimensions with a torch PCA first (``None``: not).
    n_epochs:
        Optimisation epochs (umap-learn's default when ``None``).

    Example
    -------
    >>> from sklearn.datasets import make_blobs
    >>> x, _ = make_blobs(200, 8, centers=3, random_state=0)
    >>> emb = UMAP(n_neighbors=10, seed=0).fit(torch.from_numpy(x).float())  # doctest: +SKIP
    """

    def __init__(
        self,
        n_components: int = 2,
        n_neighbors: int = 15,
        min_dist: float = 0.1,
        *,
        metric: str = "euclidean",
        seed: int | None = 0,
        pca_dims: int | None = None,
        n_epochs: int | None = None,
        init: str = "spectral",
    ) -> None:
        if init not in ("spectral", "pca", "random"):
            raise ValueError(f"init must be 'spectral', 'pca' or 'random', not {init!r}.")
        if not isinstance(n_neighbors, int) or n_neighbors < 2:
            raise ValueError(f"n_neighbors must be an int of at least 2, got {n_neighbors!r}.")
        if metric not in ("euclidean", "cosine"):
            raise ValueError(f"metric must be 'euclidean' or 'cosine', not {metric!r}.")
        if pca_dims is not None and pca_dims < n_components:
            raise ValueError(f"pca_dims={pca_dims} must be at least n_components={n_components}.")
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.seed = seed
        self.pca_dims = pca_dims
        self.n_epochs = n_epochs
        self.init = init
        self._pca: PCAResult | None = None
        self._model: Any = None

    def _prepare(self, x: Tensor, fitting: bool) -> np.ndarray:
        if self.pca_dims is not None and x.shape[1] > self.pca_dims:
            if fitting:
                self._pca = pca(x, min(self.pca_dims, x.shape[0]), seed=self.seed or 0)
                return to_numpy(self._pca.coordinates)
            if self._pca is not None:
                return to_numpy(self._pca.transform(x))
        return to_numpy(x)

    def fit(self, data: Any) -> Embedding:
        """Embed ``(N, D)`` vectors (a tensor, an array, or a patch/image embeddings result)."""
        x, labels = vectors_of(data)
        n = x.shape[0]
        if self.n_neighbors >= n:
            raise ValueError(
                f"n_neighbors={self.n_neighbors} needs more points than that; got {n}. "
                "Lower n_neighbors or embed more points."
            )
        if n <= self.n_components + 1:
            raise ValueError(f"UMAP needs more than {self.n_components + 1} points, got {n}.")
        import umap as umap_learn

        note = "" if _WARM["umap"] else _JIT_NOTE
        start = time.perf_counter()
        z = self._prepare(x, fitting=True)
        self._model = umap_learn.UMAP(
            n_components=self.n_components,
            n_neighbors=self.n_neighbors,
            min_dist=self.min_dist,
            metric=self.metric,
            random_state=self.seed,
            n_jobs=1 if self.seed is not None else -1,
            n_epochs=self.n_epochs,
            init=self.init,
        )
        coords = self._model.fit_transform(z)
        _WARM["umap"] = True
        seconds = time.perf_counter() - start
        params = {
            "n_neighbors": self.n_neighbors,
            "min_dist": self.min_dist,
            "metric": self.metric,
            "seed": self.seed,
            "pca_dims": self.pca_dims if self._pca is not None else None,
            "n_epochs": self.n_epochs,
            "init": self.init,
        }
        return Embedding(
            coordinates=torch.from_numpy(np.asarray(coords, dtype=np.float32)).clone(),
            labels=labels,
            method="umap",
            params=params,
            seconds=seconds,
            note=note,
        )

    def transform(self, data: Any) -> Tensor:
        """Place new vectors ``(M, D)`` into the fitted embedding (umap-learn's transform)."""
        if self._model is None:
            raise ValueError("Call fit() before transform().")
        x, _ = vectors_of(data)
        coords = self._model.transform(self._prepare(x, fitting=False))
        return torch.from_numpy(np.asarray(coords, dtype=np.float32)).clone()


def umap(data: Any, n_neighbors: int = 15, *, seed: int | None = 0, **kwargs: Any) -> Embedding:
    """``UMAP(n_neighbors=..., seed=..., **kwargs).fit(data)``; see :class:`UMAP`."""
    return UMAP(n_neighbors=n_neighbors, seed=seed, **kwargs).fit(data)
