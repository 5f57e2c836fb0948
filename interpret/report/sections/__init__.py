"""The registry of report sections: one module per analyzer, registered by name.

``available()`` lists them in report order; ``get(name)`` returns a new instance;
``register`` adds a section class (a user can register their own before calling
:func:`interpret.report.run_report`).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterable

from interpret.report.sections.base import Figure, Section, SectionOutput, Table, check_params

__all__ = [
    "Figure",
    "Section",
    "SectionOutput",
    "Table",
    "available",
    "check_params",
    "check_section_names",
    "get",
    "register",
    "resolve_names",
]

_REGISTRY: dict[str, type[Section]] = {}
_BUILTIN = (
    "summary",
    "deconvnet",
    "deconvnet_switches",
    "occlusion",
    "maximize",
    "selectivity",
    "embeddings",
    "invariance",
    "probes",
    "filters",
)
_loaded = False


def register(cls: type[Section]) -> type[Section]:
    """Class decorator: add a section to the registry under ``cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a name.")
    _REGISTRY[cls.name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a section (for tests that register their own)."""
    _REGISTRY.pop(name, None)


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in _BUILTIN:
        importlib.import_module(f"interpret.report.sections.{name}")


def available() -> list[str]:
    """Registered section names, built-in ones first in report order."""
    _load_builtin()
    order = {name: i for i, name in enumerate(_BUILTIN)}
    return sorted(_REGISTRY, key=lambda n: (order.get(n, len(order)), n))


def get(name: str) -> Section:
    """A new instance of section ``name``; ``ValueError`` naming the known ones otherwise."""
    _load_builtin()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"Unknown analyzer {name!r}.{hint} Known: {', '.join(available())}.")
    return _REGISTRY[name]()


def resolve_names(
    names: tuple[str, ...] | list[str] | None, wants: Callable[[str], bool] | None = None
) -> list[str]:
    """Check ``names`` and return them in report order, without repeats.

    ``None`` stands for every section, less the demo sections whose bundled extra
    ``wants(extra)`` declines (a section named explicitly always runs).
    """
    known = available()
    if names is None:
        return [
            n
            for n in known
            if _REGISTRY[n].demo is None or wants is None or wants(_REGISTRY[n].demo)
        ]
    for name in names:
        get(name)  # raises for unknown names
    wanted = set(names)
    return [n for n in known if n in wanted]


def check_section_names(names: Iterable[str]) -> None:
    """``ValueError`` for a name that is no section (in ``--set S.KEY=V`` or ``[sections.S]``)."""
    known = available()
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ValueError(
                f"Parameters given for {name!r}, which is no section.{hint} "
                f"Sections: {', '.join(known)}."
            )
