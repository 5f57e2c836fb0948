"""Shared fixtures. Tests run on the CPU; CUDA-only tests skip themselves without a GPU."""

from __future__ import annotations

import os

import matplotlib
import pytest
import torch

matplotlib.use("Agg")


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"cuda {torch.cuda.is_available()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
    )
