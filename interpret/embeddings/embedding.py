"""The low-dimensional embedding a reduction returns, and how inputs are read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from interpret.core import Result
from interpret.core.frames import column, make_frame, name_column
from interpret.core.validate import check_real

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Embedding", "as_matrix", "points_frame", "to_numpy", "vectors_of"]


def as_matrix(x: Tensor | np.ndarray, name: str = "vectors") -> Tensor:
    """Check and convert ``(N, D)`` data (tensor or array) to a floating tensor."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a tensor or NumPy array (N, D), not {type(x).__name__}.")
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N points, D dims), got shape {tuple(x.shape)}.")
    check_real(x, name)
    if x.dtype == torch.bool:
        raise TypeError(f"{name} must be numbers, not booleans; convert them with .float().")
    if not x.is_floating_point():
        x = x.float()
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contain NaN or infinite values; drop or fix those rows first.")
    return x


@dataclass(frozen=True)
class Embedding(Result):
    """Points placed in 2 (or ``K``) dimensions by t-SNE or UMAP.

    :func:`~interpret.embeddings.pca.pca` returns a
    :class:`~interpret.embeddings.pca.PCAResult`, which names its points the same way
    (``coordinates``, ``labels``, ``to_frame()``) and adds the fitted components.

    Attributes
    ----------
    coordinates:
        ``(N, K)`` float32, one row per input vector in input order.
    labels:
        ``(N,)`` int64 labels carried over from the input result, or ``None``.
    method:
        ``"tsne"`` (openTSNE), ``"tsne-sklearn"`` or ``"umap"``.
    params:
        The parameters that made it (perplexity, seed, ...).
    seconds:
        Wall time of the fit.
    note:
        Anything a reader of the timing or the picture should know (empty if nothing).
    """

    coordinates: Tensor
    labels: Tensor | None
    method: str
    params: dict[str, Any]
    seconds: float
    note: str = ""

    def __len__(self) -> int:
        return int(self.coordinates.shape[0])

    def to_frame(self, class_names: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per point: ``point`` (input row), ``dim_0`` ... ``dim_{K-1}``, and
        ``class_index`` / ``class_name`` (``class_names[label]``) where labels are known.
        """
        return points_frame(self.coordinates, self.labels, class_names)


def points_frame(
    coordinates: Tensor, labels: Tensor | None, class_names: Sequence[str] | None
) -> pd.DataFrame:
    """The long-form table of ``(N, K)`` points (shared by Embedding and PCAResult)."""
    n, k = coordinates.shape
    columns: dict[str, Any] = {"point": np.arange(n)}
    for j in range(k):
        columns[f"dim_{j}"] = column(coordinates[:, j])
    if labels is not None:
        ids = column(labels).astype(np.int64)
        columns["class_index"] = ids
        columns["class_name"] = name_column(ids, class_names)
    return make_frame(columns, n)


def vectors_of(data: Any) -> tuple[Tensor, Tensor | None]:
    """``(N, D)`` vectors (float64 kept, other floats as float32) and labels, from a
    tensor, an array or a patch/image embeddings result."""
    labels = None
    if hasattr(data, "vectors") and isinstance(data.vectors, Tensor):
        labels = getattr(data, "labels", None)
        data = data.vectors
    x = as_matrix(data if isinstance(data, (Tensor, np.ndarray)) else _reject(data))
    return (x if x.dtype == torch.float64 else x.float()), labels


def _reject(data: Any) -> Tensor:
    raise TypeError(
        "Expected (N, D) vectors as a tensor or NumPy array, or a PatchEmbeddingsResult / "
        f"ImageEmbeddingsResult; got {type(data).__name__}."
    )


def to_numpy(x: Tensor) -> np.ndarray:
    """A C-contiguous float32 NumPy copy of a CPU/GPU tensor."""
    return np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())
