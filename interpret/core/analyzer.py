"""What ``scan`` hands to analyzers, and what it expects of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from torch import Tensor

from interpret.core.results import Result

__all__ = ["Analyzer", "Batch"]


@dataclass(frozen=True)
class Batch:
    """One batch as analyzers see it.

    Attributes
    ----------
    inputs:
        ``(N, C, H, W)`` on the scan's device, as given to the model.
    index:
        ``(N,)`` int64: each row's position in the dataset (global, also when sharded).
    labels:
        ``(N,)`` int64 class labels, or ``None`` when the dataset has none.
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

    ``sites`` are the site names the analyzer wants (hooked once however many analyzers
    share them); ``update`` gets the captured activations (``site -> tensor``, on the
    scan's device) and the :class:`Batch`; ``merge`` folds in another instance's state
    (built with the same parameters over another shard); ``result`` returns a frozen
    :class:`~interpret.core.results.Result` of CPU tensors. An analyzer with
    ``needs_grad = True`` gets activations that carry their graph.
    """

    sites: tuple[str, ...]

    def update(self, activations: Mapping[str, Tensor], batch: Batch) -> None: ...

    def merge(self, other: Any) -> None: ...

    def result(self) -> Result: ...
