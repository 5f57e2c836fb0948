"""``"package.module:attribute"`` strings: how users name their own model or dataset factory."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

__all__ = ["FACTORY_PATTERN", "import_factory"]

FACTORY_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
"""``package.module:attribute`` (the attribute may be dotted: ``module:Class.build``)."""


def import_factory(spec: str, what: str) -> Callable[..., Any]:
    """The callable that ``spec`` (``"package.module:attribute"``) names.

    ``what`` says what it should build (``"model"``, ``"dataset"``), for the messages.

    Raises
    ------
    ValueError
        The module cannot be imported, or has no such attribute.
    TypeError
        The attribute is not callable.
    """
    module_name, _, attribute = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"Cannot import {module_name!r} for {what} {spec!r}: {error}") from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f"{module_name} has no attribute {attribute!r} ({what} {spec!r}).")
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{spec} is a {type(target).__name__}, not a callable {what} factory.")
    return target
