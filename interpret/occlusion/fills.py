"""What an occluder is filled with: gray, a per-channel mean, a blur of the image, a tensor.

Zeiler & Fergus (2013, Fig. 7) cover the image with a *gray square*. For a model whose
inputs are mean/std normalised, gray (the dataset mean) is ``0`` in input space; for a
model taking inputs in ``[-1, 1]`` (EfficientNet-Lite0) ``0`` is mid gray too; for inputs
in ``[0, 1]`` pass ``0.5``. Every fill works in the model's input space and turns a batch
of images into a *baseline* of the same shape; an occluded copy takes the baseline inside
the occluder window and the image elsewhere (Captum's ``baselines`` convention).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "Fill",
    "ConstantFill",
    "ImageMeanFill",
    "BlurFill",
    "TensorFill",
    "FillSpec",
    "resolve_fill",
]


@runtime_checkable
class Fill(Protocol):
    """Anything with ``baseline(images, window) -> Tensor`` and ``describe() -> str``."""

    def baseline(self, images: Tensor, window: tuple[int, int]) -> Tensor: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class ConstantFill:
    """A constant, the same for every channel (``value=0.0``) or one per channel.

    A per-channel value is how to fill with the *dataset mean* expressed in the model's
    input space (``(0, 0, 0)`` after ImageNet mean/std normalisation).
    """

    value: float | tuple[float, ...] = 0.0

    def baseline(self, images: Tensor, window: tuple[int, int]) -> Tensor:
        values = torch.as_tensor(self.value, dtype=images.dtype, device=images.device)
        if values.ndim == 0:
            return values.expand_as(images)
        if values.ndim != 1 or values.numel() != images.shape[1]:
            raise ValueError(
                f"A per-channel fill needs one value per channel ({images.shape[1]}), "
                f"got {tuple(values.shape)}."
            )
        return values.view(1, -1, 1, 1).expand_as(images)

    def describe(self) -> str:
        return f"constant {self.value}"


@dataclass(frozen=True)
class ImageMeanFill:
    """Each image's own per-channel mean (when the dataset mean is not known)."""

    def baseline(self, images: Tensor, window: tuple[int, int]) -> Tensor:
        return images.mean(dim=(2, 3), keepdim=True).expand_as(images)

    def describe(self) -> str:
        return "image mean"


@dataclass(frozen=True)
class BlurFill:
    """A Gaussian blur of the image (``sigma`` in pixels; default a quarter of the window).

    The blur removes detail inside the window while keeping colour and coarse shape, a
    softer occluder than a gray square. Borders are replicated.
    """

    sigma: float | None = None

    def baseline(self, images: Tensor, window: tuple[int, int]) -> Tensor:
        sigma = self.sigma if self.sigma is not None else max(window) / 4.0
        if sigma <= 0:
            raise ValueError(f"BlurFill sigma must be positive, got {sigma}.")
        radius = max(1, math.ceil(3 * sigma))
        offsets = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
        kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
        kernel = kernel / kernel.sum()
        channels = images.shape[1]
        out = F.pad(images, (radius, radius, radius, radius), mode="replicate")
        out = F.conv2d(out, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)
        return F.conv2d(out, kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)

    def describe(self) -> str:
        return f"blur sigma={self.sigma if self.sigma is not None else 'window/4'}"


@dataclass(frozen=True)
class TensorFill:
    """A user tensor broadcastable to the images: ``(C, H, W)``, ``(N, C, H, W)``, ``(C,)``..."""

    tensor: Tensor

    def baseline(self, images: Tensor, window: tuple[int, int]) -> Tensor:
        value = self.tensor.to(device=images.device, dtype=images.dtype)
        if value.ndim == 1 and value.numel() == images.shape[1]:
            value = value.view(1, -1, 1, 1)
        try:
            return torch.broadcast_to(value, images.shape)
        except RuntimeError:
            raise ValueError(
                f"A fill tensor of shape {tuple(self.tensor.shape)} does not broadcast to the "
                f"images {tuple(images.shape)}; give (C, H, W), (N, C, H, W) or (C,)."
            ) from None

    def describe(self) -> str:
        return f"tensor {tuple(self.tensor.shape)}"


FillSpec = float | int | str | Sequence[float] | Tensor | Fill


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"A fill value must be finite, got {value}; use a number such as 0.0.")
    return value


def resolve_fill(spec: FillSpec) -> Fill:
    """Turn a fill specification into a :class:`Fill`.

    ``"gray"`` is ``ConstantFill(0.0)`` (see the module docstring), ``"mean"`` the image's
    own channel mean, ``"blur"`` a Gaussian blur; a number or a sequence of per-channel
    numbers a constant; a tensor a :class:`TensorFill`; a :class:`Fill` is kept.
    """
    if isinstance(spec, bool):
        raise TypeError("A fill is a number, 'gray', 'mean', 'blur', a tensor or a Fill.")
    if isinstance(spec, (int, float)):
        return ConstantFill(_finite(float(spec)))
    if isinstance(spec, str):
        named: dict[str, Fill] = {
            "gray": ConstantFill(0.0),
            "mean": ImageMeanFill(),
            "blur": BlurFill(),
        }
        if spec not in named:
            raise ValueError(
                f"Unknown fill {spec!r}; use one of {sorted(named)}, a number or a tensor."
            )
        return named[spec]
    if isinstance(spec, Tensor):
        if spec.is_complex() or spec.dtype == torch.bool:
            raise TypeError(f"A fill tensor must be real numbers, got {spec.dtype}.")
        if spec.is_floating_point() and not bool(torch.isfinite(spec).all()):
            raise ValueError("A fill tensor must be finite; it holds NaN or infinity.")
        return TensorFill(spec.detach())
    if isinstance(spec, Fill):
        return spec  # type: ignore[return-value]
    if isinstance(spec, Sequence) and all(isinstance(v, (int, float)) for v in spec):
        return ConstantFill(tuple(_finite(float(v)) for v in spec))
    raise TypeError(
        "A fill is a number, 'gray', 'mean', 'blur', a tensor or a Fill, not "
        f"{type(spec).__name__}."
    )
