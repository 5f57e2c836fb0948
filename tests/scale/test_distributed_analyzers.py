"""Two processes (gloo) give the single-process result for every streaming analyzer."""

from __future__ import annotations

import os
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from interpret import scan
from interpret.core import load_result
from interpret.testing import chain_cnn

sys.path.insert(0, os.path.dirname(__file__))
from streaming import GeneratedImages, all_streaming_analyzers, assert_same_result  # noqa: E402


def _worker(rank: int, world: int, init_file: str, out: str) -> None:
    sys.path.insert(0, os.path.dirname(__file__))
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        torch.set_num_threads(1)
        results = scan(
            chain_cnn(),
            GeneratedImages(50),
            all_streaming_analyzers(),
            batch_size=6,
            progress=False,
        )
        for i, result in enumerate(results):
            result.save(f"{out}.{rank}.{i}")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_processes_equal_one_for_every_streaming_analyzer(tmp_path):
    single = scan(
        chain_cnn(), GeneratedImages(50), all_streaming_analyzers(), batch_size=6, progress=False
    )
    out = str(tmp_path / "r")
    mp.start_processes(
        _worker, args=(2, str(tmp_path / "init"), out), nprocs=2, join=True, start_method="spawn"
    )
    for rank in range(2):
        for i, expected in enumerate(single):
            assert_same_result(expected, load_result(f"{out}.{rank}.{i}"), type(expected).__name__)


def test_split_and_merged_states_equal_one_pass():
    """The same property without processes: scan two halves, merge, compare."""
    data = GeneratedImages(30)
    whole = scan(chain_cnn(), data, all_streaming_analyzers(), batch_size=4, progress=False)
    first, second = all_streaming_analyzers(), all_streaming_analyzers()
    scan(chain_cnn(), data, second, batch_size=4, progress=False, indices=range(13, 30))
    scan(chain_cnn(), data, first, batch_size=4, progress=False, indices=range(13))
    for a, b, expected in zip(first, second, whole):
        a.merge(b)
        assert_same_result(expected, a.result(), type(expected).__name__)
