"""Backward-compatible names for the report's models and data.

The resolvers live in :mod:`interpret.models.resolve` and :mod:`interpret.data.resolve`
(with the cache in :mod:`interpret.models.cached`); import them from there.
"""

from __future__ import annotations

from interpret.data.resolve import DATA_NAMES, DataSource, resolve_data
from interpret.data.samples import SampleViews
from interpret.models.cached import (
    ZFNET_RECIPE,
    default_cache_dir,
    file_digest,
    trained_zfnet_digits,
)
from interpret.models.resolve import REPORT_MODELS, LoadedModel, model_classes, resolve_model

BUNDLED_MODELS = REPORT_MODELS

__all__ = [
    "BUNDLED_MODELS",
    "DATA_NAMES",
    "DataSource",
    "LoadedModel",
    "SampleViews",
    "ZFNET_RECIPE",
    "default_cache_dir",
    "file_digest",
    "model_classes",
    "resolve_data",
    "resolve_model",
    "trained_zfnet_digits",
]
