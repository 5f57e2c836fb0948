"""One probing forward pass: every module call in order, what it took and what it gave.

Used to pick the default feature site (the last conv block), to size batches, and by the
incremental mode to find the chain of layers it can recompute locally and to check that
no layer output is used outside that chain (optionally logging every torch op outside
module calls with a ``TorchFunctionMode``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode, resolve_name
from torch.utils._pytree import tree_leaves

from interpret.core import HookSet, checked_forward, preserved_state

__all__ = ["CallRecord", "Trace", "trace_calls", "default_site", "per_sample_bytes"]

_METADATA = {
    "size",
    "dim",
    "numel",
    "nelement",
    "is_contiguous",
    "is_floating_point",
    "is_complex",
    "stride",
    "data_ptr",
    "element_size",
    "get_device",
    "__len__",
    "__format__",
    "__hash__",
}
_METADATA_ATTRS = {
    "shape",
    "dtype",
    "device",
    "ndim",
    "requires_grad",
    "layout",
    "is_cuda",
    "is_sparse",
    "is_leaf",
    "grad_fn",
    "names",
    "is_quantized",
    "is_meta",
    "is_nested",
    "itemsize",
    "nbytes",
}


def _is_metadata(name: str) -> bool:
    parts = name.split(".")
    if parts[-1] == "__get__" and len(parts) >= 2:
        return parts[-2] in _METADATA_ATTRS
    return parts[-1] in _METADATA


@dataclass
class CallRecord:
    """One call of one module: its name, pre/post event numbers, inputs and output."""

    name: str
    module: nn.Module
    pre: int
    post: int = -1
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    output: Any = None
    snapshot: Any = None
    call_index: int = 0

    @property
    def key(self) -> str:
        """The capture key of this call: ``name`` or ``name#k`` for the k-th repeat."""
        return self.name if self.call_index == 0 else f"{self.name}#{self.call_index}"


@dataclass
class Trace:
    """Calls in pre-order (start order) and torch ops with the ids of their tensor args."""

    calls: list[CallRecord]
    ops: list[tuple[int, str, frozenset[int]]]
    inputs: Tensor
    output: Any


class _OpLog(TorchFunctionMode):
    def __init__(self, counter: itertools.count, ops: list) -> None:
        super().__init__()
        self.counter = counter
        self.ops = ops
        self.paused = False

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        if self.paused:
            return func(*args, **kwargs)
        name = resolve_name(func) or getattr(func, "__name__", repr(func))
        if not _is_metadata(name):
            ids = frozenset(id(t) for t in tree_leaves((args, kwargs)) if isinstance(t, Tensor))
            self.ops.append((next(self.counter), name, ids))
        return func(*args, **kwargs)


def trace_calls(model: nn.Module, inputs: Tensor, log_ops: bool = False) -> Trace:
    """Run ``model(inputs)`` once in eval mode under ``inference_mode``, recording calls.

    A model that refuses the input (too small, wrong channels) raises ``ValueError``.
    Hooks are removed and the model's state restored on every exit path. Tensors are
    kept by reference (so ``id`` identifies them while the trace lives).
    """
    counter = itertools.count()
    calls: list[CallRecord] = []
    open_calls: dict[int, list[CallRecord]] = {}
    seen: dict[str, int] = {}
    ops: list[tuple[int, str, frozenset[int]]] = []
    hooks = HookSet()
    log = _OpLog(counter, ops)

    def pre_hook(name: str):
        def hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
            record = CallRecord(name, module, next(counter), args=args, kwargs=dict(kwargs))
            record.call_index = seen.get(name, 0)
            seen[name] = record.call_index + 1
            calls.append(record)
            open_calls.setdefault(id(module), []).append(record)

        return hook

    def post_hook(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        record = open_calls[id(module)].pop()
        record.post = next(counter)
        record.output = output
        if log_ops and isinstance(output, Tensor):
            log.paused = True  # the snapshot is ours, not the model's use of the output
            record.snapshot = output.clone()
            log.paused = False

    with preserved_state(model):
        model.eval()
        try:
            for name, module in model.named_modules():
                if not name:
                    continue
                hooks.add(module.register_forward_pre_hook(pre_hook(name), with_kwargs=True))
                hooks.add(module.register_forward_hook(post_hook, with_kwargs=True))
            with torch.inference_mode():
                if log_ops:
                    with log:
                        output = checked_forward(model, inputs)
                else:
                    output = checked_forward(model, inputs)
        finally:
            hooks.undo()
    return Trace(calls, ops, inputs, output)


def _shape(value: Any) -> tuple[int, ...] | None:
    return tuple(value.shape) if isinstance(value, Tensor) else None


def default_site(trace: Trace) -> str:
    """The last conv block: the output of the last ``Conv2d`` call, extended over the
    calls that finish right after it with the same 4-D output shape (BN, ReLU, the
    residual block and stage containing it). Returned as a capture key."""
    by_post = sorted((c for c in trace.calls if c.post >= 0), key=lambda c: c.post)
    convs = [i for i, c in enumerate(by_post) if isinstance(c.module, nn.Conv2d)]
    if not convs:
        raise ValueError(
            "The model has no nn.Conv2d, so there is no default feature site; pass "
            "site='<module name>' (interpret.list_sites(model) lists them) or site=None."
        )
    last = convs[-1]
    shape = _shape(by_post[last].output)
    chosen = by_post[last]
    for call in by_post[last + 1 :]:
        if _shape(call.output) != shape:
            break
        chosen = call
    return chosen.key


def per_sample_bytes(trace: Trace) -> int:
    """A peak-memory estimate per input image: input plus twice the largest output."""
    batch = trace.inputs.shape[0]
    largest = 0
    for call in trace.calls:
        for leaf in tree_leaves(call.output):
            if isinstance(leaf, Tensor):
                largest = max(largest, leaf.numel() * leaf.element_size())
    size = trace.inputs.numel() * trace.inputs.element_size() + 2 * largest
    return max(1, size // max(1, batch))
