"""Occlusion sensitivity (Zeiler & Fergus 2013, Sec. 4.2 and Fig. 7) in one batched sweep.

An occluder is slid over the image; for every position one forward pass of the occluded
copy gives (b) the total activation of a chosen feature map, (d) the probability of the
correct (or any chosen) class and (e) the most probable label, plus optionally the logits
and the top-N classes. The occluded copies are batched (a memory budget sets the batch)
and run under ``torch.inference_mode``; ``incremental=True`` recomputes only the changed
region of each layer (see :mod:`interpret.occlusion.incremental`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

import torch
from torch import Tensor, nn

from interpret.core import capture, model_device, preserved_state, resolve_sites
from interpret.occlusion._trace import Trace, default_site, per_sample_bytes, trace_calls
from interpret.occlusion.incremental import IncrementalPlan
from interpret.occlusion.result import OcclusionResult
from interpret.occlusion.windows import Occluder, grid_boxes

__all__ = ["occlusion_sensitivity", "project_feature", "DEFAULT_MAX_FRACTION"]

DEFAULT_MAX_FRACTION = 0.5
_CPU_BUDGET = 1 << 30


def _as_images(images: Tensor) -> Tensor:
    if not isinstance(images, Tensor):
        raise TypeError(
            f"images must be a tensor (N, C, H, W) or (C, H, W), not {type(images).__name__}."
        )
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or not images.is_floating_point():
        raise ValueError(
            f"images must be a float tensor (N, C, H, W) or (C, H, W); got {images.dtype} "
            f"{tuple(images.shape)}."
        )
    return images


def _logits_of(output: Any, key: str | int | None) -> Tensor:
    if key is not None:
        try:
            output = output[key]
        except (KeyError, IndexError, TypeError):
            raise ValueError(
                f"The model output has no entry {key!r}; pick its logits with output=."
            ) from None
    if not isinstance(output, Tensor) or output.ndim != 2:
        what = (
            type(output).__name__
            if not isinstance(output, Tensor)
            else f"shape {tuple(output.shape)}"
        )
        raise ValueError(
            f"Occlusion needs logits (N, K) from the model; got {what}. For a dict or tuple "
            "output pass output='<key>' or output=<index>."
        )
    return output


def _probs(logits: Tensor, how: str) -> Tensor:
    if how == "softmax":
        return logits.float().softmax(-1).to(logits.dtype)
    if how == "sigmoid":
        return logits.sigmoid()
    if how == "identity":
        return logits
    raise ValueError(f"probabilities must be 'softmax', 'sigmoid' or 'identity', not {how!r}.")


def _per_image(value: Any, n: int, upper: int, what: str) -> Tensor:
    out = torch.as_tensor(value, dtype=torch.int64).flatten()
    if out.numel() == 1:
        out = out.expand(n)
    if out.numel() != n:
        raise ValueError(f"{what} needs one value or one per image ({n}), got {out.numel()}.")
    if (out < 0).any() or (out >= upper).any():
        raise ValueError(f"{what} {out.tolist()} out of range: the model gives {upper} of them.")
    return out.clone()


def _resolve_site(
    model: nn.Module, site: str | None, trace: Trace
) -> tuple[str | None, str | None]:
    """``(capture key, module selector)`` of the feature site."""
    if site is None:
        return None, None
    if not isinstance(site, str):
        raise TypeError(f"site must be a module name, 'auto' or None, not {type(site).__name__}.")
    key = default_site(trace) if site == "auto" else site
    selector, _, repeat = key.partition("#")
    resolve_sites(model, selector)  # unknown names fail here with the closest names
    module = selector.split(":")[0]
    called = {c.key for c in trace.calls}
    if (f"{module}#{repeat}" if repeat else module) not in called:
        how = f"{int(repeat) + 1} times" if repeat.isdigit() else "at all"
        raise ValueError(f"Site {key!r}: module {module!r} is not called {how} in a forward.")
    return key, selector


def _batch_size(trace: Trace, budget: int | None, device: torch.device) -> int:
    if budget is None:
        if device.type == "cuda":
            free, _total = torch.cuda.mem_get_info(device)
            budget = free // 2
        else:
            budget = _CPU_BUDGET
    return int(max(1, min(256, budget // per_sample_bytes(trace))))


class _Readout:
    """Buffers for every quantity, filled batch by batch."""

    def __init__(
        self, n: int, p: int, k: int, top_n: int, keep_logits: bool, feature: bool, dtype
    ) -> None:
        long = torch.int64
        self.target_prob = torch.zeros(n, p, dtype=dtype)
        self.target_logit = torch.zeros(n, p, dtype=dtype)
        self.top_label = torch.zeros(n, p, dtype=long)
        self.top_prob = torch.zeros(n, p, dtype=dtype)
        self.feature = torch.zeros(n, p, dtype=torch.float64) if feature else None
        self.topn_labels = torch.zeros(n, p, top_n, dtype=long) if top_n else None
        self.topn_probs = torch.zeros(n, p, top_n, dtype=dtype) if top_n else None
        self.logits = torch.zeros(n, p, k, dtype=dtype) if keep_logits else None

    def add(
        self,
        img: Tensor,
        pos: Tensor,
        logits: Tensor,
        probs: Tensor,
        target: Tensor,
        feature: Tensor | None,
    ) -> None:
        rows = torch.arange(len(img), device=logits.device)
        tgt = target[img].to(logits.device)
        self.target_prob[img, pos] = probs[rows, tgt].cpu()
        self.target_logit[img, pos] = logits[rows, tgt].cpu()
        best, label = probs.max(-1)
        self.top_label[img, pos] = label.cpu()
        self.top_prob[img, pos] = best.cpu()
        if self.feature is not None and feature is not None:
            self.feature[img, pos] = feature.double().cpu()
        if self.topn_labels is not None and self.topn_probs is not None:
            values, labels = probs.topk(self.topn_labels.shape[-1], dim=-1)
            self.topn_labels[img, pos] = labels.cpu()
            self.topn_probs[img, pos] = values.cpu()
        if self.logits is not None:
            self.logits[img, pos] = logits.cpu()


def _feature_total(act: Tensor, channel: Tensor) -> Tensor:
    """Sum of ``act[b, channel[b]]`` over every spatial position, ``(B,)``."""
    chosen = act[torch.arange(len(act), device=act.device), channel.to(act.device)]
    return chosen.double().flatten(1).sum(1) if chosen.ndim > 1 else chosen.double()


def _occluded(images: Tensor, baseline: Tensor, boxes: Tensor, img: Tensor) -> Tensor:
    """Occluded copies ``(B, C, H, W)``: ``baseline`` inside ``boxes (B, 4)``, image outside."""
    h, w = images.shape[-2:]
    dev = images.device
    b = boxes.to(dev)
    rows = torch.arange(h, device=dev)[None]
    cols = torch.arange(w, device=dev)[None]
    r = (rows >= b[:, :1]) & (rows < b[:, 2:3])
    c = (cols >= b[:, 1:2]) & (cols < b[:, 3:4])
    mask = (r[:, :, None] & c[:, None, :])[:, None]
    idx = img.to(dev)
    return torch.where(mask, baseline[idx], images[idx])


def occlusion_sensitivity(
    model: nn.Module,
    images: Tensor,
    occluder: Occluder,
    *,
    target: int | Sequence[int] | Tensor | None = None,
    site: str | None = "auto",
    channel: int | Sequence[int] | Tensor | None = None,
    output: str | int | None = None,
    probabilities: str = "softmax",
    top_n: int = 0,
    keep_logits: bool = False,
    incremental: bool | float = False,
    batch_size: int | None = None,
    memory_budget: int | None = None,
) -> OcclusionResult:
    """Slide ``occluder`` over ``images`` and record Fig. 7 (b), (d), (e) per position.

    Parameters
    ----------
    model:
        Any classifier returning logits ``(N, K)`` (or a dict/tuple holding them, see
        ``output``); run in eval mode, state and hooks restored afterwards.
    images:
        ``(N, C, H, W)`` or ``(C, H, W)`` in the model's input space, on any device (moved to
        the model's).
    occluder:
        Window, stride, fill and padding policy (:class:`Occluder`).
    target:
        The class whose probability is mapped: one int, one per image, or ``None`` for each
        image's top unoccluded class.
    site:
        Feature site for (b): a module name (``"name:key"`` for a tuple/dict element,
        ``"name#1"`` for a module's second call), ``"auto"`` for the last conv block, or
        ``None`` to skip (b).
    channel:
        Feature map at ``site``: one int, one per image, or ``None`` for the map with the
        strongest response (largest maximum) in each unoccluded image.
    output:
        Key or index of the logits in a dict/tuple model output.
    probabilities:
        ``"softmax"`` (default), ``"sigmoid"`` (multi-label) or ``"identity"``.
    top_n:
        Also keep the ``top_n`` most probable classes and probabilities per position.
    keep_logits:
        Also keep all logits per position, ``(N, Ph, Pw, K)``.
    incremental:
        ``True`` (or the largest fraction of a layer's map a recomputed box may cover,
        default 0.5) to recompute only changed regions (Krypton); exact up to rounding.
    batch_size:
        Occluded copies per forward; by default ``memory_budget`` bytes (CPU: 1 GiB; CUDA:
        half the free memory) over a per-image estimate from one probing pass.

    Returns
    -------
    OcclusionResult
        Grids ``(N, Ph, Pw)``; ``to_pixels()`` gives Captum-style per-pixel maps.

    Example
    -------
    >>> from interpret.testing import chain_cnn
    >>> net = chain_cnn()
    >>> res = occlusion_sensitivity(net, torch.randn(3, 20, 20), Occluder(8, 4))
    >>> tuple(res.target_prob.shape), res.feature_site
    ((1, 4, 4), 'features.7')
    """
    images = _as_images(images)
    if not isinstance(occluder, Occluder):
        raise TypeError(f"occluder must be an Occluder, not {type(occluder).__name__}.")
    if top_n < 0 or batch_size is not None and batch_size < 1:
        raise ValueError("top_n must be >= 0 and batch_size >= 1.")
    device = model_device(model)
    images = images.to(device)
    n, _c, h, w = images.shape
    tops, lefts = occluder.grid(h, w)
    boxes = grid_boxes(tops, lefts, occluder.window, (h, w))
    max_fraction = DEFAULT_MAX_FRACTION if incremental is True else float(incremental)

    with preserved_state(model):
        model.eval()
        trace = trace_calls(model, images[:1], log_ops=bool(incremental))
        key, base = _resolve_site(model, site, trace)
        batch = batch_size or _batch_size(trace, memory_budget, device)
        baseline = occluder.filler.baseline(images, occluder.window)

        with ExitStack() as stack:
            acts = stack.enter_context(capture(model, base)) if base else None
            stack.enter_context(torch.inference_mode())
            clean_logits, clean_feats = [], []
            for start in range(0, n, batch):
                out = _logits_of(model(images[start : start + batch]), output)
                clean_logits.append(out)
                if acts is not None:
                    clean_feats.append(acts[key])
            logits0 = torch.cat(clean_logits)
            probs0 = _probs(logits0, probabilities)
            k = logits0.shape[1]
            tgt = logits0.argmax(-1).cpu() if target is None else _per_image(target, n, k, "target")
            if top_n > k:
                raise ValueError(f"top_n={top_n} exceeds the number of classes ({k}).")
            chan = feat0 = None
            if acts is not None:
                act0 = torch.cat(clean_feats)
                if act0.ndim < 2:
                    raise ValueError(
                        f"Site {key!r} gives {tuple(act0.shape)}; pick a site with channels."
                    )
                if channel is None:
                    chan = (
                        act0.flatten(2).amax(-1).argmax(-1).cpu()
                        if act0.ndim > 2
                        else act0.argmax(-1).cpu()
                    )
                else:
                    chan = _per_image(channel, n, act0.shape[1], "channel")
                feat0 = _feature_total(act0, chan).cpu()

            dtype = torch.float64 if logits0.dtype == torch.float64 else torch.float32
            readout = _Readout(n, len(boxes), k, top_n, keep_logits, acts is not None, dtype)
            inc_names: tuple[str, ...] = ()
            if incremental:
                plan = IncrementalPlan(model, trace, key)
                count = plan.choose_handoff(boxes, (h, w), max_fraction)
                inc_names = tuple(plan.names[:count])
                stack.enter_context(plan.installed())
                from_patch = plan.site_stage is not None and plan.site_stage < count
                for i in range(n):
                    if i:
                        plan.prepare(images[i : i + 1])
                    for start in range(0, len(boxes), batch):
                        pos = torch.arange(start, min(start + batch, len(boxes)))
                        img = torch.full_like(pos, i)
                        sums = plan.compute(boxes[pos], images[i : i + 1], baseline[i : i + 1])
                        x = _occluded(images, baseline, boxes[pos], img)
                        logits = _logits_of(model(x), output)
                        feat = None
                        if acts is not None and chan is not None:
                            if from_patch and sums is not None:
                                feat = sums[:, int(chan[i])]
                            else:
                                feat = _feature_total(acts[key], chan[img])
                        readout.add(img, pos, logits, _probs(logits, probabilities), tgt, feat)
            else:
                pairs = torch.cartesian_prod(torch.arange(n), torch.arange(len(boxes)))
                for start in range(0, len(pairs), batch):
                    img, pos = pairs[start : start + batch].unbind(1)
                    logits = _logits_of(model(_occluded(images, baseline, boxes[pos], img)), output)
                    feat = (
                        _feature_total(acts[key], chan[img])
                        if acts is not None and chan is not None
                        else None
                    )
                    readout.add(img, pos, logits, _probs(logits, probabilities), tgt, feat)

    grid = (n, len(tops), len(lefts))
    rows = torch.arange(n)
    return OcclusionResult(
        tops=tops,
        lefts=lefts,
        window=occluder.window,
        stride=occluder.steps,
        padding=occluder.padding,
        fill=occluder.describe(),
        image_size=(h, w),
        target=tgt,
        clean_logits=logits0.to(dtype).cpu(),
        clean_target_prob=probs0[rows, tgt.to(device)].to(dtype).cpu(),
        clean_target_logit=logits0[rows, tgt.to(device)].to(dtype).cpu(),
        target_prob=readout.target_prob.view(grid),
        target_logit=readout.target_logit.view(grid),
        top_label=readout.top_label.view(grid),
        top_prob=readout.top_prob.view(grid),
        feature_site=key,
        feature_channel=chan,
        feature_total=None if readout.feature is None else readout.feature.view(grid),
        clean_feature_total=feat0,
        topn_labels=None if readout.topn_labels is None else readout.topn_labels.view(*grid, top_n),
        topn_probs=None if readout.topn_probs is None else readout.topn_probs.view(*grid, top_n),
        logits=None if readout.logits is None else readout.logits.view(*grid, k),
        probabilities=probabilities,
        incremental_sites=inc_names,
    )


def project_feature(
    model: nn.Module, images: Tensor, result: OcclusionResult, *, route: str = "auto"
) -> Any:
    """Fig. 7 (c): the deconvnet projection of each image's feature map of (b), seeded at
    its strongest activation (:func:`interpret.deconvnet.project`).

    Returns the deconvnet ``ProjectionResult`` (``projections (N, C, H, W)``), ready for
    :func:`interpret.occlusion.plot.plot_sensitivity`.
    """
    from interpret.deconvnet.project import project_units

    if result.feature_site is None or result.feature_channel is None:
        raise ValueError(
            "This result has no feature site; run the sweep with site='auto' or a name."
        )
    images = _as_images(images)
    n = len(images)
    units = torch.stack(
        [torch.arange(n), result.feature_channel, torch.zeros(n, dtype=torch.int64),
         torch.zeros(n, dtype=torch.int64)], 1,
    )  # fmt: skip
    return project_units(model, images, result.feature_site, units, mode="max", route=route)
