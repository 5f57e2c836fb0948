"""What a model expects and what its outputs mean, kept beside the model, not on it.

A :class:`ModelInfo` is a frozen record (input size, :class:`Preprocess`, class names).
Nothing is written onto the model itself, so timm and torchvision modules stay as they
were built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from torch import nn

from interpret.data.imagenet import imagenet_labels
from interpret.data.preprocess import EFFICIENTNET_LITE0, IMAGENET, Preprocess

__all__ = ["ModelInfo", "model_info", "load_bundled", "BUNDLED_MODELS"]

BUNDLED_MODELS: tuple[str, ...] = ("efficientnet_lite0",)
"""Models whose trained weights ship with an installed package (no network)."""

DIGIT_LABELS: tuple[str, ...] = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class ModelInfo:
    """Input convention and class names of a model.

    Attributes
    ----------
    name:
        The model's name as :func:`interpret.models.load_model` takes it.
    input_size:
        ``(C, H, W)`` of one input.
    preprocess:
        Turns an image into that input (and back, with ``preprocess.inverse``).
    labels:
        Class names in output order; empty when unknown.
    """

    name: str
    input_size: tuple[int, int, int]
    preprocess: Preprocess
    labels: tuple[str, ...]

    def label(self, index: int) -> str:
        """Name of output ``index`` (``str(index)`` when the names are unknown)."""
        return self.labels[index] if self.labels else str(index)


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of a model name that :func:`load_model` accepts.

    Known: ``efficientnet_lite0`` (``[-1, 1]``, 256 -> 224 bicubic, ImageNet labels),
    ``zfnet`` (torchvision's ImageNet transform), ``zfnet_digits`` (1 x 32 x 32 in
    ``[-1, 1]``, labels ``"0"``-``"9"``), torchvision classification models (from their
    default weights' transform and metadata; nothing is downloaded) and timm models
    (``"timm:NAME"`` or a timm name; from timm's pretrained config).

    Raises
    ------
    ValueError
        The name is none of these; see :func:`interpret.models.load_model` for close names.
    """
    if name == "efficientnet_lite0":
        return ModelInfo(name, (3, 224, 224), EFFICIENTNET_LITE0, imagenet_labels())
    if name == "zfnet":
        return ModelInfo(name, (3, 224, 224), IMAGENET, imagenet_labels())
    if name == "zfnet_digits":
        digits = Preprocess(mean=(0.5,), std=(0.5,), size=32)
        return ModelInfo(name, (1, 32, 32), digits, DIGIT_LABELS)
    info = _torchvision_info(name) if not name.startswith("timm:") else None
    if info is None:
        info = _timm_info(name.removeprefix("timm:"))
    if info is None:
        from interpret.models.loading import unknown_model_message

        raise ValueError(unknown_model_message(name, "No input convention is known for"))
    return info


def _torchvision_info(name: str) -> ModelInfo | None:
    import torchvision.models as tvm

    if name not in tvm.list_models():
        return None
    weights = tvm.get_model_weights(name).DEFAULT
    transform = weights.transforms()
    if not hasattr(transform, "crop_size"):
        raise ValueError(
            f"{name} is not an image classifier (its transform is {type(transform).__name__}); "
            "build its Preprocess yourself."
        )
    crop = int(transform.crop_size[0])
    preprocess = Preprocess(
        mean=tuple(transform.mean),
        std=tuple(transform.std),
        size=crop,
        resize=int(transform.resize_size[0]),
        interpolation=transform.interpolation.value,
    )
    return ModelInfo(name, (3, crop, crop), preprocess, tuple(weights.meta.get("categories", ())))


def _timm_info(name: str) -> ModelInfo | None:
    import timm

    if not timm.is_model(name):
        return None
    cfg = timm.get_pretrained_cfg(name)
    if cfg is None:
        raise ValueError(f"timm has no pretrained config for {name}; build a Preprocess yourself.")
    channels, height, width = cfg.input_size
    crop_pct = cfg.crop_pct or 1.0
    interpolation: Literal["bilinear", "bicubic"] = (
        "bicubic" if cfg.interpolation == "bicubic" else "bilinear"
    )
    preprocess = Preprocess(
        mean=tuple(cfg.mean),
        std=tuple(cfg.std),
        size=(height, width),
        resize=math.floor(min(height, width) / crop_pct),
        interpolation=interpolation,
    )
    labels = imagenet_labels() if cfg.num_classes == 1000 else ()
    return ModelInfo(name, (channels, height, width), preprocess, labels)


def load_bundled(name: str = "efficientnet_lite0") -> tuple[nn.Module, ModelInfo]:
    """A model with weights shipped in an installed package, and its :class:`ModelInfo`.

    Examples
    --------
    >>> import skimage.data
    >>> model, info = load_bundled("efficientnet_lite0")
    >>> info.label(int(model(info.preprocess(skimage.data.coffee())[None]).argmax()))
    'espresso'
    """
    if name not in BUNDLED_MODELS:
        raise ValueError(
            f"No bundled weights for {name!r}; bundled: {', '.join(BUNDLED_MODELS)}. Other "
            "models load with interpret.models.load_model."
        )
    from interpret.models.efficientnet import efficientnet_lite0

    return efficientnet_lite0(pretrained=True), model_info(name)
