"""``scan``: one pass over a dataset feeding every analyzer from one set of hooks."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from interpret.core.analyzer import Analyzer, Batch, bind_sites
from interpret.core.batches import dataset_length, default_workers, iterate_batches
from interpret.core.capture import CaptureMode, capture, checked_forward
from interpret.core.checkpoint import ScanCheckpoint, scan_identity
from interpret.core.device import DeferredCheck, to_device
from interpret.core.distributed import current_shard, gather_and_merge
from interpret.core.results import Result
from interpret.core.sites import expand_keys
from interpret.core.state import preserved_state
from interpret.core.validate import check_analyzers, check_device, check_labels, check_model

__all__ = ["scan", "model_device"]


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU for a stateless model)."""
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _check_device(model: nn.Module, device: str | torch.device | None) -> torch.device:
    run_device = model_device(model)
    wanted = check_device(device)
    if wanted is not None and (
        wanted.type != run_device.type or wanted.index not in (None, run_device.index)
    ):
        raise ValueError(
            f"The model is on {run_device} but device={wanted}; move the model with "
            f"model.to('{wanted}') or pass device='{run_device}'."
        )
    return run_device


def _check_inputs(inputs: Any, allow_nonfinite: bool) -> Tensor:
    if not isinstance(inputs, Tensor):
        raise TypeError(f"Images must be tensors, got {type(inputs).__name__}; add a transform.")
    if not inputs.is_floating_point():
        raise TypeError(
            f"Images must be floating point, got {inputs.dtype}; convert and normalise "
            "them (interpret.data.Preprocess does)."
        )
    return inputs


FINITE_CHECK_EVERY = 32
"""Batches between two host reads of the deferred NaN/inf input check."""


def _raise_if_nonfinite(check: DeferredCheck, batch_size: int) -> None:
    bad = check.failed()
    if bad is not None:
        raise ValueError(
            f"Batch {bad} (images {(bad - 1) * batch_size} to {bad * batch_size - 1} in scan "
            "order) contains NaN or infinite values; fix the data, or pass "
            "allow_nonfinite=True to scan it anyway."
        )


def _autocast(device: torch.device, amp: bool | torch.dtype) -> contextlib.AbstractContextManager:
    if amp is False:
        return contextlib.nullcontext()
    dtype = (
        amp
        if isinstance(amp, torch.dtype)
        else (torch.float16 if device.type == "cuda" else torch.bfloat16)
    )
    return torch.autocast(device.type, dtype=dtype)


