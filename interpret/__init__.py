"""interpret-cnn: see what a convolutional network learned.

One capture core (:func:`capture`, :func:`scan`) feeds the analyzers in
``interpret.deconvnet``, ``interpret.occlusion``, ``interpret.neurons``,
``interpret.embeddings`` and the other analyzer packages.

The capture core is imported with the package; the analyzer packages are imported on
first use (PEP 562), so ``import interpret`` stays light and
``interpret.occlusion.occlusion_sensitivity(...)`` works without importing
``interpret.occlusion`` by name first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from interpret.core import (
    Analyzer,
    Batch,
    Captured,
    Result,
    capture,
    expand_sites,
    feature_sites,
    list_sites,
    load_result,
    resolve_sites,
    scan,
)

if TYPE_CHECKING:  # for type checkers and IDEs; at run time they load on first use
    from interpret import (
        atlas,
        data,
        deconvnet,
        embeddings,
        filters,
        invariance,
        models,
        neurons,
        occlusion,
        probes,
        report,
        testing,
    )

__version__ = "0.1.0"

_SUBPACKAGES: tuple[str, ...] = (
    "atlas",
    "core",
    "data",
    "deconvnet",
    "embeddings",
    "filters",
    "invariance",
    "models",
    "neurons",
    "occlusion",
    "probes",
    "report",
    "testing",
)
"""The packages under ``interpret``: each is an attribute, imported when first read."""

__all__ = [
    "Analyzer",
    "Batch",
    "Captured",
    "Result",
    "__version__",
    "capture",
    "expand_sites",
    "feature_sites",
    "list_sites",
    "load_result",
    "resolve_sites",
    "scan",
    # the packages, imported on first use
    "atlas",
    "core",
    "data",
    "deconvnet",
    "embeddings",
    "filters",
    "invariance",
    "models",
    "neurons",
    "occlusion",
    "probes",
    "report",
    "testing",
]


def __getattr__(name: str) -> Any:
    """``interpret.<package>``: import an analyzer package on first access (PEP 562)."""
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
