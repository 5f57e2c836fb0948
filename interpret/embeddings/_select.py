"""Keep the best-scoring rows of a stream, with exact merging (reservoir and top-k alike).

A reservoir sample is the rows with the smallest random keys, i.e. the largest
``-key``; a top-k is the rows with the largest activation. Both are "the ``capacity``
rows with the highest score, ties to the lower id", which depends only on the set of
rows offered, so any split of the stream, merged, gives the single-pass state.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["BestRows", "score_order"]


def score_order(scores: Tensor, ids: Tensor) -> Tensor:
    """Permutation sorting by ``scores`` descending, ties by ``ids`` ascending (1-D)."""
    by_id = torch.sort(ids, stable=True).indices
    by_score = torch.sort(scores[by_id], descending=True, stable=True).indices
    return by_id[by_score]


class BestRows:
    """The ``capacity`` rows with the highest score seen so far, with their columns.

    ``columns`` are named tensors with one row per item (vectors, provenance,
    thumbnails); they are kept on the device and in the dtype they are offered
    (:meth:`to` moves them), and nothing is read on the host while offering.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}.")
        self.capacity = capacity
        self.scores = torch.empty(0, dtype=torch.float64)
        self.ids = torch.empty(0, dtype=torch.int64)
        self.columns: dict[str, Tensor] = {}

    def __len__(self) -> int:
        return int(self.ids.numel())

    def to(self, device: torch.device) -> BestRows:
        """Move the kept rows to ``device`` (in place); returns ``self``."""
        self.scores, self.ids = self.scores.to(device), self.ids.to(device)
        self.columns = {k: v.to(device) for k, v in self.columns.items()}
        return self

    def admits(self, scores: Tensor) -> Tensor:
        """Boolean mask of candidate scores that could still enter (a cheap pre-filter)."""
        if len(self) < self.capacity:
            return torch.ones_like(scores, dtype=torch.bool)
        return scores >= self.scores[-1].to(scores.device, scores.dtype)

    def offer(self, scores: Tensor, ids: Tensor, columns: dict[str, Tensor]) -> None:
        """Add candidates (the kept rows move to their device) and keep the best."""
        device = scores.device
        scores = scores.detach().to(torch.float64)
        ids = ids.detach().to(device, torch.int64)
        cols = {k: v.detach().to(device) for k, v in columns.items()}
        self.to(device)
        if not self.columns:
            self.columns = {k: v[:0].clone() for k, v in cols.items()}
        if set(cols) != set(self.columns):
            raise ValueError(f"Columns {sorted(cols)} differ from {sorted(self.columns)}.")
        all_scores = torch.cat([self.scores, scores])
        all_ids = torch.cat([self.ids, ids])
        order = score_order(all_scores, all_ids)[: self.capacity]
        self.scores, self.ids = all_scores[order], all_ids[order]
        self.columns = {k: torch.cat([self.columns[k], cols[k]])[order] for k in self.columns}

    def merge(self, other: BestRows) -> None:
        if other.capacity != self.capacity:
            raise ValueError("Cannot merge selections of different capacity.")
        if len(other):
            self.offer(other.scores, other.ids, other.columns)