def scan(
    model: nn.Module,
    data: Dataset | DataLoader,
    analyzers: Analyzer | Sequence[Analyzer],
    *,
    device: str | torch.device | None = None,
    batch_size: int = 64,
    num_workers: int | None = None,
    progress: bool = True,
    allow_nonfinite: bool = False,
    distributed: bool | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 50,
    amp: bool | torch.dtype = False,
    channels_last: bool = False,
    indices: Sequence[int] | None = None,
) -> list[Result]:
    """Run ``model`` once over ``data`` and feed every analyzer.

    Parameters
    ----------
    model:
        Any ``nn.Module``; in eval mode for the scan, its modes and parameters'
        ``requires_grad`` restored after, hooks removed whatever happens.
    data:
        A map-style Dataset yielding ``image``, ``(image, label, ...)`` or
        ``{"image": ..., "label": ...}`` (images float ``(C, H, W)``), or a DataLoader
        (rows numbered in iteration order; sharding and resuming need a Dataset).
    analyzers:
        Objects following :class:`~interpret.core.analyzer.Analyzer`. Sites wanted by
        several analyzers are hooked once; each batch costs one forward. Their site
        selectors (globs such as ``"layer1.*"``, repeated calls such as
        ``"layer1.0.relu#1"``) are resolved once, after the first forward, into the
        concrete capture keys (:func:`~interpret.core.analyzer.bind_sites`): a
        single-site analyzer whose selector matches several sites, a ``#k`` the module
        does not reach or a pattern whose modules never run is a ``ValueError`` then.
    device:
        Where to run; default and only choice: the model's device (a different one is
        a ``ValueError``, not a silent copy of the model).
    batch_size, num_workers:
        DataLoader settings when ``data`` is a Dataset. ``num_workers=None`` (default):
        worker processes on CUDA when the dataset reads image files (it has ``files``),
        none otherwise (on the CPU, workers would take cores from the model). On CUDA
        the loader pins its batches and every copy to the device is non-blocking.
    progress:
        Show a tqdm progress bar.
    allow_nonfinite:
        Scan batches holding NaN/inf instead of raising ``ValueError``. The check runs
        on the device and is read every ``FINITE_CHECK_EVERY`` batches, before each
        checkpoint and at the end (the error names the first bad batch), so the scan
        never waits on the host for it.
    distributed:
        Shard the dataset over the ranks of the initialised process group and merge
        the analyzers' states after the pass; every rank returns the single-process
        result. ``None`` (default): shard when a group of more than one rank exists.
    checkpoint, checkpoint_every:
        Save the analyzers to ``checkpoint`` every ``checkpoint_every`` batches; a scan
        started again with the same arguments resumes from there and gives exactly the
        result of an uninterrupted scan. The file is removed on success (one file per
        rank: ``.rank{r}`` is appended when distributed).
    amp:
        Run the forward under ``torch.autocast`` (``True``: float16 on CUDA, bfloat16 on
        CPU; or a dtype). Activations then carry that precision (relative error around
        1e-2 for bfloat16, 1e-3 for float16); analyzers accumulate in float32/64.
    channels_last:
        Feed inputs in ``torch.channels_last`` memory format (faster convolutions on
        GPUs with tensor cores); values are unchanged up to float rounding.
    indices:
        Scan only these dataset positions, in this order (``batch.index`` carries them);
        a distributed scan shards this list.

    Returns
    -------
    list of Result
        ``analyzer.result()`` for each analyzer, in order.
    """
    check_model(model)
    chosen: list[Any]
    if isinstance(analyzers, Analyzer):
        chosen = [analyzers]
    elif hasattr(analyzers, "__iter__") and not isinstance(analyzers, (str, bytes)):
        chosen = check_analyzers(list(analyzers))
    else:
        chosen = check_analyzers([analyzers])  # names what it is: not an analyzer
    analyzers = chosen
    if not analyzers:
        raise ValueError("scan needs at least one analyzer.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    length = dataset_length(data)
    if indices is not None:
        if isinstance(data, DataLoader):
            raise ValueError("indices= needs a Dataset, not a DataLoader.")
        indices = [int(i) for i in indices]
        if any(not 0 <= i < length for i in indices):
            raise ValueError(f"indices must lie in [0, {length}) for this dataset.")
    total = length if indices is None else len(indices)
    if total == 0:
        raise ValueError("The dataset is empty: scan needs at least one image.")
    run_device = _check_device(model, device)
    shard = current_shard(distributed)
    if shard is not None:
        if isinstance(data, DataLoader):
            raise ValueError(
                "A distributed scan needs a Dataset (each rank builds its own loader)."
            )
        block = shard.indices(total)
        indices = list(block) if indices is None else indices[block.start : block.stop]
    saver = None
    if checkpoint is not None:
        if isinstance(data, DataLoader):
            raise ValueError("A resumable scan needs a Dataset, not a DataLoader.")
        path = f"{checkpoint}.rank{shard.rank}" if shard is not None else checkpoint
        identity = scan_identity(
            model=model,
            data=data,
            analyzers=analyzers,
            total=total,
            batch_size=batch_size,
            shard=shard,
            indices=indices,
        )
        saver = ScanCheckpoint(path, checkpoint_every, identity)
    done = saver.restore(analyzers) if saver is not None else 0
    if done:
        base = list(indices) if indices is not None else list(range(total))
        indices = base[done * batch_size :]
    needs_grad = any(getattr(a, "needs_grad", False) for a in analyzers)
    sites = list(dict.fromkeys(s for a in analyzers for s in a.sites))
    todo = len(indices) if indices is not None else total
    from interpret.core.progress import progress_bar

    bar = progress_bar(total=todo, disable=not progress, desc="scan", unit="img")
    mode: CaptureMode = "grad" if needs_grad else "observe"
    workers = default_workers(data, run_device) if num_workers is None else num_workers
    pin = run_device.type == "cuda"
    finite = DeferredCheck()
    with preserved_state(model), capture(model, sites, mode) if sites else _no_capture() as acts:
        model.eval()
        try:
            for step, (index, inputs, labels, meta) in enumerate(
                iterate_batches(data, batch_size, workers, indices, pin_memory=pin),
                start=done + 1,
            ):
                inputs = to_device(_check_inputs(inputs, allow_nonfinite), run_device)
                labels = check_labels(labels, len(inputs))
                index = to_device(index, run_device)
                labels = None if labels is None else to_device(labels, run_device)
                if not allow_nonfinite:
                    finite.record(~torch.isfinite(inputs).all(), step)
                if channels_last and inputs.ndim == 4:
                    inputs = inputs.contiguous(memory_format=torch.channels_last)
                first = step == done + 1
                outputs = _forward(model, inputs, needs_grad, amp, run_device, first)
                if first and sites:
                    acts.keep_only(_bind(model, analyzers, list(acts)))
                batch = Batch(inputs, index, labels, outputs, meta)
                with torch.no_grad():
                    for analyzer in analyzers:
                        analyzer.update(acts, batch)
                bar.update(len(inputs))
                if step % FINITE_CHECK_EVERY == 0:
                    _raise_if_nonfinite(finite, batch_size)
                if saver is not None:
                    if step % saver.every == 0:  # never save a state fed bad inputs
                        _raise_if_nonfinite(finite, batch_size)
                    saver.maybe_save(analyzers, step)
        except Exception:
            _raise_if_nonfinite(finite, batch_size)  # bad inputs explain a later failure
            raise
        finally:
            bar.close()
    _raise_if_nonfinite(finite, batch_size)
    if shard is not None:
        gather_and_merge(analyzers)
    results = [analyzer.result() for analyzer in analyzers]
    if saver is not None:
        saver.finish()
    return results


def _bind(model: nn.Module, analyzers: list[Any], keys: list[str]) -> set[str]:
    """Resolve every analyzer's selectors against one forward's keys and bind them;
    returns the keys any analyzer reads."""
    resolved = [expand_keys(model, a.sites, keys) if a.sites else [] for a in analyzers]
    for analyzer, concrete in zip(analyzers, resolved):
        if concrete:
            bind_sites(analyzer, concrete)
    return {key for concrete in resolved for key in concrete}


@contextlib.contextmanager
def _no_capture():
    yield {}


def _forward(
    model: nn.Module,
    inputs: Tensor,
    needs_grad: bool,
    amp: bool | torch.dtype,
    device: torch.device,
    first: bool,
) -> Any:
    grad_ctx = torch.enable_grad() if needs_grad else torch.inference_mode()
    with grad_ctx, _autocast(device, amp):
        return checked_forward(model, inputs) if first else model(inputs)
