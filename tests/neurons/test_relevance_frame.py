"""ChannelRelevanceResult.to_frame: channels by significance, equal to their tensors."""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from interpret.core import scan
from interpret.neurons import ChannelRelevance
from interpret.testing import chain_cnn


def test_relevance_frame_round_trips() -> None:
    gen = torch.Generator().manual_seed(0)
    images = torch.randn(6, 3, 16, 16, generator=gen)
    masks = (torch.rand(6, 16, 16, generator=gen) > 0.5).float()
    analyzer = ChannelRelevance("features.1", masks=masks)
    res = scan(chain_cnn(), TensorDataset(images, torch.zeros(6)), [analyzer], progress=False)[0]
    frame = res.to_frame()
    assert frame.channel.tolist() == res.order.tolist() and frame["rank"].tolist() == [*range(6)]
    for row in frame.itertuples():
        c = row.channel
        assert row.significance == res.significance[c].item()
        assert row.correlation == res.correlation[c].item()
        assert row.weight == res.weights[c].item()
        assert (row.mean, row.std) == (res.mean[c].item(), res.std[c].item())
    assert (frame.significance.diff().dropna() <= 0).all()
