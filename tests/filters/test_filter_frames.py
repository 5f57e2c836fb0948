"""Filter activity and health tables equal their tensors; "not measured" is None."""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from interpret.filters import filter_health
from interpret.testing import chain_cnn


def _net():
    net = chain_cnn()
    with torch.no_grad():
        net.features[0].bias[2] = -1e3  # filter 2 never passes the ReLU: dead
    return net


def test_health_frame_round_trips_and_dead_is_measured() -> None:
    gen = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(8, 3, 16, 16, generator=gen), torch.zeros(8))
    health = filter_health(_net(), "features.0", data, activity_site="features.1")
    assert health.dead_filters() == [2]
    frame = health.to_frame()
    assert len(frame) == health.rms.numel()
    for row in frame.itertuples():
        f = row.filter
        assert row.rms == health.rms[f].item()
        assert row.dominating == health.dominating[f].item()
        assert row.over_radius == health.over_radius[f].item()
        assert row.dead == health.dead[f].item()
        assert row.max_activation == health.activity.max_activation[f].item()
        assert row.active_fraction == health.activity.active_fraction[f].item()
        assert row.aliasing == health.aliasing[f].item()
    activity = health.activity.to_frame()
    for row in activity.itertuples():
        c = row.channel
        assert row.mean_activation == health.activity.mean_activation[c].item()
        assert row.image_fraction == health.activity.image_fraction[c].item()
        assert row.dead == health.activity.dead[c].item()
    assert activity.dead.tolist() == frame.dead.tolist()


def test_dead_filters_not_measured_is_none() -> None:
    health = filter_health(_net(), "features.0")  # no data: dead filters not measured
    assert health.dead is None and health.dead_filters() is None
    assert "dead: not measured" in health.markdown()
    frame = health.to_frame()
    assert "dead" not in frame.columns and "max_activation" not in frame.columns
