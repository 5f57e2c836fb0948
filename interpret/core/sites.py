"""Naming and selecting hook sites.

A *site* is a qualified module name as ``model.named_modules()`` spells it
(``"features.3"``, ``"layer2.0.conv1"``), optionally followed by ``":key"`` to pick
one element of a module that returns a tuple (``":0"``) or a dict (``":logits"``), and
by ``"#k"`` to pick the ``k+1``-th call of a module run several times in one forward
(``"layer1.0.relu#1"``: the second call of that ReLU, the output of a torchvision
ResNet block). The canonical spelling is ``module:key#k``, as :class:`Captured` keys
are spelled; ``module#k:key`` is accepted too. The first call has no suffix.

Selectors accepted by :func:`resolve_sites` are exact names, glob patterns
(``"features.*"``, ``"layer?.*.relu#1"``) and module classes (``nn.Conv2d``). Which
calls a selector stands for is known only after a forward: :func:`expand_keys` turns
selectors into the concrete keys one forward captured (an exact name: that key; a
pattern or class: every call of every matching module that ran).
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from torch import nn

__all__ = [
    "Site",
    "SiteSelector",
    "exact_sites",
    "expand_keys",
    "get_module",
    "list_sites",
    "missing_call_message",
    "resolve_sites",
]

SiteSelector = str | type[nn.Module]


@dataclass(frozen=True)
class Site:
    """One hook site: a module name, for tuple/dict outputs the element to take, and
    for a module called several times per forward the call (``None``: the first call,
    or for a pattern every call; ``k >= 1``: the call spelled ``#k``)."""

    module: str
    key: str | None = None
    call: int | None = None

    @classmethod
    def parse(cls, text: str) -> Site:
        """``"name"``, ``"name:key"``, ``"name#k"``, ``"name:key#k"`` or ``"name#k:key"``."""
        module, sep, key = text.partition(":")
        module, call = _split_call(module, text)
        key, key_call = _split_call(key, text)
        if call is not None and key_call is not None:
            raise ValueError(f"Site {text!r} names two calls; write 'module:key#k'.")
        return cls(module, key if sep else None, key_call if call is None else call)

    @property
    def hooked(self) -> Site:
        """The site without its call: what one forward hook on the module records."""
        return Site(self.module, self.key)

    def __str__(self) -> str:
        text = self.module if self.key is None else f"{self.module}:{self.key}"
        return text if self.call is None else f"{text}#{self.call}"


def _split_call(text: str, whole: str) -> tuple[str, int | None]:
    head, sep, tail = text.rpartition("#")
    if not sep:
        return text, None
    if not tail.isdigit():
        raise ValueError(
            f"Site {whole!r}: '#' must be followed by a call number, as in "
            "'layer1.0.relu#1' (the second call of that module in one forward)."
        )
    if int(tail) == 0:
        raise ValueError(
            f"Site {whole!r}: the first call of a module has no suffix ({head!r}); "
            "'#1' is its second call, '#2' its third."
        )
    return head, int(tail)


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
        One selector or several: an exact name (optionally ``"name:key"`` and/or
        ``"name#k"``), a glob pattern over names (``"features.*"``, ``"layer?.0.conv1"``,
        ``"layer*.relu#1"``) or a module class.

    Returns
    -------
    list of Site
        Sorted by module order. ``Site.call`` keeps a ``#k``; whether the module is
        really called ``k + 1`` times is known after a forward (see :func:`expand_keys`).

    Raises
    ------
    ValueError
        A name matching no module (the message lists the closest names), a pattern or
        class matching nothing, or no selector at all.
    TypeError
        A selector that is neither a string nor an ``nn.Module`` subclass.
    """
    selectors = _as_list(selectors)
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
            if _is_pattern(site.module):
                hits = [Site(n, site.key, site.call) for n in fnmatch.filter(names, site.module)]
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
    return sorted(chosen, key=lambda s: (order[s.module], s.key or "", s.call or 0))


def _is_pattern(name: str) -> bool:
    return any(ch in name for ch in "*?[")


def _as_list(selectors: SiteSelector | Iterable[SiteSelector]) -> list[SiteSelector]:
    if isinstance(selectors, (str, type)):
        return [selectors]
    if not isinstance(selectors, Iterable) or isinstance(selectors, bytes):
        raise TypeError(
            f"Sites are module names ('features.3'), patterns ('features.*') or module "
            f"classes, or a list of them; got {type(selectors).__name__}."
        )
    return list(selectors)


def exact_sites(selectors: SiteSelector | Iterable[SiteSelector]) -> list[Site]:
    """The selectors that name one site exactly (no pattern, no class), parsed."""
    return [
        Site.parse(s)
        for s in _as_list(selectors)
        if isinstance(s, str) and not _is_pattern(Site.parse(s).module)
    ]


def missing_call_message(site: Site, keys: Iterable[str]) -> str:
    """Why ``site`` (an exact site, maybe with ``#k``) is not among the captured ``keys``."""
    calls = [k for k in keys if Site.parse(k).hooked == site.hooked]
    name = str(site.hooked)
    if not calls:
        return (
            f"{name} is not called in the model's forward, so nothing is captured there; "
            "choose a site that runs (interpret.expand_sites(model, '*', example) lists "
            "every captured site)."
        )
    times = "once" if len(calls) == 1 else f"{len(calls)} times"
    return f"{name} is called {times} per forward ({', '.join(calls)}); there is no #{site.call}."


def expand_keys(
    model: nn.Module, selectors: SiteSelector | Iterable[SiteSelector], keys: Sequence[str]
) -> list[str]:
    """The concrete capture keys that ``selectors`` stand for, given one forward's ``keys``.

    Parameters
    ----------
    model:
        The model the keys were captured from (patterns and classes match its names).
    selectors:
        As for :func:`resolve_sites`. An exact name stands for that one key
        (``"layer1.0.relu"`` is the first call, ``"layer1.0.relu#1"`` the second); a
        pattern or module class for every captured call of every module it matches
        (``"layer1.*"`` gives ``layer1.0.relu`` and ``layer1.0.relu#1``); a pattern with
        ``#k`` for call ``k`` of each matching module that has one.
    keys:
        The keys of a :class:`~interpret.core.capture.Captured` after one forward with
        hooks on (at least) the selected modules, in the order the forward produced them.

    Returns
    -------
    list of str
        In the order the forward produced them (as ``keys``), each key once.

    Raises
    ------
    ValueError
        An exact site that was not captured (a ``#k`` beyond the module's calls, a module
        the forward never runs), or a pattern or class none of whose modules ran.
    """
    chosen: dict[str, None] = {}
    parsed = {key: Site.parse(key) for key in keys}
    for selector in _as_list(selectors):
        sites = resolve_sites(model, selector)
        if exact_sites([selector]):
            key = str(sites[0])
            if key not in parsed:
                raise ValueError(missing_call_message(sites[0], keys))
            hits = [key]
        else:
            wanted = {s.hooked: s.call for s in sites}
            hits = [
                key
                for key, site in parsed.items()
                if site.hooked in wanted and wanted[site.hooked] in (None, site.call)
            ]
            if not hits:
                shown = ", ".join(str(s) for s in sites[:6]) + (" ..." if len(sites) > 6 else "")
                label = selector if isinstance(selector, str) else selector.__name__
                raise ValueError(
                    f"{label!r} matches modules ({shown}) but captured nothing in a forward: "
                    "none of them runs (or has that call). interpret.expand_sites(model, "
                    "'*', example) lists every captured site."
                )
        chosen.update(dict.fromkeys(hits))
    return [key for key in parsed if key in chosen]
