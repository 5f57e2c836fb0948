"""Deprecated names of result fields: read-only aliases that warn, for one release.

When a public name of a result changes (see ``docs/results.md``), the old name stays
readable for one release through :func:`renamed`, a property that returns the new
field's value and emits a :class:`DeprecationWarning` naming the new name. Results saved
under the old field names still load: :class:`~interpret.core.results.Result` maps the
names listed in a class's ``renamed_fields`` when it reads a file.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["renamed"]


def renamed(old: str, new: str, *, since: str = "0.2") -> Any:
    """A read-only property ``old`` that warns and returns ``self.<new>``.

    Parameters
    ----------
    old:
        The deprecated name (used in the warning and the docstring).
    new:
        The attribute that replaces it (a field, property or method name, dotted paths
        allowed: ``"per_class.labels"``).
    since:
        The release that renamed it; the alias is removed one release later.

    Example
    -------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Point:
    ...     coordinates: tuple[float, float]
    ...     xy = renamed("xy", "coordinates")
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     Point((1.0, 2.0)).xy
    (1.0, 2.0)
    >>> caught[0].category.__name__
    'DeprecationWarning'
    """

    def getter(self: Any) -> Any:
        warnings.warn(
            f"{type(self).__name__}.{old} is deprecated since {since} and will be removed in "
            f"the next release; use .{new} instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        value = self
        for part in new.split("."):
            value = getattr(value, part)
        return value

    getter.__doc__ = f"Deprecated alias of ``{new}`` (since {since}, for one release)."
    getter.__name__ = old
    return property(getter)
