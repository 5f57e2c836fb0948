"""Constants, model factories and the browser helpers shared by the atlas tests."""

from __future__ import annotations

from chromium import CHROMIUM_FLAGS, find_chromium  # tests/chromium.py, shared
from torch import Tensor, nn

__all__ = [
    "CHROMIUM_FLAGS",
    "CLASSES",
    "FORWARDS",
    "SITES",
    "counted_chain_cnn",
    "find_chromium",
    "wide_chain_cnn",
]

SITES = ["features.1", "features.4", "features.7"]
CLASSES = ("cat", "coffee", "rocket")

FORWARDS: list[Tensor] = []
"""The input of every forward of the models :func:`counted_chain_cnn` made (this process)."""


def counted_chain_cnn() -> nn.Module:
    """``chain_cnn()`` (same weights) recording each forward's input in :data:`FORWARDS`."""
    from interpret.testing import chain_cnn

    model = chain_cnn()
    # a pre-hook: it also sees calls that stop early at a site (maximization does)
    model.register_forward_pre_hook(lambda module, args: FORWARDS.append(args[0].detach().clone()))
    return model


def wide_chain_cnn() -> nn.Module:
    """A chain CNN with the sites of ``chain_cnn()`` but 12 units in ``features.4``, not 8."""
    from interpret.testing import chain_cnn

    return chain_cnn(channels=(3, 6, 12, 10))
