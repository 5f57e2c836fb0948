"""Reading a Dataset or DataLoader as ``(index, inputs, labels, meta)`` batches."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

__all__ = ["iterate_batches", "dataset_length", "default_workers"]


class _Indexed(Dataset):
    """Wraps a dataset so each item carries its position."""

    def __init__(self, dataset: Dataset, indices: Sequence[int] | None = None) -> None:
        self.dataset = dataset
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices) if self.indices is not None else len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> tuple[int, Any]:
        j = self.indices[i] if self.indices is not None else i
        return j, self.dataset[j]


def _split_item(item: Any) -> tuple[Tensor, Tensor | None, dict[str, Any]]:
    """A collated dataset item -> (inputs, labels, meta)."""
    if isinstance(item, Tensor):
        return item, None, {}
    if isinstance(item, Mapping):
        key = next((k for k in ("image", "input", "inputs", "x") if k in item), None)
        if key is None:
            raise ValueError(
                f"A dict item needs an 'image' (or 'input') entry; got keys {sorted(item)}."
            )
        label = item.get("label", item.get("labels"))
        meta = {k: v for k, v in item.items() if k not in (key, "label", "labels")}
        return item[key], label, meta
    if isinstance(item, (tuple, list)) and item:
        inputs = item[0]
        label = item[1] if len(item) > 1 else None
        meta = {f"field{i}": v for i, v in enumerate(item[2:], start=2)}
        return inputs, label, meta
    raise TypeError(
        f"A dataset item must be a tensor, an (image, label, ...) tuple or a dict, "
        f"not {type(item).__name__}."
    )


def iterate_batches(
    data: Dataset | DataLoader,
    batch_size: int,
    num_workers: int = 0,
    indices: Sequence[int] | None = None,
    *,
    pin_memory: bool = False,
) -> Iterator[tuple[Tensor, Tensor, Tensor | None, dict[str, Any]]]:
    """Yield ``(index, inputs, labels, meta)`` batches from a Dataset or DataLoader.

    A Dataset is read in order (``indices`` picks a subset: a shard) by a DataLoader
    built here, with page-locked batches when ``pin_memory`` (so that copies to a GPU
    are asynchronous); a user DataLoader is iterated as it is and its rows are numbered
    in iteration order.
    """
    if isinstance(data, DataLoader):
        if indices is not None:
            raise ValueError("Sharding needs a Dataset, not a DataLoader.")
        start = 0
        for item in data:
            inputs, labels, meta = _split_item(item)
            index = torch.arange(start, start + len(inputs))
            start += len(inputs)
            yield index, inputs, labels, meta
        return
    loader = DataLoader(
        _Indexed(data, indices),
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=pin_memory and torch.cuda.is_available(),
        persistent_workers=False,
    )
    batches = iter(loader)
    while True:
        try:
            index, item = next(batches)
        except StopIteration:
            return
        except RuntimeError as err:
            if "stack expects each tensor to be equal size" not in str(err):
                raise
            raise ValueError(
                f"The dataset's images in one batch differ in size ({err}). Resize them to "
                "one size in the dataset's transform, or pass batch_size=1."
            ) from None
        inputs, labels, meta = _split_item(item)
        yield index, inputs, labels, meta


def dataset_length(data: Dataset | DataLoader) -> int:
    try:
        return len(data.dataset if isinstance(data, DataLoader) else data)  # type: ignore[arg-type]
    except (TypeError, IndexError, AttributeError) as err:
        raise TypeError(
            "scan needs a map-style Dataset (with __len__) or a DataLoader over one; "
            f"len() of the {type(data).__name__} failed ({type(err).__name__}: {err})."
        ) from None


def default_workers(data: Dataset | DataLoader, device: torch.device) -> int:
    """DataLoader workers for a scan of ``data`` on ``device``: on CUDA, worker processes
    decode image files while the GPU computes (up to 4, one per core); on the CPU, or for
    in-memory data, none (workers would take cores from the model)."""
    if isinstance(data, DataLoader) or device.type != "cuda":
        return 0
    reads_files = hasattr(data, "files") or hasattr(getattr(data, "dataset", None), "files")
    return min(4, os.cpu_count() or 1) if reads_files else 0
