"""Fixtures for the embeddings tests: small models, labelled random images, and a slow,
literal gradient-support computation of receptive fields to check boxes against."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from interpret.core import capture


class LabelledImages(Dataset):
    """``n`` random images ``(3, h, w)`` with labels ``i % classes``."""

    def __init__(self, n: int = 10, h: int = 32, w: int = 40, classes: int = 3, seed: int = 0):
        gen = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 3, h, w, generator=gen)
        self.y = torch.arange(n) % classes

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        return self.x[i], int(self.y[i])


@pytest.fixture
def images() -> LabelledImages:
    return LabelledImages()


@pytest.fixture(scope="session")
def make_images() -> type[LabelledImages]:
    return LabelledImages


def literal_support_box(
    model: nn.Module,
    site: str,
    image: Tensor,
    y: int,
    x: int,
    k: int = 1,
    probes: int = 6,
    seed: int = 0,
) -> tuple[int, int, int, int]:
    """Bounding box of the input pixels whose gradient is non-zero for the k x k
    neighbourhood anchored at (y, x), united over the image and ``probes`` random inputs."""
    gen = torch.Generator().manual_seed(seed)
    r = (k - 1) // 2
    support = torch.zeros(image.shape[1:], dtype=torch.bool)
    inputs = [image] + [torch.randn(image.shape, generator=gen) for _ in range(probes)]
    model.eval()
    for inp in inputs:
        inp = inp[None].clone().requires_grad_(True)
        with capture(model, site, "grad") as acts:
            model(inp)
            block = acts[site][0, :, y - r : y - r + k, x - r : x - r + k]
            weight = 0.5 + torch.rand(block.shape, generator=gen)
            (grad,) = torch.autograd.grad((block * weight).sum(), inp)
        support |= (grad[0] != 0).any(0)
    rows = support.any(1).nonzero().flatten()
    cols = support.any(0).nonzero().flatten()
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


@pytest.fixture
def support_box() -> Callable[..., tuple[int, int, int, int]]:
    return literal_support_box
