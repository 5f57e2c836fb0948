"""Validation of per-image labels and attributes given to analyzers (internal)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

__all__ = ["check_labels", "check_attributes"]


def check_labels(labels: Any) -> Tensor | None:
    """``(num_images,)`` int64 labels, or ``None``."""
    if labels is None:
        return None
    labels = torch.as_tensor(labels).cpu()
    if labels.ndim != 1 or labels.is_floating_point() or labels.dtype == torch.bool:
        raise ValueError(
            f"labels must be a 1-D integer tensor (one class per dataset image), got "
            f"{labels.dtype} of shape {tuple(labels.shape)}."
        )
    return labels.long()


def check_attributes(attributes: Any) -> tuple[Tensor | None, tuple[str, ...]]:
    """``(num_images, A)`` int64 attributes in {-1, 0, 1} and their names."""
    if attributes is None:
        return None, ()
    if isinstance(attributes, Mapping):
        names = tuple(str(k) for k in attributes)
        columns = [torch.as_tensor(v).cpu().flatten() for v in attributes.values()]
        if len({c.shape[0] for c in columns}) > 1:
            raise ValueError("Every attribute needs one value per dataset image.")
        attributes = torch.stack(columns, 1)
    else:
        attributes = torch.as_tensor(attributes).cpu()
        if attributes.ndim == 1:
            attributes = attributes.unsqueeze(1)
        names = tuple(f"attribute {i}" for i in range(attributes.shape[-1]))
    if attributes.ndim != 2 or attributes.shape[1] == 0:
        raise ValueError(f"attributes must be (num_images, A), got {tuple(attributes.shape)}.")
    values = attributes.to(torch.float64)
    if not bool(((values == 0) | (values == 1) | (values == -1)).all()):
        raise ValueError("attributes must be binary: 1 (has it), 0 (has not), -1 (unknown).")
    return values.long(), names
