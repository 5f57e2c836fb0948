"""``ActivationStats``: per-channel summary statistics of sites over a dataset.

The simplest analyzer, and the capture summary of a report: for each site and
channel, the count, mean, standard deviation, min and max of the spatially averaged
activation, the fraction of (image, position) values above zero, and the images
with the strongest response.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from interpret.core.accumulators import RunningMoments, TopK
from interpret.core.analyzer import Batch
from interpret.core.frames import column, grid_keys, import_pandas, make_frame, name_column
from interpret.core.naming import renamed
from interpret.core.results import Result

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ActivationStats", "SiteStats", "ActivationStatsResult"]


@dataclass(frozen=True)
class SiteStats(Result):
    """Statistics of one site; every tensor is indexed by channel ``(C,)`` or ``(C, k)``.

    ``mean``/``std``/``min``/``max`` are over images of the per-image spatial mean;
    ``active_fraction`` is the fraction of all (image, position) values ``> 0``;
    ``top_image_index``/``top_value`` the ``k`` images with the largest spatial max
    (dataset index; ``top_index`` is a deprecated alias, for one release).
    """

    site: str
    shape: tuple[int, ...]
    count: int
    mean: Tensor
    std: Tensor
    min: Tensor
    max: Tensor
    active_fraction: Tensor
    top_value: Tensor
    top_image_index: Tensor

    renamed_fields: ClassVar[dict[str, str]] = {"top_index": "top_image_index"}
    top_index = renamed("top_index", "top_image_index")

    def to_frame(self, image_names: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per (channel, rank): ``site``, ``channel``, the channel's ``count``,
        ``mean``, ``std``, ``min``, ``max``, ``active_fraction``, then ``rank`` (0 =
        strongest), ``top_value`` and ``image_index`` of each of the ``k`` strongest images
        (``image_name`` from ``image_names``, indexed by dataset index). Unfilled slots
        (fewer than ``k`` images) are left out."""
        c, k = self.top_image_index.shape
        keys = grid_keys((c, k), ("channel", "rank"))
        columns: dict[str, Any] = {"site": self.site, **keys, "count": self.count}
        for name in ("mean", "std", "min", "max", "active_fraction"):
            columns[name] = column(getattr(self, name))[keys["channel"]]
        ids = column(self.top_image_index).astype(np.int64)
        columns["top_value"] = column(self.top_value)
        columns["image_index"] = ids
        columns["image_name"] = name_column(ids, image_names)
        frame = make_frame(columns, c * k)
        return frame[ids >= 0].reset_index(drop=True)


@dataclass(frozen=True)
class ActivationStatsResult(Result):
    """Per-channel statistics of each scanned site (``sites``: site -> :class:`SiteStats`)."""

    sites: dict[str, SiteStats]

    def to_frame(self, image_names: Sequence[str] | None = None) -> pd.DataFrame:
        """The rows of every site's :meth:`SiteStats.to_frame`, sites in scan order."""
        pd = import_pandas()
        frames = [s.to_frame(image_names) for s in self.sites.values()]
        return pd.concat(frames, ignore_index=True)


class _SiteState:
    def __init__(self, channels: int, k: int) -> None:
        self.moments = RunningMoments((channels,))
        self.top = TopK(channels, k)
        self.active = torch.zeros(channels, dtype=torch.float64)
        self.values = 0
        self.shape: tuple[int, ...] = ()


class ActivationStats:
    """Analyzer for :func:`interpret.scan`: summary statistics per channel of each site.

    Parameters
    ----------
    sites:
        Site names; each site's activation is ``(N, C, ...)`` (channels on axis 1).
    k:
        How many strongest images to remember per channel.
    """

    def __init__(self, sites: str | Sequence[str], k: int = 5) -> None:
        self.sites = (sites,) if isinstance(sites, str) else tuple(sites)
        if not self.sites:
            raise ValueError("ActivationStats needs at least one site.")
        self.k = k
        self.state: dict[str, _SiteState] = {}

    def update(self, activations: Mapping[str, Tensor], batch: Batch) -> None:
        for site in self.sites:
            act = activations[site]
            if act.ndim < 2:
                raise ValueError(f"Site {site!r} gives shape {tuple(act.shape)}: no channel axis.")
            state = self.state.get(site)
            if state is None:
                state = self.state[site] = _SiteState(act.shape[1], self.k)
                state.shape = tuple(act.shape[1:])
            flat = act.reshape(act.shape[0], act.shape[1], -1).float()
            state.moments.update(flat.mean(-1))
            state.top.update(flat, batch.index)
            active = (flat > 0).sum((0, 2)).double()  # on the device until result()
            state.active = state.active.to(active.device) + active
            state.values += flat.shape[0] * flat.shape[2]

    def merge(self, other: ActivationStats) -> None:
        for site, theirs in other.state.items():
            mine = self.state.get(site)
            if mine is None:
                self.state[site] = theirs
                continue
            mine.moments.merge(theirs.moments)
            mine.top.merge(theirs.top)
            mine.active = mine.active + theirs.active.to(mine.active.device)
            mine.values += theirs.values

    def result(self) -> ActivationStatsResult:
        if not self.state:
            raise ValueError("ActivationStats saw no data; run it through interpret.scan first.")
        out = {}
        for site, s in self.state.items():
            out[site] = SiteStats(
                site=site,
                shape=s.shape,
                count=s.moments.count,
                mean=s.moments.mean.float().cpu(),
                std=s.moments.std.float().cpu(),
                min=s.moments.min.float().cpu(),
                max=s.moments.max.float().cpu(),
                active_fraction=(s.active / max(s.values, 1)).float().cpu(),
                top_value=s.top.values.cpu().clone(),
                top_image_index=s.top.index.cpu().clone(),
            )
        return ActivationStatsResult(out)
