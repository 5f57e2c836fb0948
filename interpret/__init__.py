"""interpret-cnn: see what a convolutional network learned.

One capture core (:func:`capture`, :func:`scan`) feeds the analyzers in
``interpret.deconvnet``, ``interpret.occlusion``, ``interpret.neurons`` and
``interpret.embeddings``.
"""

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

__version__ = "0.1.0"

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
]
