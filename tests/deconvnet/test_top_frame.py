"""TopActivationsResult.to_frame: one row per kept activation, equal to its tensors."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from interpret.core import scan
from interpret.deconvnet import TopActivations, project_top
from interpret.testing import chain_cnn


def test_top_activations_frame_round_trips() -> None:
    gen = torch.Generator().manual_seed(1)
    data = TensorDataset(torch.randn(12, 3, 20, 20, generator=gen), torch.zeros(12))
    names = [f"photo_{i}.jpg" for i in range(12)]
    top = scan(chain_cnn(), data, [TopActivations("features.4", k=4)], progress=False)[0]
    frame = top.to_frame(image_names=names)
    assert len(frame) == top.image_index.numel()  # 12 images fill every slot
    assert set(frame.columns) >= {"site", "channel", "rank", "value", "image_index", "y", "x"}
    for row in frame.itertuples():
        c, r = row.channel, row.rank
        assert row.value == top.values[c, r].item()
        assert row.image_index == top.image_index[c, r].item()
        assert (row.y, row.x) == (top.y[c, r].item(), top.x[c, r].item())
        assert row.image_name == names[row.image_index]
    # strongest first within each channel
    assert (frame.groupby("channel").value.diff().dropna() <= 0).all()


def test_unfilled_slots_are_left_out() -> None:
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    data = TensorDataset(x, torch.zeros(2))
    top = scan(chain_cnn(), data, [TopActivations("features.1", k=5)], progress=False)[0]
    frame = top.to_frame()
    assert len(frame) == int((top.image_index >= 0).sum()) == 2 * top.image_index.shape[0]
    assert "image_name" not in frame.columns


def test_top_projections_frame_round_trips_and_index_alias() -> None:
    gen = torch.Generator().manual_seed(3)
    data = TensorDataset(torch.randn(6, 3, 16, 16, generator=gen), torch.zeros(6))
    net = chain_cnn()
    top = scan(net, data, [TopActivations("features.4", k=2)], progress=False)[0]
    with pytest.warns(DeprecationWarning, match=r"TopActivationsResult\.index .*\.image_index"):
        assert top.index is top.image_index
    shown = project_top(net, data, top, channels=[1, 3])
    with pytest.warns(DeprecationWarning, match=r"use \.image_index"):
        assert shown.index is shown.image_index
    frame = shown.to_frame(image_names=[f"im{i}" for i in range(6)])
    assert len(frame) == shown.image_index.numel() and set(frame.channel) == {1, 3}
    for row in frame.itertuples():
        c, r = row.channel_row, row.rank
        assert row.channel == shown.channels[c].item()
        assert row.value == shown.values[c, r].item()
        assert row.image_index == shown.image_index[c, r].item()
        assert row.image_name == f"im{row.image_index}"
        assert (row.y, row.x) == (shown.y[c, r].item(), shown.x[c, r].item())
        box = (row.top, row.left, row.bottom, row.right)
        assert box == tuple(shown.boxes[c, r].tolist())
