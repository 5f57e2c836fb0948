"""Filter health (Zeiler & Fergus 2013, Sec. 3 and 4.2, Fig. 6).

For a convolution: per-filter RMS, dominating filters (RMS far above the median), dead
filters (never active over a dataset, :class:`FilterActivity` in one scan), aliasing of
first-layer filters measured in the frequency domain (:func:`aliasing_fraction`);
a table (:meth:`FilterHealthResult.markdown`) and figures (:mod:`interpret.filters.plot`).
For training, :class:`FilterClipper` applies the paper's feature scale clipping after
every optimizer step.

Example
-------
>>> import torch
>>> from torch.utils.data import TensorDataset
>>> from interpret.testing import chain_cnn
>>> from interpret.filters import filter_health
>>> data = TensorDataset(torch.randn(16, 3, 16, 16))
>>> health = filter_health(chain_cnn(), "features.0", data)
>>> health.dead.shape
torch.Size([6])
"""

from interpret.filters.activity import FilterActivity, FilterActivityResult
from interpret.filters.clipping import FilterClipper, clip_filter_rms
from interpret.filters.health import (
    FilterHealthResult,
    aliasing_fraction,
    filter_health,
    filter_rms,
)
from interpret.filters.plot import (
    plot_aliasing,
    plot_filter_grid,
    plot_filter_projections,
    plot_filter_rms,
)
from interpret.filters.projections import strongest_projections

__all__ = [
    "FilterActivity",
    "FilterActivityResult",
    "FilterClipper",
    "FilterHealthResult",
    "aliasing_fraction",
    "clip_filter_rms",
    "filter_health",
    "filter_rms",
    "plot_aliasing",
    "plot_filter_grid",
    "plot_filter_projections",
    "plot_filter_rms",
    "strongest_projections",
]
