"""Incremental occlusion through any DAG that ``torch.fx`` traces (Inception, DenseNet,
ResNet, MobileNet ...), and Krypton's approximate mode (projective-field thresholding).

The model is traced once into a graph of nodes. Every node that depends on the input is
either *local* (its output is carried as a :class:`~interpret.occlusion._local.Patch`: a
box around each sample's changed region over the cached clean map) or *full* (an ordinary
batched tensor). A node is local when its operation can be done on a patch and every input
it depends on is local:

* sliding windows: ``nn.Conv2d`` (any stride, dilation, groups, depthwise), timm's
  ``Conv2dSame``, ``nn.MaxPool2d``/``nn.AvgPool2d`` and ``F.max_pool2d``/``F.avg_pool2d``;
* pointwise: activations (module or functional), eval-mode batch norm, dropout, adding or
  multiplying by a number;
* merges of same-sized maps: ``+``, ``-``, ``*`` (residual adds, inside and across blocks)
  and ``torch.cat`` along channels (Inception branches, DenseNet blocks); the changed
  region of the output is the union of the inputs' regions.

Anything else (global pooling, squeeze-and-excitation, flatten, linear, attention) is full:
its local inputs are pasted into copies of their clean maps and the rest of the graph runs
batched from there. A local node whose box would cover more than ``max_fraction`` of its
map is made full too, as is everything after it. Modules carrying hooks run for real.

With ``tau`` (Krypton's projective-field threshold) the changed region after each window
or merge is cut to at most ``ceil(tau * side)`` rows and columns around its centre, and
values outside are taken as clean: patches stop growing, so more of the network stays
local and small, at the cost of ignoring the weak changes far from the occluder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.fx as fx
from torch import Tensor, nn

from interpret.core import hook_count
from interpret.occlusion._fx_ops import (
    MERGES,
    UNARY_FUNCTIONS,
    UNARY_METHODS,
    LeafTracer,
    channels_last_copy,
    close,
    functional_window,
    out_of_place,
    same,
)
from interpret.occlusion._layers import _pointwise, _window
from interpret.occlusion._local import (
    LocalOp,
    Patch,
    PointwiseOp,
    WindowOp,
    _union,
    box_of,
    clip_region,
    gather_box,
    occluded_patch,
    paste,
)
from interpret.occlusion._trace import Trace

__all__ = ["GraphPlan", "Untraceable"]


class Untraceable(Exception):
    """The model cannot be handled as a graph (``torch.fx`` failed, or the plan does not
    fit it); the caller falls back to the chain plan."""


class _Node:
    """A local node: ``inputs`` are the graph nodes it reads (in argument order)."""

    def __init__(self, node: fx.Node, op: LocalOp | None, call: Callable[..., Tensor]) -> None:
        self.node, self.op, self.call = node, op, call
        self.inputs = [n for n in node.all_input_nodes]
        self.out_hw: tuple[int, int] = (0, 0)
        self.clean: Tensor | None = None


class GraphPlan:
    """The incremental (or approximate, ``tau``) plan of a ``torch.fx``-traceable model.

    Raises :class:`Untraceable` when the model does not fit; the sweep then uses the chain
    plan (:class:`~interpret.occlusion.incremental.IncrementalPlan`).
    """

    def __init__(self, model: nn.Module, trace: Trace, site_key: str | None) -> None:
        if site_key is not None and ":" in site_key:
            raise Untraceable("tuple/dict sites are read by the chain plan")
        try:
            graph = LeafTracer().trace(model)
        except Exception as error:  # fx raises many kinds for untraceable code
            raise Untraceable(str(error)) from error
        self.gm = fx.GraphModule(model, graph)
        self.nodes = list(graph.nodes)
        inputs = [n for n in self.nodes if n.op == "placeholder"]
        if len(inputs) != 1:
            raise Untraceable("the forward takes more than one input")
        self.source = inputs[0]
        self.modules = dict(self.gm.named_modules())
        self.dependent = self._dependents()
        self.local: dict[fx.Node, _Node] = {}
        for node in self.nodes:
            made = self._local_node(node)
            if made is not None:
                self.local[node] = made
        self.values: dict[fx.Node, Any] = {}
        self.prepare(trace.inputs, verify=True)
        output = self._clean_output
        if not same(output, trace.output):
            raise Untraceable("the traced graph does not reproduce the model's output")
        self.site: fx.Node | None = None
        if site_key is not None:
            self.site = self._find_site(trace, site_key)
        self.active: set[fx.Node] = set()
        self.tau: float | None = None

    # -- building -------------------------------------------------------------------------
    def _dependents(self) -> set[fx.Node]:
        dep = {self.source}
        for node in self.nodes:
            if any(n in dep for n in node.all_input_nodes):
                dep.add(node)
        return dep

    def _arg(self, node: fx.Node, index: int, name: str, default: Any) -> Any:
        if len(node.args) > index:
            return node.args[index]
        return node.kwargs.get(name, default)

    def _local_node(self, node: fx.Node) -> _Node | None:
        if node not in self.dependent or node is self.source:
            return None
        tensor_inputs = [n for n in node.all_input_nodes if n in self.dependent]
        if node.op == "call_module":
            module = self.modules[str(node.target)]
            if hook_count(module) or node.kwargs or len(node.args) != 1:
                return None
            if _pointwise(module):
                return _Node(node, PointwiseOp(module), lambda x: x)
            window = _window(module)
            return None if window is None else _Node(node, window, lambda x: x)
        if node.op == "call_method":
            if node.target in UNARY_METHODS and len(tensor_inputs) == 1 and len(node.args) == 1:
                name = str(node.target)
                return _Node(node, PointwiseOp(lambda x: getattr(x, name)()), lambda x: x)
            return None
        if node.op != "call_function":
            return None
        if node.target is torch.cat:
            seq, dim = self._arg(node, 0, "tensors", ()), self._arg(node, 1, "dim", 0)
            if dim not in (1, -3) or not all(
                isinstance(t, fx.Node) and t in self.dependent for t in seq
            ):
                return None
            made = _Node(node, None, lambda *xs: torch.cat(xs, 1))
            made.inputs = list(seq)
            return made
        window = functional_window(node)
        if window is not None:
            return _Node(node, window, lambda x: x)
        if node.target in UNARY_FUNCTIONS and len(tensor_inputs) == 1:
            if node.args[0] is not tensor_inputs[0] or any(
                isinstance(a, fx.Node) for a in (*node.args[1:], *node.kwargs.values())
            ):
                return None
            return _Node(node, PointwiseOp(out_of_place(node)), lambda x: x)
        if node.target in MERGES and not node.kwargs and len(node.args) == 2:
            a, b = node.args
            if isinstance(a, fx.Node) and isinstance(b, fx.Node):
                if a not in self.dependent or b not in self.dependent:
                    return None
                made = _Node(node, None, node.target)  # type: ignore[arg-type]
                made.inputs = [a, b]
                return made
            number = b if isinstance(a, fx.Node) else a
            if isinstance(number, (int, float)) and not isinstance(number, bool):
                fn = node.target

                def scalar(x: Tensor, fn: Any = fn, n: Any = number, first: bool = a is not number):
                    return fn(x, n) if first else fn(n, x)

                return _Node(node, PointwiseOp(scalar), lambda x: x)
        return None

    def _find_site(self, trace: Trace, key: str) -> fx.Node:
        call = next((c for c in trace.calls if c.key == key), None)
        if call is None or not isinstance(call.snapshot, Tensor):
            raise Untraceable(f"site {key} not found")
        ref = call.snapshot
        for node in reversed(self.nodes):
            value = self._clean_values.get(node)
            if isinstance(value, Tensor) and value.shape == ref.shape and close(value, ref):
                return node
        raise Untraceable(f"site {key} not found in the graph")

    # -- per image ------------------------------------------------------------------------
    @torch.inference_mode()
    def prepare(self, image: Tensor, verify: bool = False) -> None:
        """Run the graph on one clean image ``(1, C, H, W)``; cache what the local nodes
        read. With ``verify``, nodes whose local reading differs from the real op are made
        full."""
        env: dict[fx.Node, Any] = {}
        keep = verify
        clean_values: dict[fx.Node, Any] = {}
        for node in self.nodes:
            if node is self.source:
                env[node] = image
            elif node.op == "output":
                self._clean_output = fx.node.map_arg(node.args[0], env.__getitem__)
                break
            else:
                env[node] = self._run(node, env)
            value = env[node]
            if isinstance(value, Tensor):
                env[node] = value = value.clone()  # in-place ops later must not touch it
            if node not in self.dependent:
                self.values[node] = value
            made = self.local.get(node)
            if made is not None:
                ok = isinstance(value, Tensor) and value.ndim == 4 and len(value) == 1
                if ok and made.op is not None:
                    out = made.op.full(env[made.inputs[0]])
                    ok = not verify or (out.shape == value.shape and close(out, value))
                elif ok:  # a merge: inputs of the output's size (cat: but channels)
                    shapes = [env[n].shape for n in made.inputs]
                    same = value.shape if node.target is not torch.cat else value.shape[2:]
                    ok = all(
                        (sh if node.target is not torch.cat else sh[2:]) == same for sh in shapes
                    )
                if not ok:
                    del self.local[node]
                else:
                    made.out_hw = (int(value.shape[-2]), int(value.shape[-1]))
                    made.clean = channels_last_copy(value)
            if keep:
                clean_values[node] = value
        self.source_clean = channels_last_copy(image)
        if keep:
            self._clean_values = clean_values

    def _run(self, node: fx.Node, env: dict[fx.Node, Any]) -> Any:
        args = fx.node.map_arg(node.args, env.__getitem__)
        kwargs = fx.node.map_arg(node.kwargs, env.__getitem__)
        if node.op == "call_module":
            return self.modules[str(node.target)](*args, **kwargs)
        if node.op == "call_function":
            return node.target(*args, **kwargs)  # type: ignore[operator]
        if node.op == "call_method":
            return getattr(args[0], str(node.target))(*args[1:], **kwargs)
        if node.op == "get_attr":
            value: Any = self.gm
            for part in str(node.target).split("."):
                value = getattr(value, part)
            return value
        raise Untraceable(f"unknown node kind {node.op}")

    # -- per sweep ------------------------------------------------------------------------
    def choose(self, boxes: Tensor, max_fraction: float, tau: float | None = None) -> list[str]:
        """Mark the nodes done locally for occluders at ``boxes (P, 4)`` (all positions of
        the sweep); returns their names."""
        self.tau = tau
        regions: dict[fx.Node, Tensor] = {self.source: boxes}
        self.active = set()
        for node in self.nodes:
            made = self.local.get(node)
            if made is None:
                continue
            deps = [n for n in made.inputs if n in self.dependent]
            if not all(n in regions for n in deps):
                continue
            region = self._region(made, [regions[n] for n in deps])
            _, h, w = box_of(region, made.out_hw)
            if h * w > max_fraction * made.out_hw[0] * made.out_hw[1]:
                continue
            regions[node] = region
            self.active.add(node)
        return [str(n.target) if n.op == "call_module" else n.name for n in self.nodes
                if n in self.active]  # fmt: skip

    def _region(self, made: _Node, regions: list[Tensor]) -> Tensor:
        if isinstance(made.op, PointwiseOp):
            return regions[0]
        if made.op is not None:
            region = made.op.regions(regions[0])
        else:
            region = regions[0]
            for other in regions[1:]:
                region = _union(region, other)
        if self.tau is not None:
            region = clip_region(region, made.out_hw, self.tau)
        return region

    @torch.inference_mode()
    def forward(
        self, boxes: Tensor, image: Tensor, baseline: Tensor, channel: Tensor | None
    ) -> tuple[Any, Tensor | None]:
        """The model's output for occluders at ``boxes (B, 4)`` on ``image (1, C, H, W)``,
        and the site's total in ``channel (B,)`` (``(B,)`` float64) if a site is read."""
        env: dict[fx.Node, Any] = {self.source: occluded_patch(boxes, image, baseline)}
        full: dict[fx.Node, Tensor] = {}
        site_total = None

        def value(n: fx.Node) -> Any:
            got = env[n]
            if not isinstance(got, Patch):
                return got
            if n not in full:
                clean = self.source_clean if n is self.source else self.local[n].clean
                full[n] = paste(clean, got)  # type: ignore[arg-type]
            return full[n]

        for node in self.nodes:
            if node is self.source:
                continue
            if node.op == "output":
                output = fx.node.map_arg(node.args[0], value)
                break
            if node not in self.dependent:
                env[node] = self.values[node]
            elif node in self.active:
                env[node] = self._local(self.local[node], env)
            else:
                env[node] = self._run(node, {n: value(n) for n in node.all_input_nodes})
            if node is self.site and channel is not None:
                site_total = self._site_total(node, env[node], channel)
        return output, site_total

    def _local(self, made: _Node, env: dict[fx.Node, Any]) -> Patch:
        patches = [env[n] for n in made.inputs]
        if isinstance(made.op, PointwiseOp):
            return made.op.local(patches[0])
        if isinstance(made.op, WindowOp):
            region = made.op.regions(patches[0].region)
            if self.tau is not None:
                region = clip_region(region, made.out_hw, self.tau)
            return made.op.local(patches[0], region)
        region = self._region(made, [p.region for p in patches if isinstance(p, Patch)])
        origin, h, w = box_of(region, made.out_hw)
        crops = []
        for n, p in zip(made.inputs, patches):
            clean = self.source_clean if n is self.source else self.local[n].clean
            crops.append(gather_box(clean, origin, h, w, p))  # type: ignore[arg-type]
        return Patch(made.call(*crops), origin, region)

    def _site_total(self, node: fx.Node, got: Any, channel: Tensor) -> Tensor:
        rows = torch.arange(len(channel))
        if isinstance(got, Patch):
            clean = self.local[node].clean
            assert clean is not None
            chan = channel.to(clean.device, non_blocking=True)
            base = gather_box(clean, got.origin, *got.values.shape[-2:])
            delta = (got.values[rows, chan] - base[rows, chan]).double().sum(dim=(1, 2))
            return clean.double().sum(dim=(1, 2))[chan] + delta
        chosen = got[rows, channel.to(got.device, non_blocking=True)]
        return chosen.double().flatten(1).sum(1) if chosen.ndim > 1 else chosen.double()
