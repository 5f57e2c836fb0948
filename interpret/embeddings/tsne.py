"""t-SNE (van der Maaten & Hinton 2008) of activation vectors, fast enough for 100k points.

The default path: a torch PCA to ``pca_dims`` (100) dimensions (openTSNE and scikit-learn
advise about 50 for dense high-dimensional data; 100 keeps more within-cluster structure
and matched scikit-learn's neighbourhood preservation on the raw vectors in our bench);
the ``3 x perplexity`` nearest neighbours, exact in torch up to 10,000 points and from
Annoy beyond; then openTSNE (Poličar et al. 2019) with FFT-accelerated interpolation
gradients from 10,000 points (Linderman et al. 2019, "FIt-SNE"; Barnes-Hut below, where
it is faster) on ``n_jobs`` threads. scikit-learn's Barnes-Hut t-SNE is the fallback
(``backend="sklearn"``, or when openTSNE is missing); it has no ``transform``.

Perplexity ``P`` uses the ``3P`` nearest neighbours of each point, so ``N`` points allow
``P < (N - 1) / 3``; a larger one is refused rather than silently lowered.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import Tensor

from interpret.embeddings.embedding import Embedding, to_numpy, vectors_of
from interpret.embeddings.pca import PCAResult, pca
from interpret.embeddings.search import exact_knn

__all__ = ["TSNE", "tsne"]

_BACKENDS = ("auto", "opentsne", "sklearn")


def _torch_knn_index(data: np.ndarray, k: int) -> Any:
    """An openTSNE ``KNNIndex`` answered by exact torch search (build and query)."""
    from openTSNE.nearest_neighbors import KNNIndex

    class TorchExact(KNNIndex):
        VALID_METRICS = ["euclidean"]

        def build(self) -> tuple[np.ndarray, np.ndarray]:
            x = torch.from_numpy(self.data)
            dist, idx = exact_knn(x, x, self.k, torch.arange(x.shape[0]))
            return idx.numpy(), dist.numpy()

        def query(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
            q = torch.from_numpy(np.ascontiguousarray(query, dtype=np.float32))
            dist, idx = exact_knn(torch.from_numpy(self.data), q, k)
            return idx.numpy(), dist.numpy()

    return TorchExact(data, k)


def _have_opentsne() -> bool:
    try:
        import openTSNE  # noqa: F401
    except ImportError:
        return False
    return True


class TSNE:
    """t-SNE with a ``transform`` for new points (openTSNE backend).

    Parameters
    ----------
    n_components:
        Output dimensions (2 for maps).
    perplexity:
        Effective number of neighbours; needs ``perplexity < (N - 1) / 3``.
    seed:
        Seeds the PCA, the neighbour search and the initialisation: same seed, same map.
    backend:
        ``"opentsne"``, ``"sklearn"`` or ``"auto"`` (openTSNE when installed).
    pca_dims:
        Reduce to this many dimensions with :func:`~interpret.embeddings.pca.pca` first
        (``None``: use the vectors as they are). Ignored when ``D <= pca_dims``.
    n_jobs:
        Threads (default: all of ``torch.get_num_threads()``).
    n_iter, early_exaggeration_iter:
        Optimisation steps after and during early exaggeration (openTSNE defaults).
    metric:
        ``"euclidean"`` or ``"cosine"`` (distances between the input vectors).
    neighbors:
        How the ``3 x perplexity`` nearest neighbours are found: ``"exact"`` (torch,
        chunked brute force), ``"annoy"`` (openTSNE's approximate Annoy index) or
        ``"auto"``: exact up to 10,000 points (no slower than Annoy there), Annoy beyond.
    gradient:
        openTSNE's repulsive-force method: ``"fft"`` (interpolation on a grid, linear in
        ``N``), ``"bh"`` (Barnes-Hut, ``N log N`` with less overhead per step) or
        ``"auto"``: FFT from 10,000 points (BH is faster below that), BH for more than
        2 output dimensions.
    fft_interval:
        Width, in embedding units, of the FFT grid's intervals (openTSNE's
        ``ints_in_interval``; FIt-SNE's own default is 1). The grid grows with the map's
        extent and late in the optimisation it dominates the cost (openTSNE computes it on
        one thread). The default 1.5 measured 1.6x (50k points) to 1.8x (20k) faster than 1
        in ``bench/embeddings.py`` for 0.007 less 10-NN preservation, still above
        scikit-learn's; give 1 for FIt-SNE's accuracy, 2 for another ~2x at a further
        ~0.01. Above 3 the interpolation visibly degrades the map.

    Example
    -------
    >>> from sklearn.datasets import make_blobs
    >>> x, y = make_blobs(300, 10, centers=3, random_state=0)
    >>> model = TSNE(perplexity=20, seed=0)
    >>> emb = model.fit(torch.from_numpy(x).float())
    >>> tuple(emb.coordinates.shape), tuple(model.transform(torch.zeros(2, 10)).shape)
    ((300, 2), (2, 2))
    """

    def __init__(
        self,
        n_components: int = 2,
        perplexity: float = 30.0,
        *,
        seed: int = 0,
        backend: str = "auto",
        pca_dims: int | None = 100,
        n_jobs: int | None = None,
        n_iter: int = 500,
        early_exaggeration_iter: int = 250,
        metric: str = "euclidean",
        gradient: str = "auto",
        neighbors: str = "auto",
        fft_interval: float = 1.5,
    ) -> None:
        if fft_interval <= 0:
            raise ValueError(f"fft_interval must be positive, got {fft_interval}.")
        if neighbors not in ("auto", "exact", "annoy"):
            raise ValueError(f"neighbors must be 'auto', 'exact' or 'annoy', not {neighbors!r}.")
        if gradient not in ("auto", "fft", "bh"):
            raise ValueError(f"gradient must be 'auto', 'fft' or 'bh', not {gradient!r}.")
        if backend not in _BACKENDS:
            raise ValueError(f"backend must be one of {_BACKENDS}, not {backend!r}.")
        if perplexity <= 0:
            raise ValueError(f"perplexity must be positive, got {perplexity}.")
        if metric not in ("euclidean", "cosine"):
            raise ValueError(f"metric must be 'euclidean' or 'cosine', not {metric!r}.")
        if pca_dims is not None and pca_dims < n_components:
            raise ValueError(f"pca_dims={pca_dims} must be at least n_components={n_components}.")
        if backend == "auto":
            backend = "opentsne" if _have_opentsne() else "sklearn"
        if backend == "opentsne" and not _have_opentsne():
            raise ValueError(
                "backend='opentsne' needs the openTSNE package (pip install openTSNE)."
            )
        self.n_components = n_components
        self.perplexity = float(perplexity)
        self.seed = seed
        self.backend = backend
        self.pca_dims = pca_dims
        self.n_jobs = n_jobs or torch.get_num_threads()
        self.n_iter = n_iter
        self.early_exaggeration_iter = early_exaggeration_iter
        self.metric = metric
        self.gradient = gradient
        self.neighbors = neighbors
        self.fft_interval = float(fft_interval)
        self._pca: PCAResult | None = None
        self._fitted: Any = None

    def _prepare(self, x: Tensor, fitting: bool) -> np.ndarray:
        if self.metric == "cosine":
            x = torch.nn.functional.normalize(x, dim=1)
        if self.pca_dims is not None and x.shape[1] > self.pca_dims:
            if fitting:
                k = min(self.pca_dims, x.shape[0])
                self._pca = pca(x, k, seed=self.seed)
                return to_numpy(self._pca.coordinates)
            if self._pca is not None:
                return to_numpy(self._pca.transform(x))
        return to_numpy(x)

    def _check(self, n: int) -> None:
        if n < 4:
            raise ValueError(f"t-SNE needs at least 4 points, got {n}.")
        if 3 * self.perplexity >= n - 1:
            raise ValueError(
                f"perplexity={self.perplexity:g} is too large for {n} points: t-SNE uses the "
                f"3 x perplexity nearest neighbours of each point, so it must be below "
                f"(N - 1) / 3 = {(n - 1) / 3:.1f}. Lower the perplexity or embed more points."
            )

    def fit(self, data: Any) -> Embedding:
        """Embed ``(N, D)`` vectors (a tensor, an array, or a patch/image embeddings result)."""
        x, labels = vectors_of(data)
        self._check(x.shape[0])
        start = time.perf_counter()
        z = self._prepare(x, fitting=True)
        note = ""
        gradient, neighbors = "bh", "exact"
        if self.backend == "opentsne":
            import openTSNE

            gradient = self.gradient
            if gradient == "auto" or self.n_components > 2:
                gradient = "fft" if x.shape[0] >= 10_000 and self.n_components <= 2 else "bh"

            neighbors = self.neighbors
            if neighbors == "auto":
                neighbors = "exact" if x.shape[0] <= 10_000 else "annoy"
            model = openTSNE.TSNE(
                n_components=self.n_components,
                perplexity=self.perplexity,
                n_iter=self.n_iter,
                early_exaggeration_iter=self.early_exaggeration_iter,
                negative_gradient_method=gradient,
                ints_in_interval=self.fft_interval,
                metric="euclidean",
                n_jobs=self.n_jobs,
                random_state=self.seed,
                verbose=False,
            )
            if neighbors == "exact":
                k = min(x.shape[0] - 1, int(3 * self.perplexity))
                affinities = openTSNE.affinity.PerplexityBasedNN(
                    perplexity=self.perplexity,
                    knn_index=_torch_knn_index(z, k),
                    n_jobs=self.n_jobs,
                    random_state=self.seed,
                )
                init = openTSNE.initialization.pca(z, random_state=self.seed)
                self._fitted = model.fit(affinities=affinities, initialization=init)
            else:
                self._fitted = model.fit(z)
            coords = np.asarray(self._fitted)
        else:
            from sklearn.manifold import TSNE as SkTSNE

            model = SkTSNE(
                n_components=self.n_components,
                perplexity=self.perplexity,
                max_iter=self.n_iter + self.early_exaggeration_iter,
                init="pca",
                learning_rate="auto",
                random_state=self.seed,
                n_jobs=self.n_jobs,
            )
            coords = model.fit_transform(z)
            self._fitted = None
            note = "scikit-learn backend: no transform for new points."
        seconds = time.perf_counter() - start
        params = {
            "perplexity": self.perplexity,
            "seed": self.seed,
            "backend": self.backend,
            "pca_dims": self.pca_dims if self._pca is not None else None,
            "n_iter": self.n_iter,
            "early_exaggeration_iter": self.early_exaggeration_iter,
            "metric": self.metric,
            "gradient": gradient if self.backend == "opentsne" else "bh",
            "neighbors": neighbors,
            "fft_interval": self.fft_interval,
            "n_jobs": self.n_jobs,
        }
        return Embedding(
            coordinates=torch.from_numpy(np.asarray(coords, dtype=np.float32)).clone(),
            labels=labels,
            method="tsne" if self.backend == "opentsne" else "tsne-sklearn",
            params=params,
            seconds=seconds,
            note=note,
        )

    def transform(self, data: Any) -> Tensor:
        """Place new vectors ``(M, D)`` into the fitted map (openTSNE's ``transform``).

        The new points are optimised against the fixed reference embedding; the map
        itself does not move.
        """
        if self.backend != "opentsne":
            raise ValueError(
                "scikit-learn's t-SNE has no transform for new points; use backend='opentsne'."
            )
        if self._fitted is None:
            raise ValueError("Call fit() before transform().")
        x, _ = vectors_of(data)
        fitted = np.array(self._fitted, copy=True)  # the map as fit() returned it
        coords = np.asarray(self._fitted.transform(self._prepare(x, fitting=False)))
        # openTSNE moves (re-centres) its reference embedding in place while placing the
        # new points; shift them back into fit()'s frame and put the map back as it was
        offset = (fitted - np.asarray(self._fitted)).mean(0)
        self._fitted[...] = fitted
        return torch.from_numpy(np.asarray(coords + offset, dtype=np.float32)).clone()


def tsne(data: Any, perplexity: float = 30.0, *, seed: int = 0, **kwargs: Any) -> Embedding:
    """``TSNE(perplexity=..., seed=..., **kwargs).fit(data)``; see :class:`TSNE`."""
    return TSNE(perplexity=perplexity, seed=seed, **kwargs).fit(data)
