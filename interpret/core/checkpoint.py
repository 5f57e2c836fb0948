"""Checkpoints of long scans: analyzer states every N batches, resumed exactly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from interpret.core.results import atomic_write

__all__ = ["ScanCheckpoint"]


class ScanCheckpoint:
    """Saves and restores the analyzers of one scan.

    The file holds the pickled analyzers, the number of batches done and a fingerprint
    of the scan (dataset length, batch size, shard, analyzer types and sites). A file
    whose fingerprint differs is refused, so a checkpoint never resumes a different
    scan. The file is written atomically and removed once the scan completes.

    Loading unpickles Python objects (``weights_only=False``): only resume from
    checkpoints you wrote yourself.
    """

    def __init__(self, path: str | os.PathLike[str], every: int, fingerprint: dict[str, Any]):
        if every < 1:
            raise ValueError(f"checkpoint_every must be at least 1 batch, got {every}.")
        self.path = Path(path)
        self.every = every
        self.fingerprint = fingerprint

    def restore(self, analyzers: list[Any]) -> int:
        """Load saved states into ``analyzers``; returns the number of batches done."""
        if not self.path.is_file():
            return 0
        saved = torch.load(self.path, map_location="cpu", weights_only=False)
        if saved.get("fingerprint") != self.fingerprint:
            raise ValueError(
                f"The checkpoint {self.path} belongs to a different scan (other data, batch "
                "size or analyzers); delete it or pass another checkpoint path."
            )
        for analyzer, state in zip(analyzers, saved["analyzers"]):
            analyzer.__dict__.update(state.__dict__)
        return int(saved["batches"])

    def maybe_save(self, analyzers: list[Any], batches: int) -> None:
        if batches % self.every == 0:
            payload = {"fingerprint": self.fingerprint, "batches": batches, "analyzers": analyzers}
            atomic_write(self.path, lambda tmp: torch.save(payload, tmp))

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)
