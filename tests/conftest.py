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


def pytest_configure(config: pytest.Config) -> None:
    # a deprecated result name (docs/results.md) read anywhere but under pytest.warns fails:
    # the library, its tests, notebooks and docs use the new names
    config.addinivalue_line("filterwarnings", "error:.* is deprecated since:DeprecationWarning")


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"cuda {torch.cuda.is_available()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
    )


@pytest.fixture(autouse=True, scope="session")
def user_cache(tmp_path_factory: pytest.TempPathFactory):
    """Trained artefacts (the ZFNet on digits) go to one cache per test session, never
    to the user's ``~/.cache/interpret``."""
    if "INTERPRET_CACHE" in os.environ:
        yield os.environ["INTERPRET_CACHE"]
        return
    path = tmp_path_factory.mktemp("interpret-cache")
    os.environ["INTERPRET_CACHE"] = str(path)
    yield str(path)
    del os.environ["INTERPRET_CACHE"]
