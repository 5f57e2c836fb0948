"""The atlas under ``torch.distributed``: the scan is sharded, the rest runs on rank 0.

Every rank resolves the model and the data and runs the atlas's one scan on its shard
(:func:`interpret.scan` merges the analyzers' states, so every rank holds the
single-process result). Projections, feature visualizations and writing the folder are
done by rank 0 alone (:func:`on_lead`); the other ranks wait for it at a broadcast and
return what rank 0 returned, or raise if rank 0 failed (they never hang on its error).
Rank 0's work can be long (``--maximize all``): give ``init_process_group`` a
``timeout`` above it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch.distributed as dist

__all__ = ["is_lead", "on_lead"]

T = TypeVar("T")


def _group() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def is_lead() -> bool:
    """``True`` on rank 0 of an initialised process group, and without one."""
    return not _group() or dist.get_rank() == 0


class _Failed:
    """What rank 0 sends when its part raised."""

    def __init__(self, error: BaseException) -> None:
        self.message = f"{type(error).__name__}: {error}"


def on_lead(work: Callable[[], T]) -> T:
    """Run ``work`` on rank 0 only; every rank returns its value (one broadcast).

    Without a process group of several ranks this is ``work()``. On the other ranks a
    failure of rank 0 raises ``RuntimeError`` with rank 0's message.
    """
    if not _group():
        return work()
    box: list[object] = [None]
    if dist.get_rank() == 0:
        try:
            value = work()
        except BaseException as error:
            box[0] = _Failed(error)
            dist.broadcast_object_list(box, src=0)
            raise
        box[0] = value
        dist.broadcast_object_list(box, src=0)
        return value
    dist.broadcast_object_list(box, src=0)
    if isinstance(box[0], _Failed):
        raise RuntimeError(f"Rank 0 failed while writing the atlas ({box[0].message}).")
    return box[0]  # type: ignore[return-value]
