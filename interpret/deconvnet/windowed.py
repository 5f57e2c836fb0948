"""The reverse walk restricted to each unit's receptive field.

One activation's projection is zero outside its receptive field, and at every layer on
the way down it is zero outside the part of that layer the unit sees. For a chain CNN
the walk therefore only needs, per unit, a window that starts as the unit itself (1x1)
and grows layer by layer exactly as the receptive field does (``(h - 1) s + d (k - 1) + 1``
through a convolution or a pooling, unchanged through pointwise layers). Every unit of
a site has the same window size, so the windows of many units stack into one batch.
The result is the projection inside the unit's receptive field, with its origin in
input pixels: the same numbers as the full-size walk, at a cost that follows the
receptive field instead of the image. Windows that outgrow the map are cut back to the
map (the signal is zero outside it).

Layers that cannot be windowed (fully connected layers, flattening, layers reversed by
their Jacobian) are walked at full size: the window is pasted into its map first.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from interpret.deconvnet.reverse import (
    ReverseRecord,
    _channel_window_sum,
    _conv_padding,
    _is_eval_batchnorm,
    _reverse_step,
    _Step,
)
from interpret.deconvnet.switches import unpool

__all__ = ["gather_window", "reverse_walk_units", "transposed_conv"]


def gather_window(t: Tensor, rows: Tensor, origin: Tensor, size: tuple[int, int]) -> Tensor:
    """``t[rows[b], :, oy:oy+h, ox:ox+w]`` for each ``b``, zero where it leaves ``t``.

    Parameters
    ----------
    t:
        ``(N, C, H, W)``.
    rows:
        ``(B,)`` int64 rows of ``t``.
    origin:
        ``(B, 2)`` int64 top-left corners (may be negative or past the end).
    size:
        ``(h, w)`` of every window.

    Returns
    -------
    Tensor
        ``(B, C, h, w)``.
    """
    height, width = t.shape[-2:]
    h, w = size
    # the padding is read from ``origin`` where it lives (free when on the host, as the
    # windowed walk keeps it), then it moves to ``t``'s device without waiting
    if (h, w) == (height, width) and not bool(origin.any()):
        return t[rows.to(t.device, non_blocking=True)]  # whole maps
    pad_t = max(0, -int(origin[:, 0].min())) if len(origin) else 0
    pad_l = max(0, -int(origin[:, 1].min())) if len(origin) else 0
    pad_b = max(0, int(origin[:, 0].max()) + h - height) if len(origin) else 0
    pad_r = max(0, int(origin[:, 1].max()) + w - width) if len(origin) else 0
    origin = origin.to(t.device, non_blocking=True)
    if pad_t or pad_l or pad_b or pad_r:
        t = F.pad(t, (pad_l, pad_r, pad_t, pad_b))
    ys = (origin[:, 0] + pad_t).view(-1, 1) + torch.arange(h, device=t.device)  # (B, h)
    xs = (origin[:, 1] + pad_l).view(-1, 1) + torch.arange(w, device=t.device)  # (B, w)
    picked = t[
        rows.to(t.device, non_blocking=True).view(-1, 1, 1), :, ys[:, :, None], xs[:, None, :]
    ]
    return picked.permute(0, 3, 1, 2)  # (B, h, w, C) -> (B, C, h, w)


def transposed_conv(
    signal: Tensor,
    weight: Tensor,
    stride: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
    padding: tuple[int, int] = (0, 0),
    output_size: tuple[int, int] | None = None,
) -> Tensor:
    """``conv_transpose2d(signal, weight)``: ``(B, C_out, h, w)`` -> ``(B, C_in, h', w')``.

    Without ``padding`` the output is the full ``(h - 1) s + d (k - 1) + 1``; with it, the
    output is cropped by ``padding`` on each side and sized ``output_size`` (the layer's
    input size). For few input channels (a first layer on RGB or gray images) PyTorch's
    CPU kernel is slow; there the same sum is one matrix product and a ``fold`` (col2im).
    """
    c_out, c_in, kh, kw = weight.shape
    batch, _, h, w = signal.shape
    full = tuple(
        (n - 1) * s + d * (k - 1) + 1
        for n, s, d, k in zip((h, w), stride, dilation, (kh, kw), strict=True)
    )
    size = output_size if output_size is not None else full
    if groups != 1 or c_in > 4 or signal.device.type != "cpu":
        extra = tuple(size[a] - (full[a] - 2 * padding[a]) for a in (0, 1))
        if signal.device.type == "cpu":  # oneDNN's kernel, several times faster on CPU
            signal = signal.contiguous(memory_format=torch.channels_last)
        out = F.conv_transpose2d(signal, weight, None, stride, padding, extra, groups, dilation)
        return out.contiguous()
    # per unit (c_in k k, c_out) @ (c_out, h w), then col2im
    cols = torch.matmul(weight.reshape(c_out, -1).T, signal.reshape(batch, c_out, h * w))
    return F.fold(cols, size, (kh, kw), dilation=dilation, padding=padding, stride=stride)


def _covers(origin: Tensor, size: tuple[int, int], bounds) -> bool:
    """Every window is exactly the whole map."""
    return tuple(size) == (bounds[0], bounds[1]) and not bool(origin.any())


def _within(origin: Tensor, size: tuple[int, int], bounds) -> bool:
    """Every window lies inside the map."""
    low = bool((origin >= 0).all())
    return (
        low
        and bool((origin[:, 0] + size[0] <= bounds[0]).all())
        and bool((origin[:, 1] + size[1] <= bounds[1]).all())
    )


def _inside(
    origin: Tensor, size: tuple[int, int], bounds: tuple[int, int], device: torch.device
) -> Tensor:
    """``(B, 1, h, w)`` bool on ``device``: window pixels that lie inside a ``bounds`` map."""
    origin = origin.to(device, non_blocking=True)
    ys = origin[:, 0].view(-1, 1) + torch.arange(size[0], device=origin.device)
    xs = origin[:, 1].view(-1, 1) + torch.arange(size[1], device=origin.device)
    rows = (ys >= 0) & (ys < bounds[0])
    cols = (xs >= 0) & (xs < bounds[1])
    return (rows[:, :, None] & cols[:, None, :]).unsqueeze(1)


def _geometry(module: nn.Module) -> tuple[tuple[int, int], ...]:
    """(kernel, stride, padding, dilation) pairs of a plain conv or a max pool."""

    def pair(v) -> tuple[int, int]:
        return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[-1]))

    if isinstance(module, nn.Conv2d):
        padding = _conv_padding(module)
        assert padding is not None
        return pair(module.kernel_size), pair(module.stride), padding, pair(module.dilation)
    assert isinstance(module, nn.MaxPool2d)
    stride = module.stride if module.stride is not None else module.kernel_size
    return (
        pair(module.kernel_size),
        pair(stride),
        pair(module.padding),
        pair(module.dilation),
    )


def _grown(origin: Tensor, size: tuple[int, int], module: nn.Module):
    kernel, stride, padding, dilation = _geometry(module)
    new_size = tuple((size[a] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1 for a in (0, 1))
    new_origin = torch.stack(
        [origin[:, a] * stride[a] - padding[a] for a in (0, 1)], 1
    )  # plain numbers: the origin stays where it is (the host, for the batched walk)
    return new_origin, new_size


def _windowable(step: _Step, rectifiers: tuple[type[nn.Module], ...]) -> bool:
    module = step.module
    if len(step.output_shape) != 4 or len(step.input_shape) != 4:
        return False
    if step.switches is not None or step.lrn_factors is not None:
        return True
    if step.saved_input is not None:
        return False  # reversed by its Jacobian: needs the whole map
    if isinstance(module, rectifiers) or _is_eval_batchnorm(module):
        return True
    if isinstance(module, nn.Conv2d):
        return True  # plain convs only: others carry a saved input (above)
    return isinstance(module, (nn.Identity, nn.Dropout, nn.Dropout2d, nn.AlphaDropout))


def _window_step(step, signal, origin, size, image_index, rectifiers):
    """One deconvnet step on windows: (signal, origin, size) at the layer's output -> input."""
    module = step.module
    in_hw = (step.input_shape[2], step.input_shape[3])
    if step.switches is not None:  # unpool at the switches that fall in the window
        new_origin, new_size = _grown(origin, size, module)
        if _covers(origin, size, step.output_shape[2:]):  # whole maps: plain unpooling
            out = unpool(signal, step.switches, image_index)
            return out, torch.zeros_like(origin), in_hw
        inside = _inside(origin, size, step.output_shape[2:], signal.device)
        flat = gather_window(step.switches.indices, image_index, origin, size)
        on_device = new_origin.to(signal.device, non_blocking=True)
        oy = on_device[:, 0].view(-1, 1, 1, 1)
        ox = on_device[:, 1].view(-1, 1, 1, 1)
        local = (flat // in_hw[1] - oy) * new_size[1] + (flat % in_hw[1] - ox)
        local = local.flatten(2).clamp(0, new_size[0] * new_size[1] - 1)
        values = (signal * inside).flatten(2)
        out = signal.new_zeros(*signal.shape[:2], new_size[0] * new_size[1])
        out.scatter_add_(2, local, values)
        return out.view(*signal.shape[:2], *new_size), new_origin, new_size
    if isinstance(module, nn.Conv2d) and step.saved_input is None:
        _, stride, padding, dilation = _geometry(module)
        if _covers(origin, size, step.output_shape[2:]):  # whole maps: exactly the input map
            out = transposed_conv(
                signal, module.weight, stride, dilation, module.groups, padding, in_hw
            )
            return out, torch.zeros_like(origin), in_hw
        new_origin, new_size = _grown(origin, size, module)
        out = transposed_conv(signal, module.weight, stride, dilation, module.groups)
        if not _within(new_origin, new_size, in_hw):
            out = out * _inside(new_origin, new_size, in_hw, out.device)
        return out, new_origin, new_size
    if step.lrn_factors is not None:
        assert isinstance(module, nn.LocalResponseNorm) and step.saved_input is not None
        scale, cross = (gather_window(f, image_index, origin, size) for f in step.lrn_factors)
        a = gather_window(step.saved_input, image_index, origin, size)
        n = module.size
        inner = _channel_window_sum(signal * cross, n, (n - 1) // 2, n // 2)
        out = signal * scale - (2 * module.alpha * module.beta / n) * a * inner
        return out, origin, size
    if step.derivative is not None:  # guided: the rectifier's derivative in the window
        derivative = gather_window(step.derivative, image_index, origin, size)
        return F.relu(signal * derivative), origin, size
    # pointwise steps act alike on a window and on the whole map
    return _reverse_step(step, signal, image_index, rectifiers), origin, size


def _shrink(signal: Tensor, origin: Tensor, size: tuple[int, int], bounds: tuple[int, int]):
    """Cut windows at least as large as the map (along an axis) to the map itself.

    The signal is zero outside the map, so the map holds everything a window held there.
    """
    new_origin, new_size, start = origin.clone(), list(size), torch.zeros_like(origin)
    for axis in (0, 1):
        if size[axis] >= bounds[axis] and (
            size[axis] > bounds[axis] or bool(origin[:, axis].any())
        ):
            start[:, axis] = -origin[:, axis]
            new_origin[:, axis] = 0
            new_size[axis] = bounds[axis]
    if tuple(new_size) == tuple(size) and torch.equal(new_origin, origin):
        return signal, origin, size
    first = start[0]
    if bool((first >= 0).all()) and bool((start == first).all()):  # one slice for all
        top, left = int(first[0]), int(first[1])
        if top + new_size[0] <= size[0] and left + new_size[1] <= size[1]:
            cut = signal[:, :, top : top + new_size[0], left : left + new_size[1]]
            return cut, new_origin, tuple(new_size)
    rows = torch.arange(len(signal), device=signal.device)
    return gather_window(signal, rows, start, tuple(new_size)), new_origin, tuple(new_size)


def reverse_walk_units(
    record: ReverseRecord,
    channel: Tensor,
    location: Tensor,
    value: Tensor,
    image_index: Tensor,
) -> tuple[Tensor, Tensor]:
    """Project single activations down to pixel space, each within its receptive field.

    Parameters
    ----------
    record:
        From :func:`interpret.deconvnet.reverse.record_chain` on ``N`` images.
    channel, location, value:
        ``(B,)``, ``(B, 2)`` and ``(B,)``: the examined activation of each unit (channel,
        ``(y, x)`` in the site's map, and the seed value), every other one zero.
    image_index:
        ``(B,)`` int64: the recorded image of each unit.

    Returns
    -------
    (projections, origin):
        ``(B, C, h, w)`` windows of the projections and ``(B, 2)`` int64 input-pixel
        coordinates of their top-left corners (negative where a window starts off the
        image; pixels outside the image are zero). ``h x w`` is the receptive field,
        cut to the image where it covers it whole.
    """
    with torch.no_grad():
        return _walk_units(record, channel, location, value, image_index)


def _walk_units(record, channel, location, value, image_index) -> tuple[Tensor, Tensor]:
    device = record.output.device
    image_index = image_index.to(device)
    batch = len(image_index)
    site_shape = record.output.shape[1:]
    rows = torch.arange(batch, device=device)
    steps = record.steps
    if len(site_shape) == 3:  # (C, h, w) maps: start from a 1x1 window
        signal = record.output.new_zeros(batch, site_shape[0], 1, 1)
        signal[rows, channel.to(device), 0, 0] = value.to(device, signal.dtype)
        # window origins stay where ``location`` is (the host, for the batched
        # projections): their bookkeeping then never waits on the device
        origin: Tensor | None = location.long().clone()
        size = (1, 1)
    else:  # (C,) features: a one-hot vector
        signal = record.output.new_zeros(batch, *site_shape)
        signal[rows, channel.to(device)] = value.to(device, signal.dtype)
        origin, size = None, (0, 0)
    for step in reversed(steps):
        if origin is not None and _windowable(step, record.rectifiers):
            signal, origin, size = _window_step(
                step, signal, origin, size, image_index, record.rectifiers
            )
            signal, origin, size = _shrink(signal, origin, size, step.input_shape[2:])
            continue
        if origin is not None:  # paste the windows into whole maps
            full = step.output_shape[2:]
            signal = gather_window(signal, rows, -origin, (full[0], full[1]))
        signal = signal.reshape(batch, *step.output_shape[1:])
        signal = _reverse_step(step, signal, image_index, record.rectifiers)
        signal = signal.reshape(batch, *step.input_shape[1:])
        if signal.ndim == 4:
            origin, size = location.new_zeros(batch, 2, dtype=torch.long), tuple(signal.shape[2:])
        else:
            origin = None
    if origin is None:
        raise ValueError("The chain's input is not an image (N, C, H, W).")
    return signal, origin
