"""Pooling switches: where each max came from, recorded without changing the model.

Zeiler & Fergus (2013), Sec. 2.1: "in the convnet, the max pooling operation is
non-invertible, however we can obtain an approximate inverse by recording the locations
of the maxima within each pooling region in a set of *switch* variables. In the deconvnet,
the unpooling operation uses these switches to place the reconstructions from the layer
above into appropriate locations."

:func:`record_switches` adds a forward hook to each ``nn.MaxPool2d`` that recomputes
``F.max_pool2d(input, ..., return_indices=True)`` (the same kernel, so the same argmax
PyTorch's own backward uses); :func:`unpool` places a signal back at those indices with
``scatter_add``, so where overlapping windows (3x3, stride 2) share one maximum the
contributions add up, exactly as the gradient of max pooling does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from interpret.core.state import HookSet

__all__ = ["Switches", "SwitchRecord", "record_switches", "unpool"]


@dataclass(frozen=True)
class SwitchRecord:
    """The switches of one call of one max-pool module.

    Attributes
    ----------
    indices:
        ``(N, C, H_out, W_out)`` int64: for each pooled value, the flat position
        ``row * W_in + col`` of its maximum in the ``(H_in, W_in)`` input plane.
    input_size:
        ``(H_in, W_in)`` of the pooled map.
    """

    indices: Tensor
    input_size: tuple[int, int]


class Switches:
    """Switches of the last forward pass, by module name (``name#1`` for a second call)."""

    def __init__(self) -> None:
        self._records: dict[str, SwitchRecord] = {}
        self._calls: dict[str, int] = {}

    def clear(self) -> None:
        self._records.clear()
        self._calls.clear()

    def _put(self, name: str, record: SwitchRecord) -> None:
        count = self._calls.get(name, 0)
        self._calls[name] = count + 1
        self._records[name if count == 0 else f"{name}#{count}"] = record

    def __getitem__(self, name: str) -> SwitchRecord:
        try:
            return self._records[name]
        except KeyError:
            seen = ", ".join(self._records) or "nothing (was the model called?)"
            raise KeyError(f"No switches recorded for {name!r}; recorded: {seen}.") from None

    def __contains__(self, name: object) -> bool:
        return name in self._records

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)


def _switch_hook(switches: Switches, name: str):
    def hook(module: nn.MaxPool2d, inputs: tuple[Any, ...], _output: Any) -> None:
        x = inputs[0]
        with torch.no_grad():
            _, indices = F.max_pool2d(
                x.detach(),
                module.kernel_size,
                module.stride,
                module.padding,
                module.dilation,
                ceil_mode=module.ceil_mode,
                return_indices=True,
            )
        switches._put(name, SwitchRecord(indices, (int(x.shape[-2]), int(x.shape[-1]))))

    return hook


@contextmanager
def record_switches(model: nn.Module, names: Sequence[str] | None = None) -> Iterator[Switches]:
    """Record the max-pooling switches of every forward pass run inside the block.

    Parameters
    ----------
    model:
        Any ``nn.Module``; it is not changed (a forward hook per ``nn.MaxPool2d``,
        removed on exit, also when the block raises).
    names:
        Qualified names of the pools to watch; default every ``nn.MaxPool2d``.

    Yields
    ------
    Switches
        ``name -> SwitchRecord``, cleared at the start of each forward of ``model``.

    Example
    -------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(3, 2))
    >>> with record_switches(net) as sw:
    ...     _ = net(torch.randn(1, 1, 9, 9))
    >>> tuple(sw["1"].indices.shape), sw["1"].input_size
    ((1, 2, 3, 3), (7, 7))
    """
    modules = dict(model.named_modules())
    if names is None:
        chosen = [n for n, m in modules.items() if isinstance(m, nn.MaxPool2d)]
    else:
        chosen = list(names)
        for name in chosen:
            if not isinstance(modules.get(name), nn.MaxPool2d):
                raise ValueError(
                    f"{name!r} is not an nn.MaxPool2d of the model; pools: "
                    f"{[n for n, m in modules.items() if isinstance(m, nn.MaxPool2d)]}."
                )
    switches = Switches()
    hooks = HookSet()
    try:
        hooks.add(model.register_forward_pre_hook(lambda *_: switches.clear()))
        for name in chosen:
            hooks.add(modules[name].register_forward_hook(_switch_hook(switches, name)))
        yield switches
    finally:
        hooks.undo()


def unpool(signal: Tensor, record: SwitchRecord, image_index: Tensor | None = None) -> Tensor:
    """Place a pooled-resolution signal back at its switches (Zeiler & Fergus "unpooling").

    Parameters
    ----------
    signal:
        ``(B, C, H_out, W_out)`` reconstruction at the pool's output.
    record:
        The pool's :class:`SwitchRecord`, recorded on ``N`` images.
    image_index:
        ``(B,)`` int64: which of the ``N`` recorded images each row of ``signal``
        belongs to. Default: row ``b`` is image ``b`` (``B == N``).

    Returns
    -------
    Tensor
        ``(B, C, H_in, W_in)``: zero except at the switch positions, where the
        contributions of every window whose maximum sits there are summed.
    """
    indices = record.indices if image_index is None else record.indices[image_index]
    if indices.shape != signal.shape:
        raise ValueError(
            f"Signal of shape {tuple(signal.shape)} does not match the switches "
            f"{tuple(indices.shape)}."
        )
    b, c = signal.shape[:2]
    height, width = record.input_size
    out = signal.new_zeros(b, c, height * width)
    out.scatter_add_(2, indices.flatten(2).to(signal.device), signal.flatten(2))
    return out.view(b, c, height, width)
