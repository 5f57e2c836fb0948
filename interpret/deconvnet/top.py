"""Top-k activations per channel over a dataset, and their projections (Fig. 2).

Zeiler & Fergus (2013), Fig. 2: "for layers 2-5 we show the top 9 activations in a
random subset of feature maps across the validation data, projected down to pixel space
using our deconvolutional network approach ... For each feature map we also show the
corresponding image patches."

:class:`TopActivations` is an analyzer for :func:`interpret.scan`: per channel it keeps
the ``k`` strongest activations (each image at most once, at its strongest location, as
in the paper) with their dataset index and location, in memory that does not grow with
the dataset. :func:`interpret.deconvnet.project_top` then projects exactly those units
and crops each projection and its image patch to the unit's receptive field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from interpret.core.accumulators import TopK
from interpret.core.analyzer import Batch
from interpret.core.frames import column, grid_keys, make_frame, name_column
from interpret.core.naming import renamed
from interpret.core.results import Result

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TopActivations", "TopActivationsResult"]


@dataclass(frozen=True)
class TopActivationsResult(Result):
    """The ``k`` strongest activations per channel of one site over a dataset.

    Attributes
    ----------
    values:
        ``(C, k)`` activations, descending (float32; float64 for a float64 model);
        ``-inf`` in slots never filled (fewer than ``k`` images).
    image_index:
        ``(C, k)`` int64 dataset index of each (``-1`` when unfilled); ``index`` is its
        deprecated alias (for one release).
    y, x:
        ``(C, k)`` int64 location in the site's map.
    map_size:
        ``(h, w)`` of the site's maps (``(1, 1)`` for ``(N, C)`` features).
    site, k, distinct_images:
        The analyzer's parameters. Ties go to the lower dataset index, then the lower
        location, so a sharded scan merges to exactly the single-pass result.
    images_seen:
        Number of images scanned.
    """

    values: Tensor
    image_index: Tensor
    y: Tensor
    x: Tensor
    map_size: tuple[int, int]
    site: str
    k: int
    distinct_images: bool
    images_seen: int

    renamed_fields: ClassVar[dict[str, str]] = {"index": "image_index"}
    index = renamed("index", "image_index")

    def to_frame(self, image_names: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per kept activation: ``site``, ``channel``, ``rank`` (0 = strongest),
        ``value``, ``image_index`` (dataset index; ``image_name`` from ``image_names``,
        indexed by dataset index, e.g. a folder dataset's file names) and ``y``, ``x`` in
        the site's map. Unfilled slots (fewer than ``k`` images) are left out."""
        c, k = self.image_index.shape
        keys = grid_keys((c, k), ("channel", "rank"))
        ids = column(self.image_index).astype(np.int64)
        columns: dict[str, Any] = {
            "site": self.site,
            **keys,
            "value": column(self.values),
            "image_index": ids,
            "image_name": name_column(ids, image_names),
            "y": column(self.y),
            "x": column(self.x),
        }
        frame = make_frame(columns, c * k)
        return frame[ids >= 0].reset_index(drop=True)


class TopActivations:
    """Analyzer: the ``k`` strongest activations per channel of ``site``.

    Parameters
    ----------
    site:
        Qualified module name (``"features.6"``); its output is ``(N, C, h, w)`` or
        ``(N, C)``.
    k:
        How many per channel (the paper shows 9).
    distinct_images:
        Each image contributes at most its strongest location per channel (the paper's
        choice); ``False`` ranks every location.

    Example
    -------
    >>> import torch
    >>> from interpret import scan
    >>> from interpret.testing import chain_cnn
    >>> data = torch.utils.data.TensorDataset(torch.randn(20, 3, 23, 31))
    >>> (top,) = scan(chain_cnn(), data, [TopActivations("features.5", k=3)], progress=False)
    >>> tuple(top.values.shape)
    (8, 3)
    """

    def __init__(self, site: str, k: int = 9, distinct_images: bool = True) -> None:
        if not isinstance(site, str) or not site:
            raise TypeError("site must be a module name such as 'features.6'.")
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}.")
        self.site = site
        self.sites = (site,)
        self.k = k
        self.distinct_images = bool(distinct_images)
        self.map_size: tuple[int, int] | None = None
        self.images_seen = 0
        self._top: TopK | None = None
        self._pending: list[tuple[Tensor, Tensor, Tensor]] = []
        self._pending_width = 0
        self._threshold: tuple[Tensor, Tensor] | None = None

    def update(self, activations: Mapping[str, Tensor], batch: Batch) -> None:
        acts = activations[self.site]
        if acts.ndim == 2:
            acts = acts[:, :, None, None]
        if acts.ndim != 4:
            raise ValueError(
                f"TopActivations needs (N, C, h, w) or (N, C) activations at {self.site!r}, "
                f"got {tuple(acts.shape)}."
            )
        size = (int(acts.shape[2]), int(acts.shape[3]))
        if self.map_size is None:
            self.map_size = size
            self._top = TopK(int(acts.shape[1]), self.k, self.distinct_images)
        elif size != self.map_size:
            raise ValueError(
                f"The maps at {self.site!r} changed size from {self.map_size} to {size}; "
                "locations would not be comparable. Resize the images to one size."
            )
        top = self._top
        assert top is not None
        self.images_seen += int(acts.shape[0])
        # ranked in on the device with fixed shapes: nothing is read on the host per batch
        # (the state moves to the activations' device; result() brings it back)
        top.update(acts.detach(), batch.index)

    def _flush(self) -> None:
        """Rank the kept-aside candidates into the top-k."""
        if self._pending and self._top is not None:
            values, images, location = (torch.cat(parts, 1) for parts in zip(*self._pending))
            self._top.absorb(values, images, location)
        self._pending, self._pending_width, self._threshold = [], 0, None

    def __getstate__(self) -> dict[str, Any]:
        self._flush()  # pickled states (checkpoints, other ranks) hold plain top-k tensors
        return dict(self.__dict__)

    def merge(self, other: Any) -> None:
        if not isinstance(other, TopActivations):
            raise TypeError(f"Cannot merge a {type(other).__name__} into TopActivations.")
        if (other.site, other.k, other.distinct_images) != (
            self.site,
            self.k,
            self.distinct_images,
        ):
            raise ValueError("Cannot merge TopActivations with different site, k or mode.")
        self._flush()
        other._flush()
        if other._top is None:
            return
        if self._top is None:
            self.map_size, self._top = (
                other.map_size,
                TopK(other._top.channels, self.k, self.distinct_images),
            )
        elif other.map_size != self.map_size:
            raise ValueError(f"Map sizes differ: {self.map_size} vs {other.map_size}.")
        self._top.merge(other._top)
        self.images_seen += other.images_seen

    def result(self) -> TopActivationsResult:
        self._flush()
        if self._top is None or self.map_size is None:
            raise ValueError("TopActivations has seen no images; run scan first.")
        width = self.map_size[1]
        loc = self._top.location
        self._top.to(torch.device("cpu"))
        return TopActivationsResult(
            values=self._top.values.clone(),
            image_index=self._top.index.clone(),
            y=loc // width,
            x=loc % width,
            map_size=self.map_size,
            site=self.site,
            k=self.k,
            distinct_images=self.distinct_images,
            images_seen=self.images_seen,
        )
