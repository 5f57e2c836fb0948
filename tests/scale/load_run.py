"""Scan N generated images with every streaming analyzer; print the peak RSS in MiB.

Run as a script in a fresh process (peak RSS is per process):
    python tests/scale/load_run.py 50000
"""

from __future__ import annotations

import os
import resource
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from streaming import GeneratedImages, all_streaming_analyzers  # noqa: E402

from interpret import scan  # noqa: E402
from interpret.testing import chain_cnn  # noqa: E402


def main(n: int) -> None:
    torch.set_num_threads(1)
    results = scan(
        chain_cnn(),
        GeneratedImages(n, size=(16, 16)),
        all_streaming_analyzers(256),
        batch_size=250,
        progress=False,
    )
    assert len(results) == len(all_streaming_analyzers())
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{n} {peak_mib:.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]))
