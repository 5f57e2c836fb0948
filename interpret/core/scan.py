"""``scan``: one pass over a dataset feeding every analyzer from one set of hooks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from interpret.core.analyzer import Analyzer, Batch
from interpret.core.capture import capture
from interpret.core.results import Result
from interpret.core.state import preserved_state

__all__ = ["scan", "model_device", "iterate_batches"]


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU for a stateless model)."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


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
                "A dict item needs an 'image' (or 'input') entry; got keys "
                f"{sorted(item)}."
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
) -> Iterator[tuple[Tensor, Tensor, Tensor | None, dict[str, Any]]]:
    """Yield ``(index, inputs, labels, meta)`` batches from a Dataset or DataLoader.

    A Dataset is read in order (``indices`` picks a subset: a shard); a user
    DataLoader is iterated as it is and its rows are numbered in iteration order.
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
        _Indexed(data, indices), batch_size=batch_size, shuffle=False, num_workers=num_workers
    )
    for index, item in loader:
        inputs, labels, meta = _split_item(item)
        yield index, inputs, labels, meta


def _dataset_length(data: Dataset | DataLoader) -> int:
    try:
        return len(data.dataset if isinstance(data, DataLoader) else data)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            "scan needs a map-style Dataset (with __len__) or a DataLoader over one."
        ) from None


def _check_inputs(inputs: Any, allow_nonfinite: bool) -> Tensor:
    if not isinstance(inputs, Tensor):
        raise TypeError(f"Images must be tensors, got {type(inputs).__name__}; add a transform.")
    if not inputs.is_floating_point():
        raise TypeError(
            f"Images must be floating point, got {inputs.dtype}; convert and normalise "
            "them (interpret.data.Preprocess does)."
        )
    if not allow_nonfinite and not bool(torch.isfinite(inputs).all()):
        raise ValueError(
            "The batch contains NaN or infinite values; fix the data, or pass "
            "allow_nonfinite=True to scan it anyway."
        )
    return inputs


def _as_labels(labels: Any) -> Tensor | None:
    if labels is None:
        return None
    labels = torch.as_tensor(labels)
    return labels.long() if labels.ndim == 1 else None


def scan(
    model: nn.Module,
    data: Dataset | DataLoader,
    analyzers: Sequence[Analyzer],
    *,
    device: str | torch.device | None = None,
    batch_size: int = 64,
    num_workers: int = 0,
    progress: bool = True,
    allow_nonfinite: bool = False,
) -> list[Result]:
    """Run ``model`` once over ``data`` and feed every analyzer.

    Parameters
    ----------
    model:
        Any ``nn.Module``; put in eval mode for the scan, its mode and parameters'
        ``requires_grad`` restored after.
    data:
        A map-style Dataset yielding ``image``, ``(image, label, ...)`` or
        ``{"image": ..., "label": ...}``, or a DataLoader over one. Images are float
        ``(C, H, W)`` tensors (``(N, C, H, W)`` batches from a DataLoader).
    analyzers:
        Objects following :class:`~interpret.core.analyzer.Analyzer`. Sites wanted by
        several analyzers are hooked once.
    device:
        Where to run; default the model's device. It must be the model's device.
    batch_size, num_workers:
        Used when ``data`` is a Dataset.
    progress:
        Show a tqdm progress bar.
    allow_nonfinite:
        Scan batches holding NaN/inf instead of raising ``ValueError``.

    Returns
    -------
    list of Result
        ``analyzer.result()`` for each analyzer, in order.

    Example
    -------
    >>> import torch
    >>> from torch import nn
    >>> from interpret.deconvnet import TopActivations  # doctest: +SKIP
    """
    if isinstance(analyzers, Analyzer):
        analyzers = [analyzers]
    analyzers = list(analyzers)
    if not analyzers:
        raise ValueError("scan needs at least one analyzer.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if _dataset_length(data) == 0:
        raise ValueError("The dataset is empty: scan needs at least one image.")
    run_device = model_device(model)
    if device is not None and torch.device(device) != run_device:
        wanted = torch.device(device)
        same = wanted.type == run_device.type and wanted.index in (None, run_device.index)
        if not same:
            raise ValueError(
                f"The model is on {run_device} but device={wanted}; move the model with "
                f"model.to('{wanted}') or pass device='{run_device}'."
            )
    needs_grad = any(getattr(a, "needs_grad", False) for a in analyzers)
    sites = list(dict.fromkeys(s for a in analyzers for s in a.sites))
    total = _dataset_length(data)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, disable=not progress, desc="scan", unit="img")
    with preserved_state(model), capture(model, sites, "grad" if needs_grad else "observe") as acts:
        model.eval()
        first = True
        try:
            for index, inputs, labels, meta in iterate_batches(data, batch_size, num_workers):
                inputs = _check_inputs(inputs, allow_nonfinite).to(run_device, non_blocking=True)
                grad_ctx = torch.enable_grad() if needs_grad else torch.inference_mode()
                with grad_ctx:
                    try:
                        outputs = model(inputs)
                    except RuntimeError as err:
                        if not first:
                            raise
                        raise ValueError(
                            f"The model could not run on a batch of shape {tuple(inputs.shape)} "
                            f"({inputs.dtype}): {err}. Check the input size, channels and "
                            "preprocessing the model expects."
                        ) from err
                first = False
                batch = Batch(inputs, index, _as_labels(labels), outputs, meta)
                with torch.no_grad():
                    for analyzer in analyzers:
                        analyzer.update(acts, batch)
                bar.update(len(inputs))
        finally:
            bar.close()
    return [analyzer.result() for analyzer in analyzers]
