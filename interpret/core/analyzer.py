"""What ``scan`` hands to analyzers, and what it expects of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from torch import Tensor

from interpret.core.results import Result

__all__ = ["Analyzer", "Batch", "bind_sites"]


@dataclass(frozen=True)
class Batch:
    """One batch as analyzers see it.

    Attributes
    ----------
    inputs:
        ``(N, C, H, W)`` on the scan's device, as given to the model.
    index:
        ``(N,)`` int64: each row's position in the dataset (global, also when sharded),
        on the scan's device (read it on the host only in ``result()``: on a GPU a read
        inside ``update`` waits for the device).
    labels:
        ``(N,)`` int64 class labels on the scan's device, or ``None`` when the dataset
        has none.
    outputs:
        The model's output for the batch (whatever its forward returns).
    meta:
        Any further per-batch fields the dataset yielded (a dict of collated values).
    """

    inputs: Tensor
    index: Tensor
    labels: Tensor | None = None
    outputs: Any = None
    meta: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Analyzer(Protocol):
    """A streaming reduction over the activations of one scan.

    ``sites`` are the site selectors the analyzer wants (hooked once however many
    analyzers share them); ``update`` gets the captured activations (``site -> tensor``,
    on the scan's device) and the :class:`Batch`; ``merge`` folds in another instance's
    state (built with the same parameters over another shard); ``result`` returns a
    frozen :class:`~interpret.core.results.Result` of CPU tensors. An analyzer with
    ``needs_grad = True`` gets activations that carry their graph.

    Site resolution, one mechanism for all analyzers: ``sites`` may hold globs
    (``"layer1.*"``), module classes and repeated calls (``"layer1.0.relu#1"``).
    :func:`interpret.scan` resolves them once, after its first forward, into the
    concrete capture keys and calls :func:`bind_sites`, which sets ``sites`` to those
    keys before the first ``update``. An analyzer that also has a ``site`` attribute is
    a *single-site* analyzer: its selector must resolve to exactly one key, which
    replaces ``site`` too. So ``update`` reads ``activations[self.site]`` (or each of
    ``self.sites``) and results name concrete sites, never a pattern. Analyzers build
    per-site state lazily, in ``update``, not from the names given to ``__init__``.
    """

    sites: tuple[str, ...]

    def update(self, activations: Mapping[str, Tensor], batch: Batch) -> None: ...

    def merge(self, other: Any) -> None: ...

    def result(self) -> Result: ...


def bind_sites(analyzer: Any, keys: Sequence[str]) -> None:
    """Point ``analyzer`` at the concrete capture ``keys`` its selectors resolved to.

    Sets ``analyzer.sites = tuple(keys)``; for a single-site analyzer (one with a
    ``site`` attribute) also ``analyzer.site = keys[0]``. Called by
    :func:`interpret.scan`; resolving concrete keys again gives the same keys.

    Raises
    ------
    ValueError
        A single-site analyzer whose selector matches several keys (the message lists
        them and says how to build one analyzer per site).
    """
    keys = tuple(keys)
    if hasattr(analyzer, "site"):
        if len(keys) != 1:
            name = type(analyzer).__name__
            shown = ", ".join(keys[:10]) + (f" ... ({len(keys)} in all)" if len(keys) > 10 else "")
            raise ValueError(
                f"{name} takes one site, but {analyzer.site!r} matches {len(keys)}: {shown}. "
                f"Pick one of them, or build one {name} per site: "
                f"[{name}(s, ...) for s in interpret.expand_sites(model, {analyzer.site!r}, "
                "example)]."
            )
        analyzer.site = keys[0]
    analyzer.sites = keys
