"""Layers that can be recomputed on a patch: the building blocks of the incremental mode.

An occluder changes a rectangle of the input. After a convolution or pooling layer the
changed region of the output is the set of outputs whose window meets the changed input
rows/columns; after a pointwise layer it is the same rectangle; after a residual block
it is the bounding box of its branches' regions (Krypton, Nakandala et al., SIGMOD 2019).

Each op caches the clean (unoccluded) activations of one image in :meth:`full`, then
:meth:`local` recomputes only a fixed-size box around every sample's changed region from
the cached clean input with the previous layer's patch pasted in. A batch of occluder
positions is one batch of patches: the box has the largest region's size, shifted inward
at the borders, so the values it holds outside the changed region are the clean ones.

Regions are ``(B, 4)`` int64 ``(top, left, bottom, right)`` half-open; an empty region
is all zeros and stays empty.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "Patch",
    "LocalOp",
    "WindowOp",
    "PointwiseOp",
    "ResidualOp",
    "gather_box",
    "box_of",
    "channels_last",
    "clip_region",
    "occluded_patch",
    "paste",
]


@dataclass
class Patch:
    """Recomputed values ``(B, C, h, w)`` at ``origin (B, 2)`` covering ``region (B, 4)``."""

    values: Tensor
    origin: Tensor
    region: Tensor


def _empty(region: Tensor) -> Tensor:
    return (region[:, 2] <= region[:, 0]) | (region[:, 3] <= region[:, 1])


def _union(a: Tensor, b: Tensor) -> Tensor:
    ea, eb = _empty(a)[:, None], _empty(b)[:, None]
    both = torch.cat([torch.minimum(a[:, :2], b[:, :2]), torch.maximum(a[:, 2:], b[:, 2:])], 1)
    return torch.where(ea, b, torch.where(eb, a, both))


def box_of(region: Tensor, out_hw: tuple[int, int]) -> tuple[Tensor, int, int]:
    """A fixed-size box per sample covering its region: ``(origin (B, 2), h, w)``."""
    h = int((region[:, 2] - region[:, 0]).max().clamp(min=1, max=out_hw[0]))
    w = int((region[:, 3] - region[:, 1]).max().clamp(min=1, max=out_hw[1]))
    top = torch.minimum(region[:, 0], torch.tensor(out_hw[0] - h)).clamp(min=0)
    left = torch.minimum(region[:, 1], torch.tensor(out_hw[1] - w)).clamp(min=0)
    return torch.stack([top, left], 1), h, w


def _axis_index(start: Tensor, size: int, device: torch.device) -> Tensor:
    """``(B, size)`` indices ``start[b] + 0 .. size - 1`` on ``device`` (host arithmetic,
    then one non-blocking copy: no device read)."""
    return (start[:, None] + torch.arange(size)).to(device, non_blocking=True)


def gather_box(
    clean: Tensor,
    origin: Tensor,
    h: int,
    w: int,
    patch: Patch | None = None,
    shift: tuple[int, int] = (0, 0),
) -> Tensor:
    """Per-sample crops ``(B, C, h, w)`` of ``clean (C, H, W)`` at ``origin (B, 2)``, with
    ``patch`` pasted over (its origin plus ``shift`` is in ``clean``'s coordinates).

    On the CPU one slice is copied per sample into a channels-last buffer: far cheaper
    there than advanced indexing for deep layers (hundreds of channels). On an accelerator
    the crops and the paste are each one batched gather, with no per-sample Python loop
    and no read of device values (the geometry is host-side integer bookkeeping)."""
    if clean.device.type != "cpu":
        return _gather_batched(clean, origin, h, w, patch, shift)
    starts = origin.tolist()
    crop = torch.empty(
        (len(starts), clean.shape[0], h, w),
        dtype=clean.dtype,
        device=clean.device,
        memory_format=torch.channels_last,
    )
    for b, (r, c) in enumerate(starts):
        crop[b].copy_(clean[:, r : r + h, c : c + w])
    if patch is None:
        return crop
    ph, pw = patch.values.shape[-2:]
    for b, ((r, c), (pr, pc)) in enumerate(zip(starts, patch.origin.tolist())):
        pr, pc = pr + shift[0], pc + shift[1]
        top, bottom = max(r, pr), min(r + h, pr + ph)
        left, right = max(c, pc), min(c + w, pc + pw)
        if top < bottom and left < right:
            crop[b, :, top - r : bottom - r, left - c : right - c] = patch.values[
                b, :, top - pr : bottom - pr, left - pc : right - pc
            ]
    return crop


def _gather_batched(
    clean: Tensor, origin: Tensor, h: int, w: int, patch: Patch | None, shift: tuple[int, int]
) -> Tensor:
    dev = clean.device
    rows = _axis_index(origin[:, 0], h, dev)
    cols = _axis_index(origin[:, 1], w, dev)
    crop = clean[:, rows[:, :, None], cols[:, None, :]].permute(1, 0, 2, 3)  # (B, C, h, w)
    if patch is None:
        return crop
    ph, pw = patch.values.shape[-2:]
    prow = _axis_index(origin[:, 0] - patch.origin[:, 0] - shift[0], h, dev)
    pcol = _axis_index(origin[:, 1] - patch.origin[:, 1] - shift[1], w, dev)
    inside = ((prow >= 0) & (prow < ph))[:, :, None] & ((pcol >= 0) & (pcol < pw))[:, None, :]
    batch = torch.arange(len(origin), device=dev)[:, None, None]
    pasted = patch.values[
        batch, :, prow.clamp(0, ph - 1)[:, :, None], pcol.clamp(0, pw - 1)[:, None, :]
    ].permute(0, 3, 1, 2)
    return torch.where(inside[:, None], pasted, crop)


def paste(clean: Tensor, patch: Patch) -> Tensor:
    """The full maps ``(B, C, H, W)``: ``clean (C, H, W)`` with each sample's patch pasted."""
    batch = len(patch.values)
    full = clean.expand(batch, *clean.shape).clone(memory_format=torch.contiguous_format)
    ph, pw = patch.values.shape[-2:]
    if clean.device.type != "cpu":
        dev = clean.device
        rows = _axis_index(patch.origin[:, 0], ph, dev)[:, :, None]
        cols = _axis_index(patch.origin[:, 1], pw, dev)[:, None, :]
        index = torch.arange(batch, device=dev)[:, None, None]
        full[index, :, rows, cols] = patch.values.permute(0, 2, 3, 1).to(full.dtype)
        return full
    for b, (top, left) in enumerate(patch.origin.tolist()):
        full[b, :, top : top + ph, left : left + pw] = patch.values[b]
    return full


def occluded_patch(boxes: Tensor, image: Tensor, baseline: Tensor) -> Patch:
    """The input patch of occluders at ``boxes (B, 4)`` on ``image (1, C, H, W)``: the
    ``baseline (1, C, H, W)`` inside each box, the image around it."""
    origin, h, w = box_of(boxes, tuple(image.shape[-2:]))  # type: ignore[arg-type]
    rows = origin[:, :1] + torch.arange(h)
    cols = origin[:, 1:] + torch.arange(w)
    inside = ((rows >= boxes[:, :1]) & (rows < boxes[:, 2:3]))[:, :, None] & (
        (cols >= boxes[:, 1:2]) & (cols < boxes[:, 3:4])
    )[:, None, :]
    values = torch.where(
        inside[:, None].to(image.device, non_blocking=True),
        gather_box(baseline[0], origin, h, w),
        gather_box(image[0], origin, h, w),
    )
    return Patch(values, origin, boxes)


def clip_region(region: Tensor, out_hw: tuple[int, int], tau: float) -> Tensor:
    """Krypton's projective-field threshold: each side of ``region (B, 4)`` cut to at most
    ``ceil(tau * map side)``, keeping its centre (the values outside are taken as clean)."""
    out = region.clone()
    for axis, (lo_i, hi_i) in enumerate(((0, 2), (1, 3))):
        limit = max(1, math.ceil(tau * out_hw[axis]))
        lo, hi = region[:, lo_i], region[:, hi_i]
        excess = (hi - lo - limit).clamp(min=0)
        out[:, lo_i] = lo + excess // 2
        out[:, hi_i] = hi - (excess - excess // 2)
    return out


class LocalOp:
    """Interface: ``full(x)`` caches and returns the clean output; ``regions`` propagates a
    changed region; ``local(patch)`` recomputes a patch; ``out_hw`` after ``full``."""

    out_hw: tuple[int, int] = (0, 0)
    clean_out: Tensor

    def full(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def regions(self, region: Tensor) -> Tensor:
        raise NotImplementedError

    def local(self, patch: Patch) -> Patch:
        raise NotImplementedError


def channels_last(x: Tensor) -> Tensor:
    """A ``(C, H, W)`` view of the first image of ``x`` stored channels-last (cache layout)."""
    return x[:1].contiguous(memory_format=torch.channels_last)[0]


def _apply(module: nn.Module | Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Run ``module``'s own forward (not a temporary stub, no hooks of its own), on a copy
    when it (or a child) works in place. A plain callable is called as it is."""
    if not isinstance(module, nn.Module):
        return module(x)
    if type(module) is nn.ReLU:
        return torch.relu(x)
    if type(module) is nn.ReLU6:
        return F.hardtanh(x, 0.0, 6.0)
    if any(getattr(m, "inplace", False) for m in module.modules()):
        x = x.clone()
    return type(module).forward(module, x)


class PointwiseOp(LocalOp):
    """An elementwise layer (activation, eval-mode BatchNorm, dropout, identity)."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module

    def full(self, x: Tensor) -> Tensor:
        out = _apply(self.module, x)
        self.out_hw = tuple(out.shape[-2:])  # type: ignore[assignment]
        self.clean_out = channels_last(out)
        return out

    def regions(self, region: Tensor) -> Tensor:
        return region

    def local(self, patch: Patch) -> Patch:
        return Patch(_apply(self.module, patch.values), patch.origin, patch.region)


class WindowOp(LocalOp):
    """A sliding-window layer (convolution, max or average pooling).

    ``fn`` computes the layer with no padding on an already padded crop; ``pad`` is the
    (top, left) padding, or a function of the input size giving it (TensorFlow "same"
    padding), and ``value`` the padding value (0, or ``-inf`` for max pooling). The
    bottom/right padding follows from the layer's output size, which covers ``ceil_mode``
    and asymmetric padding.
    """

    def __init__(
        self,
        module: nn.Module | Callable[[Tensor], Tensor],
        fn: Callable[[Tensor], Tensor],
        span: tuple[int, int],
        stride: tuple[int, int],
        pad: tuple[int, int] | Callable[[tuple[int, int]], tuple[int, int]],
        value: float = 0.0,
    ) -> None:
        self.module, self.fn, self.span, self.stride = module, fn, span, stride
        self._pad, self.value = pad, value
        self.pad = (0, 0)

    def full(self, x: Tensor) -> Tensor:
        in_hw = (int(x.shape[-2]), int(x.shape[-1]))
        self.pad = self._pad(in_hw) if callable(self._pad) else self._pad
        self.out_hw = tuple(_apply(self.module, x[:1]).shape[-2:])  # type: ignore[assignment]
        extra = [
            max(0, (self.out_hw[i] - 1) * self.stride[i] + self.span[i] - in_hw[i] - self.pad[i])
            for i in range(2)
        ]
        pads = (self.pad[1], extra[1], self.pad[0], extra[0])
        self.clean_in = channels_last(F.pad(x[:1], pads, value=self.value))
        out = self.fn(F.pad(x, pads, value=self.value))
        self.clean_out = channels_last(out)
        return out

    def regions(self, region: Tensor) -> Tensor:
        out = region.clone()
        for axis, (lo_i, hi_i) in enumerate(((0, 2), (1, 3))):
            lo, hi = region[:, lo_i], region[:, hi_i]
            span, step, pad = self.span[axis], self.stride[axis], self.pad[axis]
            o_lo = torch.div(lo + pad - span, step, rounding_mode="floor") + 1
            o_hi = torch.div(hi - 1 + pad, step, rounding_mode="floor") + 1
            out[:, lo_i] = o_lo.clamp(min=0)
            out[:, hi_i] = o_hi.clamp(max=self.out_hw[axis])
        empty = _empty(region) | _empty(out)
        return torch.where(empty[:, None], torch.zeros_like(out), out)

    def local(self, patch: Patch, region: Tensor | None = None) -> Patch:
        """``region`` (default: the exact changed region) may be a clipped one (approximate
        mode): values outside it are then taken as clean."""
        region = self.regions(patch.region) if region is None else region
        origin, h, w = box_of(region, self.out_hw)
        crop_h = (h - 1) * self.stride[0] + self.span[0]
        crop_w = (w - 1) * self.stride[1] + self.span[1]
        start = origin * torch.tensor(self.stride)
        crop = gather_box(self.clean_in, start, crop_h, crop_w, patch, shift=self.pad)
        return Patch(self.fn(crop), origin, region)


class ResidualOp(LocalOp):
    """``post(main(x) + shortcut(x))``; ``shortcut=None`` means no skip (``post(main(x))``),
    an empty list the identity. The changed region is the union of the branches'."""

    def __init__(
        self,
        main: Sequence[LocalOp],
        shortcut: Sequence[LocalOp] | None,
        post: Sequence[LocalOp] = (),
    ) -> None:
        self.main, self.shortcut, self.post = list(main), shortcut, list(post)

    @staticmethod
    def _run_full(ops: Sequence[LocalOp], x: Tensor) -> Tensor:
        for op in ops:
            x = op.full(x)
        return x

    def full(self, x: Tensor) -> Tensor:
        main = self._run_full(self.main, x)
        self.main_out = channels_last(main)
        if self.shortcut is not None:
            short = self._run_full(self.shortcut, x)
            self.short_out = channels_last(short)
            main = main + short
        self.out_hw = tuple(main.shape[-2:])  # type: ignore[assignment]
        out = self._run_full(self.post, main)
        self.clean_out = channels_last(out)
        return out

    def regions(self, region: Tensor) -> Tensor:
        main = region
        for op in self.main:
            main = op.regions(main)
        if self.shortcut is None:
            return main
        short = region
        for op in self.shortcut:
            short = op.regions(short)
        return _union(main, short)

    def local(self, patch: Patch) -> Patch:
        main = patch
        for op in self.main:
            main = op.local(main)
        if self.shortcut is None:
            out = main
        else:
            short = patch
            for op in self.shortcut:
                short = op.local(short)
            region = _union(main.region, short.region)
            origin, h, w = box_of(region, self.out_hw)
            values = gather_box(self.main_out, origin, h, w, main) + gather_box(
                self.short_out, origin, h, w, short
            )
            out = Patch(values, origin, region)
        for op in self.post:
            out = op.local(out)
        return out
