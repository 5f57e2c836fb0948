"""How ``torch.fx`` nodes map onto local operations for the graph plan
(:mod:`interpret.occlusion._graph`): the tracer that keeps windows, pointwise layers and
hooked modules as leaves, the functional windows (``F.max_pool2d``/``F.avg_pool2d``), the
unary functions and merges done on patches, and value checks used when verifying a plan."""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable
from typing import Any

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import Tensor, nn

from interpret.core import hook_count
from interpret.occlusion._layers import _pair, _pointwise, _window
from interpret.occlusion._local import WindowOp

__all__ = [
    "MERGES",
    "UNARY_FUNCTIONS",
    "UNARY_METHODS",
    "LeafTracer",
    "channels_last_copy",
    "close",
    "functional_window",
    "out_of_place",
    "same",
]


class LeafTracer(fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        if hook_count(m) or _pointwise(m) or _window(m) is not None:
            return True
        return super().is_leaf_module(m, qualname)


UNARY_FUNCTIONS = {
    F.relu, torch.relu, F.relu6, F.hardtanh, F.leaky_relu, F.elu, F.gelu, F.silu, F.mish,
    F.hardswish, F.hardsigmoid, torch.sigmoid, F.sigmoid, torch.tanh, F.tanh, F.dropout,
    F.dropout2d, F.softplus,
}  # fmt: skip
UNARY_METHODS = {"relu", "sigmoid", "tanh", "contiguous", "clone", "float"}
MERGES = {operator.add, torch.add, operator.sub, torch.sub, operator.mul, torch.mul}


def _max_pool_args(
    input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
    ceil_mode: bool = False, return_indices: bool = False,
) -> dict[str, Any]:  # fmt: skip
    return locals()


def _avg_pool_args(
    input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
    count_include_pad: bool = True, divisor_override: Any = None,
) -> dict[str, Any]:  # fmt: skip
    return locals()


def functional_window(node: fx.Node) -> WindowOp | None:
    """A ``WindowOp`` for ``F.max_pool2d``/``F.avg_pool2d`` with constant arguments."""
    is_max = node.target is F.max_pool2d or getattr(node.target, "__name__", "") in (
        "max_pool2d",
        "_max_pool2d",
    )
    is_avg = node.target is F.avg_pool2d
    if not (is_max or is_avg) or any(isinstance(a, fx.Node) for a in node.args[1:]):
        return None
    try:
        a = (_max_pool_args if is_max else _avg_pool_args)(*node.args, **node.kwargs)
    except TypeError:
        return None
    k = _pair(a["kernel_size"])
    s = _pair(a["stride"]) if a["stride"] not in (None, []) else k
    p = _pair(a["padding"])
    if is_max:
        if a["return_indices"]:
            return None
        d = _pair(a["dilation"])
        span = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)

        def ref(x: Tensor) -> Tensor:
            return F.max_pool2d(x, k, s, p, d, a["ceil_mode"])

        return WindowOp(ref, lambda c: F.max_pool2d(c, k, s, 0, d), span, s, p, value=float("-inf"))
    if a["ceil_mode"] or (p != (0, 0) and not a["count_include_pad"]):
        return None
    div = a["divisor_override"]
    return WindowOp(
        lambda x: F.avg_pool2d(x, k, s, p, False, True, div),
        lambda c: F.avg_pool2d(c, k, s, 0, False, True, div),
        k, s, p,
    )  # fmt: skip


def out_of_place(node: fx.Node) -> Callable[[Tensor], Tensor]:
    """The unary function of ``node`` on its tensor, with ``inplace`` forced off."""
    target: Any = node.target
    rest, kwargs = list(node.args[1:]), dict(node.kwargs)
    try:
        names = list(inspect.signature(target).parameters)
    except (TypeError, ValueError):
        names = []
    if "inplace" in names:
        at = names.index("inplace") - 1
        if at < len(rest):
            rest[at] = False
        else:
            kwargs["inplace"] = False

    def fn(x: Tensor) -> Tensor:
        return target(x, *rest, **kwargs)

    return fn


def channels_last_copy(value: Tensor) -> Tensor:
    """A channels-last copy ``(C, H, W)`` of the first image (never a view of ``value``)."""
    out = torch.empty_like(value[:1], memory_format=torch.channels_last)
    return out.copy_(value[:1])[0]


def close(a: Tensor, b: Tensor) -> bool:
    scale = float(b.abs().max()) + 1e-12
    low = a.dtype in (torch.float16, torch.bfloat16) or a.is_cuda
    tol = 1e-3 if low else 1e-5
    return bool(torch.allclose(a, b, rtol=10 * tol, atol=tol * scale))


def same(a: Any, b: Any) -> bool:
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return a.shape == b.shape and close(a, b)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b)
