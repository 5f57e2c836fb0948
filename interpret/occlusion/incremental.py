"""Incremental occlusion inference (Krypton; Nakandala, Kumar & Papakonstantinou, SIGMOD 2019).

An occluder changes only a rectangle of the input, so each layer's output changes only in
a rectangle that grows layer by layer. The incremental mode caches the clean activations
of an image once, then for a batch of occluder positions recomputes, layer by layer, only
a box around the changed region, reading the context around it from the cache. When the
box would cover more than ``max_fraction`` of a layer's map, or at the first layer it
cannot do locally, it pastes the patch into a copy of the clean map and lets the model's
own forward run from there. The result equals full recomputation up to float rounding.

This module is the *chain* plan, used where one chain of layers and residual units holds
every convolution (VGG, ResNet, EfficientNet-Lite). Other models that ``torch.fx`` can
trace (Inception, DenseNet, MobileNet ...) go through the graph plan of
:mod:`interpret.occlusion._graph`, which also carries the approximate mode.

What is done incrementally (everything else falls back to full compute):

* ``nn.Conv2d`` (zero padding, any stride, dilation, groups, ``padding="same"``) and
  timm's ``Conv2dSame``; ``nn.MaxPool2d`` (padding, dilation, ``ceil_mode``);
  ``nn.AvgPool2d`` (no ``ceil_mode``; zero padding counted);
* pointwise layers: activations (torch and timm), eval-mode ``BatchNorm2d`` and timm
  ``BatchNormAct2d``, dropout, ``DropPath``, ``Identity``;
* residual units as one step with the union of their branches' regions: torchvision
  ``BasicBlock`` and ``Bottleneck``, timm ``DepthwiseSeparableConv`` and
  ``InvertedResidual`` without squeeze-excitation (SE pools globally);
* any container (``nn.Sequential`` or a custom module) is looked through.

The chain is found by one traced forward: a layer joins it when its single input is the
previous layer's output (the first takes the model input), it runs once per forward, and
the layers before the hand-off have outputs nothing else reads (checked by logging every
torch op outside the chain); a layer carrying hooks of its own (or in its children) is
left to run for real, so the hooks see true activations. Global pooling, linear layers,
attention, SE blocks and unknown modules end the chain. During the sweep the chain's
modules are temporarily given a ``forward`` that returns the recomputed tensors (removed
on every exit path); the rest of the model runs as written. Layers before the hand-off
return a placeholder (the clean map) to the model, which never reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from interpret.core import HookSet, hook_count
from interpret.occlusion._layers import local_op
from interpret.occlusion._local import LocalOp, Patch, box_of, gather_box
from interpret.occlusion._trace import CallRecord, Trace

__all__ = ["IncrementalPlan", "local_op"]


@dataclass
class _Stage:
    call: CallRecord
    op: LocalOp
    escapes: bool = False


class IncrementalPlan:
    """The chain of locally recomputable layers of a model, found from one trace.

    Parameters
    ----------
    model:
        The model the trace was taken of (``trace_calls(model, x, log_ops=True)``).
    trace:
        The trace of one clean image.
    site_key:
        The capture key of the feature site read during the sweep, or ``None``.
    """

    def __init__(self, model: nn.Module, trace: Trace, site_key: str | None = None) -> None:
        self.model = model
        self.stages = self._chain(trace)
        self._mark_escapes(trace)
        self._verify(trace)
        self.site_stage: int | None = None
        self.limit = len(self.stages)
        if site_key is not None:
            self._place_site(trace, site_key)
        self.handoff = 0
        self._outputs: list[Tensor] = []

    # -- finding the chain -------------------------------------------------------------
    @staticmethod
    def _chain(trace: Trace) -> list[_Stage]:
        counts: dict[int, int] = {}
        for call in trace.calls:
            counts[id(call.module)] = counts.get(id(call.module), 0) + 1
        stages: list[_Stage] = []
        current = id(trace.inputs)
        i = 0
        while i < len(trace.calls):
            call = trace.calls[i]
            if (
                len(call.args) != 1
                or call.kwargs
                or id(call.args[0]) != current
                or counts[id(call.module)] != 1
            ):
                break
            op = local_op(call.module) if hook_count(call.module) == 0 else None
            if op is None:
                if not list(call.module.children()):
                    break
                i += 1  # a container: look at its first child call
                continue
            if not isinstance(call.output, Tensor) or call.output.ndim != 4:
                break
            stages.append(_Stage(call, op))
            current = id(call.output)
            while i < len(trace.calls) and trace.calls[i].pre <= call.post:
                i += 1
        return stages

    def _mark_escapes(self, trace: Trace) -> None:
        spans = [(s.call.pre, s.call.post) for s in self.stages]
        owner = {id(s.call.output): k for k, s in enumerate(self.stages)}
        for event, _name, ids in trace.ops:
            if any(lo < event < hi for lo, hi in spans):
                continue
            for tensor_id in ids & owner.keys():
                self.stages[owner[tensor_id]].escapes = True

    @torch.inference_mode()
    def _verify(self, trace: Trace) -> None:
        x = trace.inputs
        for k, stage in enumerate(self.stages):
            x = stage.op.full(x)
            ref = stage.call.snapshot
            scale = float(ref.abs().max()) + 1e-12
            low = x.dtype in (torch.float16, torch.bfloat16) or (
                x.is_cuda and torch.backends.cudnn.allow_tf32
            )
            tol = 1e-3 if low else 1e-5  # TF32 / half convolutions round more coarsely
            if x.shape != ref.shape or not torch.allclose(x, ref, rtol=10 * tol, atol=tol * scale):
                del self.stages[k:]  # our reading of this layer differs: stop before it
                return

    def _place_site(self, trace: Trace, key: str) -> None:
        call = next((c for c in trace.calls if c.key == key), None)
        if call is None:
            return
        for k, stage in enumerate(self.stages):
            if call is stage.call:
                self.site_stage = k
                return
            if stage.call.pre < call.pre <= stage.call.post:
                self.limit = k  # the site is inside this unit: let the model compute it
                return
        for k in reversed(range(len(self.stages))):
            stage = self.stages[k]
            if call.output is stage.call.output and stage.call.post <= call.post:
                self.site_stage = k  # a container whose output is this layer's
                return

    @property
    def names(self) -> list[str]:
        """Qualified names of the chain's layers."""
        return [s.call.name for s in self.stages]

    # -- per image and per batch -------------------------------------------------------
    def prepare(self, image: Tensor) -> None:
        """Cache the clean activations of one image ``(1, C, H, W)``."""
        x = image
        with torch.inference_mode():
            for stage in self.stages:
                x = stage.op.full(x)

    def choose_handoff(self, boxes: Tensor, image_hw: tuple[int, int], max_fraction: float) -> int:
        """The number of layers done incrementally for these occluder ``boxes (P, 4)``."""
        region = boxes
        count = 0
        for k, stage in enumerate(self.stages[: self.limit]):
            region = stage.op.regions(region)
            _, h, w = box_of(region, stage.op.out_hw)
            if h * w > max_fraction * stage.op.out_hw[0] * stage.op.out_hw[1]:
                break
            count = k + 1
            if stage.escapes:
                break
        self.handoff = count
        return count

    def compute(self, boxes: Tensor, image: Tensor, baseline: Tensor) -> Tensor | None:
        """Recompute the chain for occluders at ``boxes (B, 4)``; returns the site's patch
        total per channel ``(B, C)`` if the site lies in the chain, else ``None``."""
        origin, h, w = box_of(boxes, tuple(image.shape[-2:]))  # type: ignore[arg-type]
        rows = origin[:, :1] + torch.arange(h)
        cols = origin[:, 1:] + torch.arange(w)
        inside = ((rows >= boxes[:, :1]) & (rows < boxes[:, 2:3]))[:, :, None] & (
            (cols >= boxes[:, 1:2]) & (cols < boxes[:, 3:4])
        )[:, None, :]
        values = torch.where(
            inside[:, None].to(image.device),
            gather_box(baseline[0], origin, h, w),
            gather_box(image[0], origin, h, w),
        )
        patch = Patch(values, origin, boxes)
        site_sum = None
        batch = len(boxes)
        outputs = []
        for k in range(self.handoff):
            op = self.stages[k].op
            patch = op.local(patch)
            if k == self.site_stage:
                clean = gather_box(op.clean_out, patch.origin, *patch.values.shape[-2:])
                delta = (patch.values - clean).sum(dim=(2, 3))
                site_sum = op.clean_out.sum(dim=(1, 2))[None] + delta
            outputs.append(op.clean_out.expand(batch, *op.clean_out.shape))
        if self.handoff:
            last = self.stages[self.handoff - 1].op.clean_out
            full = last.expand(batch, *last.shape).clone(memory_format=torch.contiguous_format)
            ph, pw = patch.values.shape[-2:]
            for b, (top, left) in enumerate(patch.origin.tolist()):
                full[b, :, top : top + ph, left : left + pw] = patch.values[b]
            outputs[-1] = full
        self._outputs = outputs
        return site_sum

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Give the first ``handoff`` chain modules a ``forward`` that returns the tensors
        of the last :meth:`compute`; restored on exit."""
        hooks = HookSet()
        try:
            for k in range(self.handoff):
                module = self.stages[k].call.module
                previous = module.__dict__.get("forward")

                def stub(*_args: object, _k: int = k, **_kwargs: object) -> Tensor:
                    return self._outputs[_k]

                module.forward = stub  # type: ignore[method-assign]

                def restore(module: nn.Module = module, previous: object = previous) -> None:
                    if previous is None:
                        del module.forward
                    else:
                        module.forward = previous  # type: ignore[method-assign, assignment]

                hooks.on_undo(restore)
            yield
        finally:
            hooks.undo()
