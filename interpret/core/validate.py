"""One validation layer: the contracts of the public entry points, stated once.

Every check raises ``TypeError`` (a value of the wrong kind) or ``ValueError`` (the right
kind, a wrong value) with a message that says what to do. :func:`interpret.scan`,
:func:`interpret.capture`, occlusion, projection, embeddings and selectivity call these
before touching the model, so a bad argument never reaches PyTorch internals.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "check_model",
    "check_device",
    "check_analyzers",
    "check_labels",
    "check_index",
    "check_indices",
    "check_finite",
    "check_finite_number",
    "check_positive_int",
    "check_real",
]


def check_model(model: Any, name: str = "model") -> nn.Module:
    """``model`` must be an ``nn.Module`` instance whose tensors hold real data."""
    if isinstance(model, type) and issubclass(model, nn.Module):
        raise TypeError(
            f"{name} is the class {model.__name__}, not a model; instantiate it first: "
            f"{name} = {model.__name__}(...)."
        )
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"{name} must be a torch.nn.Module instance, got {type(model).__name__}; "
            "pass your network (for example torchvision.models.resnet18())."
        )
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        if tensor.device.type == "meta":
            raise ValueError(
                f"{name} is on the 'meta' device: its weights hold no data. Load or "
                f"initialise them first ({name}.to_empty(device='cpu') then load a "
                "state dict)."
            )
        break
    return model


def check_device(device: Any) -> torch.device | None:
    """``None``, a ``torch.device`` or a device string PyTorch knows (``"cuda:0"``)."""
    if device is None or isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(
            f"device must be a string such as 'cpu' or 'cuda:0' (or a torch.device), "
            f"got {type(device).__name__}."
        )
    try:
        return torch.device(device)
    except RuntimeError:
        raise ValueError(
            f"device={device!r} is not a device PyTorch knows; use 'cpu', 'cuda', "
            "'cuda:1', 'mps', ..."
        ) from None


def check_analyzers(analyzers: Sequence[Any]) -> list[Any]:
    """Every entry must be an analyzer object: ``sites``, ``update``, ``merge``, ``result``."""
    out = []
    for i, analyzer in enumerate(analyzers):
        if isinstance(analyzer, type):
            raise TypeError(
                f"analyzers[{i}] is the class {analyzer.__name__}; build one: "
                f"{analyzer.__name__}(site, ...)."
            )
        missing = [
            attr for attr in ("sites", "update", "merge", "result") if not hasattr(analyzer, attr)
        ]
        if missing:
            raise TypeError(
                f"analyzers[{i}] is a {type(analyzer).__name__}, not an analyzer (it lacks "
                f"{', '.join(missing)}); pass objects such as TopActivations('features.6')."
            )
        out.append(analyzer)
    return out


def check_labels(labels: Any, rows: int | None = None) -> Tensor | None:
    """Class labels from a dataset as a 1-D int64 tensor (``None`` stays ``None``).

    Floats are accepted only when every value is a whole number (``1.0``): ``0.6`` is a
    ``ValueError``, never silently truncated to class 0.
    """
    if labels is None:
        return None
    if not isinstance(labels, Tensor):
        try:
            labels = torch.as_tensor(labels)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(
                f"Labels must be integers (one per image), got {type(labels).__name__}."
            ) from None
    if labels.is_complex() or not (labels.is_floating_point() or _is_integer(labels)):
        raise TypeError(f"Labels must be integers (one per image), got {labels.dtype}.")
    if labels.ndim != 1 or (rows is not None and len(labels) != rows):
        raise ValueError(
            f"Labels must be one integer per image, shape ({rows if rows is not None else 'N'},)"
            f"; got shape {tuple(labels.shape)}. Yield other per-image values under another "
            "key of a dict item ({'image': ..., 'label': ..., 'mask': ...}) or as the third "
            "element of a tuple."
        )
    whole = torch.isfinite(labels) & (labels == labels.round())
    if labels.is_floating_point() and not bool(whole.all()):
        raise ValueError(
            f"Labels must be whole numbers (class indices); got {labels[~whole][:3].tolist()}. "
            "Map them to integer classes in the dataset."
        )
    return labels.long()


def _is_integer(tensor: Tensor) -> bool:
    return tensor.dtype in (
        torch.bool,
        torch.uint8,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
    )


def check_index(value: Any, name: str, upper: int | None = None) -> int:
    """One unit index: an ``int`` (or integer tensor scalar) in ``[0, upper)``."""
    if isinstance(value, Tensor):
        if value.numel() != 1 or not _is_integer(value) or value.dtype == torch.bool:
            raise TypeError(f"{name} must be an integer index, got a {value.dtype} tensor.")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        if hasattr(value, "__index__") and not isinstance(value, bool):
            value = int(value.__index__())
        else:
            raise TypeError(
                f"{name} must be an integer index, got {value!r} ({type(value).__name__}); "
                "pass an int."
            )
    if value < 0 or (upper is not None and value >= upper):
        bound = f"[0, {upper})" if upper is not None else ">= 0"
        raise ValueError(f"{name}={value} is out of range: it must lie in {bound}.")
    return value


def check_indices(values: Any, name: str, upper: int | None = None) -> list[int]:
    """A sequence (or 1-D integer tensor) of unit indices, each as in :func:`check_index`."""
    if isinstance(values, Tensor):
        if values.ndim > 1:
            raise ValueError(f"{name} must be 1-D, got shape {tuple(values.shape)}.")
        values = list(values.reshape(-1))
    elif isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        return [check_index(values, name, upper)]
    return [check_index(v, f"{name}[{i}]", upper) for i, v in enumerate(values)]


def check_finite(tensor: Tensor, name: str, what_to_do: str = "fix the input") -> Tensor:
    """``ValueError`` when ``tensor`` holds NaN or infinity."""
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        count = int((~torch.isfinite(tensor)).sum())
        raise ValueError(f"{name} holds {count} NaN or infinite values; {what_to_do}.")
    return tensor


def check_real(tensor: Tensor, name: str) -> Tensor:
    """``TypeError`` for a complex tensor (its imaginary part would be dropped)."""
    if isinstance(tensor, Tensor) and tensor.is_complex():
        raise TypeError(
            f"{name} is complex ({tensor.dtype}); pass real values (tensor.real or "
            "tensor.abs(), whichever you mean)."
        )
    return tensor


def check_positive_int(value: Any, name: str, allow_none: bool = False) -> int | None:
    """A positive ``int`` (``None`` allowed when ``allow_none``)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive int, got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}.")
    return value


def check_finite_number(value: Any, name: str) -> float:
    """A finite real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}.")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}.")
    return float(value)
