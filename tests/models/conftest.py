import pytest
import torch


@pytest.fixture
def one_thread():
    """Run a test with one intra-op thread, restoring the previous count afterwards.

    The test machines share two cores among several workers; there, two spinning OpenMP
    threads per process make small CPU workloads 10-30x slower than one thread.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
