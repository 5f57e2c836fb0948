"""Naming and selecting hook sites.

A *site* is a qualified module name as ``model.named_modules()`` spells it
(``"features.3"``, ``"layer2.0.conv1"``), optionally followed by ``":key"`` to pick
one element of a module that returns a tuple (``":0"``) or a dict (``":logits"``).
Selectors accepted by :func:`resolve_sites` are exact names, glob patterns
(``"features.*"``) and module classes (``nn.Conv2d``).
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from torch import nn

__all__ = ["Site", "list_sites", "resolve_sites", "get_module", "SiteSelector"]

SiteSelector = str | type[nn.Module]


@dataclass(frozen=True)
class Site:
    """One hook site: a module name and, for tuple/dict outputs, the element to take."""

    module: str
    key: str | None = None

    @classmethod
    def parse(cls, text: str) -> Site:
        module, sep, key = text.partition(":")
        return cls(module, key if sep else None)

    def __str__(self) -> str:
        return self.module if self.key is None else f"{self.module}:{self.key}"


def list_sites(model: nn.Module) -> list[str]:
    """Every hookable site of ``model``: the qualified names of all its submodules.

    The root module itself is not listed (its output is the model output, which
    :func:`interpret.scan` hands to analyzers anyway).

    Example
    -------
    >>> from torch import nn
    >>> list_sites(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()))
    ['0', '1']
    """
    return [name for name, _ in model.named_modules() if name]


def get_module(model: nn.Module, name: str) -> nn.Module:
    """The submodule called ``name``; ``ValueError`` listing the closest names if none is."""
    modules = dict(model.named_modules())
    if name not in modules or name == "":
        raise ValueError(_unknown_site_message(name, list(modules)))
    return modules[name]


def _unknown_site_message(name: str, names: Sequence[str]) -> str:
    names = [n for n in names if n]
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.4)
    hint = f" Closest sites: {', '.join(close)}." if close else ""
    preview = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
    return (
        f"Unknown site {name!r}.{hint} Sites are qualified module names as "
        f"model.named_modules() spells them ({preview}); interpret.list_sites(model) lists all."
    )


def resolve_sites(model: nn.Module, selectors: SiteSelector | Iterable[SiteSelector]) -> list[Site]:
    """Turn selectors into a de-duplicated, model-ordered list of :class:`Site`.

    Parameters
    ----------
    model:
        Any ``nn.Module``.
    selectors:
        One selector or several: an exact name (optionally ``"name:key"``), a glob
        pattern over names (``"features.*"``, ``"layer?.0.conv1"``) or a module class.

    Raises
    ------
    ValueError
        A name matching no module (the message lists the closest names), a pattern or
        class matching nothing, or no selector at all.
    TypeError
        A selector that is neither a string nor an ``nn.Module`` subclass.
    """
    if isinstance(selectors, (str, type)):
        selectors = [selectors]
    selectors = list(selectors)
    if not selectors:
        raise ValueError("No site given: pass at least one module name, pattern or class.")
    modules = [(name, module) for name, module in model.named_modules() if name]
    names = [name for name, _ in modules]
    order = {name: i for i, name in enumerate(names)}
    chosen: dict[Site, None] = {}
    for selector in selectors:
        if isinstance(selector, type) and issubclass(selector, nn.Module):
            hits = [Site(n) for n, m in modules if isinstance(m, selector)]
            if not hits:
                raise ValueError(f"No module of type {selector.__name__} in the model.")
        elif isinstance(selector, str):
            site = Site.parse(selector)
            if any(ch in site.module for ch in "*?["):
                hits = [Site(n, site.key) for n in fnmatch.filter(names, site.module)]
                if not hits:
                    raise ValueError(
                        f"Pattern {selector!r} matches no site; interpret.list_sites(model) "
                        "lists the names it is matched against."
                    )
            elif site.module in order:
                hits = [site]
            else:
                raise ValueError(_unknown_site_message(site.module, names))
        else:
            raise TypeError(
                f"A site selector is a module name, a glob pattern or an nn.Module class, "
                f"not {type(selector).__name__}."
            )
        for hit in hits:
            chosen[hit] = None
    return sorted(chosen, key=lambda s: (order[s.module], s.key or ""))
