"""Deeper-layer filters shown by their strongest deconvnet projection (Z&F Fig. 6d-e).

Filters past the first layer have too many input channels to be drawn as images; Zeiler
& Fergus show them by projecting, with the deconvnet, each channel's strongest
activation over a dataset down to pixel space. This needs :mod:`interpret.deconvnet`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from torch import nn
from torch.utils.data import Dataset

from interpret.core import scan

__all__ = ["strongest_projections"]


def strongest_projections(
    model: nn.Module,
    site: str,
    data: Dataset,
    *,
    channels: Sequence[int] | None = None,
    batch_size: int = 64,
    progress: bool = False,
) -> Any:
    """Each channel's strongest activation over ``data``, projected to pixel space.

    One :func:`interpret.scan` with ``interpret.deconvnet.TopActivations(site, k=1)``, then
    ``interpret.deconvnet.project_top``; draw it with
    :func:`interpret.filters.plot_filter_projections`.

    Parameters
    ----------
    model, site:
        The model and a convolution (or its rectifier) to show.
    data:
        A map-style Dataset (indexable: the winning images are re-read).
    channels:
        Channels to project (default all).

    Returns
    -------
    interpret.deconvnet.TopProjectionsResult
    """
    try:
        from interpret.deconvnet import TopActivations, project_top
    except ImportError as err:  # pragma: no cover - the package ships with interpret
        raise ImportError(
            "strongest_projections needs interpret.deconvnet; draw first-layer filters with "
            "plot_filter_grid instead."
        ) from err
    analyzers: list[Any] = [TopActivations(site, k=1)]
    (top,) = scan(model, data, analyzers, batch_size=batch_size, progress=progress)
    return project_top(model, data, cast(Any, top), channels=channels, batch_size=batch_size)
