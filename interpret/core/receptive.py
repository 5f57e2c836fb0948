"""Chain structure and exact receptive fields of chain CNNs.

A *chain* CNN is one whose forward, up to a site, is a straight line of modules:
each step takes the previous step's output and nothing else (AlexNet, VGG, ZFNet,
``nn.Sequential`` models). :func:`chain_layers` checks this on the ``torch.fx``
graph instead of trusting registration order, so a model whose ``forward`` reorders,
skips or branches is refused rather than walked wrongly.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import fx, nn

from interpret.core.sites import get_module

__all__ = ["ReceptiveField", "chain_layers", "receptive_field", "POINTWISE"]

# Modules that act on each spatial position alone (their field is one pixel).
POINTWISE: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Hardswish,
    nn.Hardtanh,
    nn.Softplus,
    nn.BatchNorm2d,
    nn.GroupNorm,
    nn.LocalResponseNorm,
    nn.Dropout,
    nn.Dropout2d,
    nn.Identity,
)
# Functions that only reshape: allowed inside a chain (they end the spatial part).
_SHAPE_ONLY = {torch.flatten, operator.getitem}
_SHAPE_METHODS = {"flatten", "view", "reshape", "contiguous", "squeeze", "unsqueeze", "size"}


def _trace(model: nn.Module) -> fx.GraphModule:
    try:
        return fx.symbolic_trace(model)
    except Exception as err:  # fx raises many kinds; all mean "not traceable"
        raise ValueError(
            f"The model cannot be traced with torch.fx ({type(err).__name__}: {err}); "
            "the explicit reverse walk needs a chain CNN. Use the gradient route instead."
        ) from err


def _site_node(graph: fx.Graph, site: str) -> fx.Node:
    last = None
    for node in graph.nodes:
        if node.op == "call_module" and (node.target == site or node.target.startswith(site + ".")):
            last = node
    if last is None:
        raise ValueError(f"Site {site!r} is never called in the traced forward.")
    return last


def chain_layers(model: nn.Module, site: str) -> list[tuple[str, nn.Module]]:
    """The modules from the input to ``site`` in execution order, for a chain CNN.

    ``site`` may name a container (``"features"``): the chain then ends at its last
    module. Raises ``ValueError`` when the forward up to the site is not a chain (a
    node with two tensor inputs, a module called twice) or uses a functional op other
    than a reshape (``F.relu`` would be invisible to a method walking modules).
    """
    get_module(model, site)  # validates the name with a helpful message
    graph = _trace(model).graph
    node = _site_node(graph, site)
    steps: list[fx.Node] = []
    while node.op != "placeholder":
        inputs = [a for a in node.all_input_nodes if a.op != "get_attr"]
        if len(inputs) != 1:
            raise ValueError(
                f"Not a chain CNN up to {site!r}: {node.name} takes {len(inputs)} tensor "
                "inputs (a branch or residual add). Use the gradient route."
            )
        if node.op == "call_function" and node.target not in _SHAPE_ONLY:
            name = getattr(node.target, "__name__", str(node.target))
            raise ValueError(
                f"Functional op {name!r} in the chain before {site!r}; module-based methods "
                "cannot see it. Replace it with a module (e.g. nn.ReLU) or use the gradient route."
            )
        if node.op == "call_method" and node.target not in _SHAPE_METHODS:
            raise ValueError(f"Method call .{node.target}() in the chain before {site!r}.")
        steps.append(node)
        node = inputs[0]
    modules = dict(model.named_modules())
    chain = [
        (str(n.target), modules[str(n.target)]) for n in reversed(steps) if n.op == "call_module"
    ]
    names = [name for name, _ in chain]
    if len(set(names)) != len(names):
        raise ValueError(f"A module is called twice before {site!r}; not a chain CNN.")
    return chain


@dataclass(frozen=True)
class ReceptiveField:
    """Where a unit of a site looks in the input.

    Unit ``(y, x)`` of the site sees input rows ``offset[0] + y * stride[0]`` up to
    (excluding) that plus ``size[0]``, and likewise for columns. ``offset`` is negative
    when padding puts the field partly outside the image.
    """

    size: tuple[int, int]
    stride: tuple[int, int]
    offset: tuple[int, int]

    def box(
        self, y: int, x: int, input_hw: tuple[int, int] | None = None
    ) -> tuple[int, int, int, int]:
        """``(top, left, bottom, right)``, half-open; clipped to ``input_hw`` if given."""
        top = self.offset[0] + y * self.stride[0]
        left = self.offset[1] + x * self.stride[1]
        bottom, right = top + self.size[0], left + self.size[1]
        if input_hw is not None:
            top, left = max(top, 0), max(left, 0)
            bottom, right = min(bottom, input_hw[0]), min(right, input_hw[1])
        return top, left, bottom, right


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[-1]))


def _geometry(name: str, module: nn.Module) -> tuple[tuple[int, int], ...] | None:
    """(kernel, stride, padding, dilation) per axis, or None for pointwise modules."""
    if isinstance(module, POINTWISE):
        return None
    if isinstance(module, nn.Conv2d):
        if isinstance(module.padding, str):
            if module.padding == "valid":
                pad = (0, 0)
            else:  # "same" with stride 1: symmetric padding (odd effective kernels)
                k, d = _pair(module.kernel_size), _pair(module.dilation)
                pad = (d[0] * (k[0] - 1) // 2, d[1] * (k[1] - 1) // 2)
        else:
            pad = _pair(module.padding)
        return (_pair(module.kernel_size), _pair(module.stride), pad, _pair(module.dilation))
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        stride = module.stride if module.stride is not None else module.kernel_size
        dilation = module.dilation if isinstance(module, nn.MaxPool2d) else 1
        return (
            _pair(module.kernel_size),
            _pair(stride),
            _pair(module.padding),
            _pair(dilation),
        )
    raise ValueError(
        f"Module {name!r} ({type(module).__name__}) has no known spatial geometry, or ends "
        "the spatial part of the network; a receptive field is defined only for sites "
        "reached through convolutions, poolings and pointwise layers."
    )


def receptive_field(
    model: nn.Module, site: str, layers: Sequence[tuple[str, nn.Module]] | None = None
) -> ReceptiveField:
    """The exact receptive field of a unit of ``site`` in a chain CNN.

    Per axis, with effective kernel ``k' = d (k - 1) + 1``: ``size += (k' - 1) * jump``,
    ``offset -= padding * jump``, ``jump *= stride``, over the layers up to the site.
    ``layers`` is ``chain_layers(model, site)`` where the caller has it already (it
    traces the model); by default it is computed here.

    Example
    -------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3))
    >>> receptive_field(net, "2")
    ReceptiveField(size=(8, 8), stride=(2, 2), offset=(-1, -1))
    """
    size, jump, offset = [1, 1], [1, 1], [0, 0]
    for name, module in chain_layers(model, site) if layers is None else layers:
        geometry = _geometry(name, module)
        if geometry is None:
            continue
        kernel, stride, padding, dilation = geometry
        for axis in (0, 1):
            effective = dilation[axis] * (kernel[axis] - 1) + 1
            size[axis] += (effective - 1) * jump[axis]
            offset[axis] -= padding[axis] * jump[axis]
            jump[axis] *= stride[axis]
    return ReceptiveField(tuple(size), tuple(jump), tuple(offset))  # type: ignore[arg-type]
