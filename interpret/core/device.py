"""Keeping the hot path off the host: deferred checks and non-blocking copies.

On a GPU every value read on the host inside a batch (``.item()``, ``bool(tensor)``,
``.cpu()``, a boolean-mask index) waits for all queued work. Analyzers therefore keep
their state on the device during a scan and read it back in ``result()``; checks that
must reach the host (NaN inputs, labels out of range) are recorded on the device by
:class:`DeferredCheck` and read once every so many batches or at the end.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["DeferredCheck", "to_host", "to_device", "wait_for_copies"]


def to_device(tensor: Tensor, device: torch.device) -> Tensor:
    """``tensor`` on ``device``; a non-blocking copy (overlaps compute from pinned memory;
    ``tensor`` itself when it is there already)."""
    return tensor.to(device, non_blocking=True)


def to_host(tensor: Tensor) -> Tensor:
    """``tensor`` on the CPU without waiting: from CUDA, a non-blocking copy into pinned
    memory, valid once :func:`wait_for_copies` has run (``result()`` calls it)."""
    if tensor.device.type == "cpu":
        return tensor
    return tensor.to("cpu", non_blocking=True)


def wait_for_copies() -> None:
    """Block until queued device work (non-blocking copies included) is done."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


class DeferredCheck:
    """Remembers, on the device, the first batch where a condition failed.

    ``record(bad, batch)`` takes a 0-d bool tensor (on any device) and the batch number
    (a Python int); nothing is read on the host. ``failed()`` reads the flag (one
    synchronization) and returns the first failing batch number, or ``None``.
    """

    def __init__(self) -> None:
        self._first: Tensor | None = None

    def record(self, bad: Tensor, batch: int) -> None:
        if self._first is None:
            self._first = torch.full((), -1, dtype=torch.int64, device=bad.device)
        first = self._first
        new = bad.to(first.device) & (first < 0)
        self._first = torch.where(new, torch.full_like(first, batch), first)

    def failed(self) -> int | None:
        if self._first is None:
            return None
        first = int(self._first)
        return first if first >= 0 else None

    def reset(self) -> None:
        self._first = None
