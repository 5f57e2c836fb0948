"""The unit atlas: a static site with one linkable page per unit, fed by one scan.

``interpret atlas OUT`` (or :func:`build`) scans the data once with
:class:`~interpret.deconvnet.TopActivations`, :class:`~interpret.core.ActivationStats`,
:class:`~interpret.neurons.Selectivity` and :class:`UnitCorrelation`, projects every
unit's top-9 with the deconvnet, optionally optimizes feature visualizations, and writes
``index.html``, ``<site>/index.html`` (every unit as a thumbnail, sortable and
filterable) and ``<site>/<unit>.html`` (one stable URL per unit), with a search over
unit ids and class names. Everything works from ``file://``. The numbers are kept in
``data/atlas.pt`` so the pages can be drawn again (``build(out, rebuild=True)``) and
more units given feature visualizations without a new scan
(``build(out, model, extend=True, maximize="blocks.5:3,7,9")``).

Example
-------
>>> atlas = build("atlas", maximize="none")            # doctest: +SKIP
>>> atlas.unit("blocks.2", 7)                          # doctest: +SKIP
"""

import importlib
from typing import Any

# Names load on first use, so that ``interpret --help`` (which registers the atlas
# subcommand) does not import torch.
_WHERE = {
    "MARKER": "builder",
    "atlas": "builder",
    "build": "builder",
    "default_data": "builder",
    "MAX_UNITS": "compute",
    "AtlasData": "compute",
    "SiteData": "compute",
    "check_sites": "compute",
    "compute_atlas": "compute",
    "default_sites": "compute",
    "CorrelationResult": "correlation",
    "UnitCorrelation": "correlation",
    "parse_maximize": "visualizations",
    "Atlas": "view",
    "UnitCard": "view",
    "open_atlas": "view",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"interpret.atlas.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'interpret.atlas' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "MARKER",
    "MAX_UNITS",
    "Atlas",
    "AtlasData",
    "CorrelationResult",
    "SiteData",
    "UnitCard",
    "UnitCorrelation",
    "atlas",
    "check_sites",
    "compute_atlas",
    "default_data",
    "default_sites",
    "open_atlas",
    "parse_maximize",
]
