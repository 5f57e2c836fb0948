"""A scan with a checkpoint, killed by SIGKILL from inside its dataset.

Run as a script: ``python resume_job.py CHECKPOINT KILL_AT`` scans until the dataset
reads item ``KILL_AT``, which kills the process (no Python cleanup, no ``finally``).
Imported by ``test_checkpoint.py`` for the same data, model and analyzers.
"""

from __future__ import annotations

import os
import signal
import sys

import torch
from torch.utils.data import Dataset

from interpret import scan
from interpret.core import ActivationStats
from interpret.deconvnet import TopActivations
from interpret.neurons import Selectivity
from interpret.testing import chain_cnn

N = 45


class KilledData(Dataset):
    """``N`` seeded images with labels ``i % 3``; reading item ``kill_at`` is SIGKILL."""

    def __init__(self, kill_at: int | tuple[int, ...] | None = None, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.images = torch.randn(N, 3, 21, 17, generator=gen)
        self.kill_at = (kill_at,) if isinstance(kill_at, int) else (kill_at or ())

    def __len__(self) -> int:
        return N

    def __getitem__(self, i: int):
        if i in self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return self.images[i], i % 3


def analyzers(k: int = 5, bins: int = 16) -> list:
    return [
        ActivationStats(["features.2", "features.5"]),
        TopActivations("features.5", k=k),
        Selectivity("features.5", classes=3, bins=bins),
    ]


def run(data: Dataset, checkpoint: str | None, *, k: int = 5, bins: int = 16, seed: int = 0):
    torch.set_num_threads(1)
    return scan(
        chain_cnn(seed=seed),
        data,
        analyzers(k, bins),
        batch_size=4,
        progress=False,
        checkpoint=checkpoint,
        checkpoint_every=2,
    )


def distributed_worker(
    rank: int, world: int, init_file: str, ckpt: str, kill_at: tuple[int, ...], k: int, out: str
) -> None:
    """One rank of a 2-process gloo scan (``torch.multiprocessing`` spawn target)."""
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        for i, result in enumerate(run(KilledData(kill_at), ckpt, k=k)):
            result.save(f"{out}.{rank}.{i}")
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    run(KilledData(int(sys.argv[2])), sys.argv[1])
    sys.exit(3)  # not reached: the dataset kills the process
