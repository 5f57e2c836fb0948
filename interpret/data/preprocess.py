"""Preprocessing of images for a model, and its exact inverse for drawing.

A :class:`Preprocess` turns an image (NumPy array, PIL image or tensor) into the
normalized ``float32`` tensor a model expects: optional resizing and center cropping,
then ``(x - mean) / std`` per channel on values in ``[0, 1]``. :meth:`Preprocess.inverse`
undoes the normalization exactly; :meth:`Preprocess.to_image` gives a channel-last array
in ``[0, 1]`` that matplotlib can draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as TF

__all__ = ["Preprocess", "ImageLike", "EFFICIENTNET_LITE0", "IMAGENET"]

ImageLike = Any  # np.ndarray | PIL.Image.Image | Tensor; PIL is optional at import time
Interpolation = Literal["nearest", "bilinear", "bicubic"]


@dataclass(frozen=True)
class Preprocess:
    """Geometry and per-channel normalization of model inputs.

    Parameters
    ----------
    mean, std:
        Per-channel statistics on the ``[0, 1]`` scale; their length is the number of
        channels the model takes. ``mean=(0.5,) * 3, std=(0.5,) * 3`` maps ``[0, 1]`` to
        ``[-1, 1]``.
    size:
        Final spatial size, an int (square) or ``(height, width)``. With ``resize`` set it
        is a center crop; without, the image is resized to it directly (aspect ratio not
        kept). ``None``: no crop or resize to a fixed size.
    resize:
        Resize the *shorter* side to this many pixels (aspect ratio kept) before the
        center crop to ``size``. ``None``: no such step.
    interpolation:
        ``"nearest"``, ``"bilinear"`` or ``"bicubic"`` (antialiased when shrinking).
        After resizing, values are clamped to ``[0, 1]`` (bicubic can overshoot), as an
        8-bit image pipeline would.

    Examples
    --------
    >>> import numpy as np
    >>> p = Preprocess(mean=(0.5,) * 3, std=(0.5,) * 3, size=32)
    >>> x = p(np.zeros((40, 50, 3), dtype=np.uint8))
    >>> tuple(x.shape), float(x.min())
    ((3, 32, 32), -1.0)
    >>> float(p.inverse(x).max())
    0.0
    """

    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    size: int | tuple[int, int] | None = None
    resize: int | None = None
    interpolation: Interpolation = "bilinear"

    def __post_init__(self) -> None:
        mean = tuple(float(m) for m in self.mean)
        std = tuple(float(s) for s in self.std)
        if not mean or len(mean) != len(std):
            raise ValueError(
                f"mean and std need one value per channel and the same length; got "
                f"{len(mean)} and {len(std)}."
            )
        if any(s <= 0 for s in std):
            raise ValueError(f"Every std must be positive, got {std}.")
        size = self.size
        if isinstance(size, (tuple, list)):
            if len(size) != 2:
                raise ValueError(f"size is an int or (height, width), got {size!r}.")
            size = (int(size[0]), int(size[1]))
        if size is not None and min(_pair(size)) < 1:
            raise ValueError(f"size must be positive, got {size!r}.")
        if self.resize is not None and self.resize < 1:
            raise ValueError(f"resize must be a positive int or None, got {self.resize!r}.")
        if self.interpolation not in ("nearest", "bilinear", "bicubic"):
            raise ValueError(
                f"interpolation is 'nearest', 'bilinear' or 'bicubic', not {self.interpolation!r}."
            )
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        object.__setattr__(self, "size", size)

    @property
    def channels(self) -> int:
        """Number of channels the model takes (the length of ``mean``)."""
        return len(self.mean)

    def __call__(self, image: ImageLike) -> Tensor:
        """Normalized ``float32`` tensor for ``image``.

        Parameters
        ----------
        image:
            A PIL image; a NumPy array ``(H, W)``, ``(H, W, C)`` or a batch
            ``(N, H, W, C)``; or a tensor ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``.
            ``uint8`` values are divided by 255, ``uint16`` by 65535; floats are taken
            to be in ``[0, 1]`` already. One channel is replicated when the model takes
            more.

        Returns
        -------
        Tensor
            ``(C, H, W)``, or ``(N, C, H, W)`` for a batch, ``float32``, normalized.
        """
        x = self.to_unit_tensor(image)
        x = self.apply_geometry(x)
        return self.normalize(x)

    def to_unit_tensor(self, image: ImageLike) -> Tensor:
        """``image`` as a ``float32`` tensor ``(C, H, W)`` or ``(N, C, H, W)`` in ``[0, 1]``."""
        if _is_pil(image):
            image = np.asarray(image.convert("L" if self.channels == 1 else "RGB"))
        if isinstance(image, np.ndarray):
            array = _unit_float(image)
            if array.ndim == 2:
                x = torch.from_numpy(array)[None]
            elif array.ndim in (3, 4):
                x = torch.from_numpy(np.moveaxis(array, -1, -3).copy())
            else:
                raise ValueError(
                    f"A NumPy image is (H, W), (H, W, C) or (N, H, W, C); got shape {array.shape}."
                )
        elif isinstance(image, Tensor):
            x = image.detach()
            if x.dtype == torch.uint8:
                x = x.float() / 255.0
            elif x.dtype == torch.bool:
                x = x.float()
            elif not x.is_floating_point():
                raise TypeError(f"Tensor images are uint8, bool or float, not {x.dtype}.")
            if x.ndim == 2:
                x = x[None]
            elif x.ndim not in (3, 4):
                raise ValueError(
                    f"A tensor image is (H, W), (C, H, W) or (N, C, H, W); got {tuple(x.shape)}."
                )
        else:
            raise TypeError(
                f"Cannot preprocess a {type(image).__name__}; pass a NumPy array, a PIL image "
                "or a tensor."
            )
        x = x.to(torch.float32)
        channels = x.shape[-3]
        if channels == 1 and self.channels > 1:
            x = x.expand(*x.shape[:-3], self.channels, *x.shape[-2:])
        elif channels != self.channels:
            raise ValueError(
                f"The image has {channels} channels but this Preprocess expects "
                f"{self.channels} (len(mean)); convert the image (e.g. drop alpha, "
                "PIL .convert('RGB')) or use a Preprocess with matching mean/std."
            )
        return x

    def apply_geometry(self, x: Tensor) -> Tensor:
        """Resize and center-crop ``x`` ``(..., C, H, W)`` as configured; values clamped."""
        if self.resize is None and self.size is None:
            return x
        mode = InterpolationMode(self.interpolation)
        antialias = mode != InterpolationMode.NEAREST
        if self.resize is not None:
            x = TF.resize(x, [self.resize], interpolation=mode, antialias=antialias)
            if self.size is not None:
                x = TF.center_crop(x, list(_pair(self.size)))
        elif self.size is not None:
            x = TF.resize(x, list(_pair(self.size)), interpolation=mode, antialias=antialias)
        return x.clamp(0.0, 1.0)

    def normalize(self, x: Tensor) -> Tensor:
        """``(x - mean) / std`` over the channel axis of ``(..., C, H, W)``."""
        mean, std = self._stats(x)
        return (x - mean) / std

    def inverse(self, tensor: Tensor, clamp: bool = False) -> Tensor:
        """Undo the normalization: ``tensor * std + mean``.

        Parameters
        ----------
        tensor:
            ``(C, H, W)`` or ``(N, C, H, W)`` on the normalized scale.
        clamp:
            Clamp the result to ``[0, 1]``; off by default, so that values outside the
            image range (e.g. from a deconvnet reconstruction) stay visible.

        Returns
        -------
        Tensor
            Same shape, on the ``[0, 1]`` image scale. The geometry is not undone.
        """
        if not isinstance(tensor, Tensor) or tensor.ndim not in (3, 4):
            raise ValueError("inverse takes a (C, H, W) or (N, C, H, W) tensor.")
        if tensor.shape[-3] != self.channels:
            raise ValueError(
                f"The tensor has {tensor.shape[-3]} channels, this Preprocess {self.channels}."
            )
        mean, std = self._stats(tensor)
        out = tensor * std + mean
        return out.clamp(0.0, 1.0) if clamp else out

    def to_image(self, tensor: Tensor) -> np.ndarray:
        """Channel-last ``float32`` array in ``[0, 1]`` for drawing.

        ``(C, H, W)`` gives ``(H, W, 3)``; ``(N, C, H, W)`` gives ``(N, H, W, 3)``.
        One-channel tensors are replicated to three channels.
        """
        x = self.inverse(tensor.detach().float().cpu(), clamp=True)
        if x.shape[-3] == 1:
            x = x.expand(*x.shape[:-3], 3, *x.shape[-2:])
        return np.ascontiguousarray(torch.movedim(x, -3, -1).numpy())

    def _stats(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device)[:, None, None]
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device)[:, None, None]
        return mean, std


def _pair(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _is_pil(image: object) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - PIL ships with torchvision
        return False
    return isinstance(image, Image.Image)


def _unit_float(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float32)
    raise TypeError(
        f"NumPy images are uint8, uint16, bool or float in [0, 1], not {array.dtype}; "
        "scale the array to [0, 1] first."
    )


EFFICIENTNET_LITE0 = Preprocess(
    mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), size=224, resize=256, interpolation="bicubic"
)
"""EfficientNet-Lite0: inputs in ``[-1, 1]``; shorter side to 256 (bicubic), center 224."""

IMAGENET = Preprocess(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), size=224, resize=256)
"""torchvision's ImageNet evaluation transform: shorter side to 256, center 224, mean/std."""
