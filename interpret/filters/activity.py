"""Per-channel activity of a site over a dataset: which filters are ever active?

Zeiler & Fergus (2013), Sec. 4.2 and Fig. 6: Krizhevsky et al.'s first layer has many
"dead" features; a dead filter is one whose output never passes the rectifier on any
image. :class:`FilterActivity` records, per channel, the maximum activation and how often
it exceeds a threshold, in one :func:`interpret.scan`, with exact merging.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from interpret.core import Batch, Result
from interpret.core.frames import column, make_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FilterActivity", "FilterActivityResult"]


@dataclass(frozen=True)
class FilterActivityResult(Result):
    """How active each channel of ``site`` was over a dataset.

    Attributes
    ----------
    site, threshold:
        The analyzer's parameters; "active" means ``activation > threshold``.
    max_activation:
        ``(C,)`` float64 largest activation over every image and position.
    mean_activation:
        ``(C,)`` float64 mean over every image and position.
    active_fraction:
        ``(C,)`` float64 fraction of (image, position) pairs that were active.
    image_fraction:
        ``(C,)`` float64 fraction of images with at least one active position.
    images_seen, positions_per_image:
        Images scanned and spatial positions per image (1 for ``(N, C)`` sites).
    """

    site: str
    threshold: float
    max_activation: Tensor
    mean_activation: Tensor
    active_fraction: Tensor
    image_fraction: Tensor
    images_seen: int
    positions_per_image: int

    @property
    def dead(self) -> Tensor:
        """``(C,)`` bool: channels never active over the dataset."""
        return self.max_activation <= self.threshold

    def to_frame(self) -> pd.DataFrame:
        """One row per channel: ``site``, ``channel``, ``max_activation``,
        ``mean_activation``, ``active_fraction``, ``image_fraction`` and ``dead``."""
        n = self.max_activation.numel()
        columns: dict[str, Any] = {"site": self.site, "channel": np.arange(n)}
        for name in ("max_activation", "mean_activation", "active_fraction", "image_fraction"):
            columns[name] = column(getattr(self, name))
        columns["dead"] = column(self.dead)
        return make_frame(columns, n)


class FilterActivity:
    """Analyzer for :func:`interpret.scan`: per-channel activity of one site.

    Parameters
    ----------
    site:
        A site with outputs ``(N, C, *spatial)`` or ``(N, C)``: a convolution (active =
        its output would pass a ReLU) or the rectifier after it.
    threshold:
        Activations ``> threshold`` count as active (default 0: the ReLU's threshold).

    State is ``O(C)`` and merges exactly (maxima and integer counts; the float64 sums
    to rounding).

    Example
    -------
    >>> import torch
    >>> from torch.utils.data import TensorDataset
    >>> from interpret import scan
    >>> from interpret.testing import chain_cnn
    >>> (res,) = scan(chain_cnn(), TensorDataset(torch.randn(8, 3, 16, 16)),
    ...               [FilterActivity("features.0")], progress=False)
    >>> tuple(res.max_activation.shape)
    (6,)
    """

    def __init__(self, site: str, threshold: float = 0.0) -> None:
        if not isinstance(site, str):
            raise TypeError(f"site must be a site name (str), not {type(site).__name__}.")
        self.sites: tuple[str, ...] = (site,)
        self.site = site
        self.threshold = float(threshold)
        self.images_seen = 0
        self.positions = 0
        self.channels: int | None = None
        self.max = torch.empty(0, dtype=torch.float64)
        self.sum = torch.empty(0, dtype=torch.float64)
        self.active_positions = torch.empty(0, dtype=torch.int64)
        self.active_images = torch.empty(0, dtype=torch.int64)

    def _init(self, channels: int, positions: int) -> None:
        self.channels, self.positions = channels, positions
        self.max = torch.full((channels,), float("-inf"), dtype=torch.float64)
        self.sum = torch.zeros(channels, dtype=torch.float64)
        self.active_positions = torch.zeros(channels, dtype=torch.int64)
        self.active_images = torch.zeros(channels, dtype=torch.int64)

    def update(self, activations: Mapping[str, Tensor], batch: Batch) -> None:
        acts = activations[self.site]
        if acts.ndim < 2:
            raise ValueError(
                f"Site {self.site!r} gives {tuple(acts.shape)}; FilterActivity needs channels "
                "(N, C, ...)."
            )
        flat = acts.detach().reshape(acts.shape[0], acts.shape[1], -1)
        if self.channels is None:
            self._init(flat.shape[1], flat.shape[2])
        elif (flat.shape[1], flat.shape[2]) != (self.channels, self.positions):
            raise ValueError(
                f"Site {self.site!r} changed shape between batches ({tuple(acts.shape[1:])}); "
                "scan images of one size."
            )
        active = flat > self.threshold
        self._to(flat.device)  # the state stays on the device until result()
        self.max = torch.maximum(self.max, flat.amax(dim=(0, 2)).double())
        self.sum += flat.double().sum(dim=(0, 2))
        self.active_positions += active.sum(dim=(0, 2))
        self.active_images += active.any(dim=2).sum(dim=0)
        self.images_seen += flat.shape[0]

    def _to(self, device: torch.device) -> None:
        for name in ("max", "sum", "active_positions", "active_images"):
            setattr(self, name, getattr(self, name).to(device))

    def merge(self, other: FilterActivity) -> None:
        if (other.site, other.threshold) != (self.site, self.threshold):
            raise ValueError("Cannot merge FilterActivity of different sites or thresholds.")
        if other.channels is None:
            return
        if self.channels is None:
            self._init(other.channels, other.positions)
        if (other.channels, other.positions) != (self.channels, self.positions):
            raise ValueError("Cannot merge FilterActivity states of different shapes.")
        other._to(self.max.device)
        self.max = torch.maximum(self.max, other.max)
        self.sum += other.sum
        self.active_positions += other.active_positions
        self.active_images += other.active_images
        self.images_seen += other.images_seen

    def result(self) -> FilterActivityResult:
        if self.channels is None:
            raise ValueError("FilterActivity saw no images; scan a non-empty dataset.")
        total = self.images_seen * self.positions
        self._to(torch.device("cpu"))
        return FilterActivityResult(
            site=self.site,
            threshold=self.threshold,
            max_activation=self.max.clone(),
            mean_activation=self.sum / total,
            active_fraction=self.active_positions.double() / total,
            image_fraction=self.active_images.double() / self.images_seen,
            images_seen=self.images_seen,
            positions_per_image=self.positions,
        )
