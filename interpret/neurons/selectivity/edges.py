"""Fixed histogram edges for :class:`~interpret.neurons.selectivity.Selectivity`.

By default ``Selectivity`` fits adaptive power-of-two edges to the data (exact, and
independent of order and sharding). Fixed edges are for comparing runs bin by bin, or
for a range you choose: :func:`edges_from_values` makes per-neuron edges from values at
hand, :func:`calibrate_edges` from the first images of a dataset.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from interpret.core.capture import run_and_capture
from interpret.core.scan import iterate_batches, model_device
from interpret.core.validate import check_finite_number, check_real
from interpret.neurons.selectivity.units import neuron_values

__all__ = ["edges_from_values", "calibrate_edges", "as_edges"]

MARGIN = 0.25


def edges_from_values(values: Tensor, bins: int = 64, margin: float = MARGIN) -> Tensor:
    """Per-neuron uniform edges ``(D, bins + 1)`` float64 covering ``values`` ``(N, D)``.

    For each neuron, with ``lo, hi`` its min and max and ``span = hi - lo`` (1, or
    ``|hi|``, when constant): the edges run from ``lo - margin * span`` (but not below 0
    when ``lo >= 0``: ReLU outputs get 0 as first edge) to ``hi + margin * span``. Later
    values outside land in the under/overflow bins (still counted).
    """
    if values.ndim != 2 or values.shape[0] == 0:
        raise ValueError(f"values must be (N, D) with N >= 1, got shape {tuple(values.shape)}.")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}.")
    x = values.detach().to("cpu", torch.float64)
    lo, hi = x.amin(0), x.amax(0)
    span = hi - lo
    span = torch.where(span > 0, span, hi.abs().clamp(min=1.0))
    low = lo - margin * span
    low = torch.where(lo >= 0, low.clamp(min=0.0), low)
    high = hi + margin * span
    steps = torch.linspace(0.0, 1.0, bins + 1, dtype=torch.float64)
    return low.unsqueeze(1) + (high - low).unsqueeze(1) * steps


def calibrate_edges(
    model: nn.Module,
    data: Dataset | DataLoader,
    site: str,
    *,
    reduction: str | None = None,
    channel_dim: int = 1,
    bins: int = 64,
    num_images: int = 256,
    batch_size: int = 64,
    margin: float = MARGIN,
) -> Tensor:
    """Edges ``(D, bins + 1)`` from the first ``num_images`` images of ``data``.

    Pass the result as ``Selectivity(..., edges=...)`` to every shard of a scan.
    """
    chunks: list[Tensor] = []
    seen = 0
    device = model_device(model)
    for _, inputs, _, _ in iterate_batches(data, batch_size):
        _, acts = run_and_capture(model, inputs.to(device), site)
        chunks.append(neuron_values(acts[site], reduction, channel_dim, site).double().cpu())
        seen += len(inputs)
        if seen >= num_images:
            break
    return edges_from_values(torch.cat(chunks)[:num_images], bins, margin)


def as_edges(edges: Any, bins: int) -> tuple[Tensor | None, str]:
    """Validate ``Selectivity(edges=...)``: ``(edges or None, "given" or "adaptive")``."""
    if edges is None:
        return None, "adaptive"
    if isinstance(edges, tuple) and len(edges) == 2 and not isinstance(edges[0], Tensor):
        low = check_finite_number(edges[0], "edges[0]")
        high = check_finite_number(edges[1], "edges[1]")
        if not high > low:
            raise ValueError(f"An edge range (low, high) needs high > low, got {edges}.")
        return torch.linspace(low, high, bins + 1, dtype=torch.float64), "given"
    if isinstance(edges, Tensor):
        check_real(edges, "edges")
    edges = torch.as_tensor(edges, dtype=torch.float64).cpu()
    if edges.ndim not in (1, 2) or edges.shape[-1] < 2:
        raise ValueError("edges must be (B + 1,) or (D, B + 1) with B + 1 >= 2 values.")
    if not bool((edges[..., 1:] > edges[..., :-1]).all()) or not bool(edges.isfinite().all()):
        raise ValueError("edges must be finite and strictly increasing along the last axis.")
    return edges, "given"
