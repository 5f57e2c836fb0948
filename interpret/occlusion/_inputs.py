"""Checks and readings of an occlusion sweep's inputs: the images, the model's logits and
probabilities, per-image targets or channels, the feature site and the batch size."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from interpret.core import resolve_sites
from interpret.core.validate import check_finite, check_indices
from interpret.occlusion._trace import Trace, default_site, per_sample_bytes

__all__ = [
    "as_images",
    "batch_size_for",
    "logits_of",
    "per_image",
    "probabilities_of",
    "resolve_site",
]

CPU_BUDGET = 1 << 30
"""Bytes for one batch on the CPU when no batch size or budget is given."""


def as_images(images: Tensor) -> Tensor:
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
    return check_finite(images, "images", "occlusion maps of such input would be NaN")


def logits_of(output: Any, key: str | int | None) -> Tensor:
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


def probabilities_of(logits: Tensor, how: str) -> Tensor:
    if how == "softmax":  # at least float32, float64 kept
        return (
            logits.to(torch.promote_types(logits.dtype, torch.float32)).softmax(-1).to(logits.dtype)
        )
    if how == "sigmoid":
        return logits.sigmoid()
    if how == "identity":
        return logits
    raise ValueError(f"probabilities must be 'softmax', 'sigmoid' or 'identity', not {how!r}.")


def per_image(value: Any, n: int, upper: int, what: str) -> Tensor:
    if isinstance(value, Tensor) and value.ndim > 1:
        raise ValueError(f"{what} must be one index or one per image, got {tuple(value.shape)}.")
    out = torch.tensor(check_indices(value, what), dtype=torch.int64)
    if out.numel() == 1:
        out = out.expand(n)
    if out.numel() != n:
        raise ValueError(f"{what} needs one value or one per image ({n}), got {out.numel()}.")
    if (out < 0).any() or (out >= upper).any():
        raise ValueError(f"{what} {out.tolist()} out of range: the model gives {upper} of them.")
    return out.clone()


def resolve_site(model: nn.Module, site: str | None, trace: Trace) -> tuple[str | None, str | None]:
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


def batch_size_for(trace: Trace, budget: int | None, device: torch.device) -> int:
    if budget is None:
        if device.type == "cuda":
            free, _total = torch.cuda.mem_get_info(device)
            budget = free // 2
        else:
            budget = CPU_BUDGET
    return int(max(1, min(256, budget // per_sample_bytes(trace))))
