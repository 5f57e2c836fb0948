"""Sharded scans under ``torch.distributed``: who reads what, and merging the states.

Each rank reads one contiguous block of the dataset (rank ``r`` of ``W`` gets
``[r N / W, (r + 1) N / W)``), so concatenating the ranks' states in rank order gives
the single-process order. After the pass every rank's analyzers are all-gathered
(``all_gather_object``: works with gloo on CPU and NCCL on CUDA) and merged in rank
order on every rank, so every rank returns the same result as one process would.

Launch with ``torchrun --nproc-per-node=2 my_scan.py`` (one machine) or
``torchrun --nnodes=2 --node-rank=0|1 --master-addr=HOST --master-port=29500
--nproc-per-node=G my_scan.py`` (several), after ``dist.init_process_group()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch.distributed as dist

__all__ = ["Shard", "current_shard", "gather_and_merge"]


class Shard:
    """Rank ``rank`` of ``world`` reading its block of ``length`` items."""

    def __init__(self, rank: int, world: int) -> None:
        if not 0 <= rank < world:
            raise ValueError(f"rank must be in [0, {world}), got {rank}.")
        self.rank = rank
        self.world = world

    def indices(self, length: int) -> range:
        return range(self.rank * length // self.world, (self.rank + 1) * length // self.world)


def current_shard(distributed: bool | None) -> Shard | None:
    """The shard of this process, or ``None`` for a single-process scan.

    ``distributed=None`` means "if a process group is initialised"; ``True`` requires one.
    """
    active = dist.is_available() and dist.is_initialized()
    if distributed is None:
        distributed = active and dist.get_world_size() > 1
    if not distributed:
        return None
    if not active:
        raise ValueError(
            "distributed=True needs an initialised process group: call "
            "torch.distributed.init_process_group() first (torchrun sets the environment)."
        )
    return Shard(dist.get_rank(), dist.get_world_size())


def gather_and_merge(analyzers: Sequence[Any]) -> None:
    """Replace each local analyzer's state by the merge of all ranks' states (rank order)."""
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, list(analyzers))
    for position, local in enumerate(analyzers):
        merged = gathered[0][position]
        for other in gathered[1:]:
            merged.merge(other[position])
        local.__dict__.update(merged.__dict__)
