"""ProbeResult.to_frame: one row per (site, fold), equal to the fold tensors."""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from interpret.probes import layer_probes
from interpret.testing import chain_cnn


def test_probe_frame_round_trips() -> None:
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(40) % 2
    x = torch.randn(40, 3, 16, 16, generator=gen) + y.view(-1, 1, 1, 1).float()
    sites = ["features.1", "features.4"]
    res = layer_probes(chain_cnn(), TensorDataset(x, y), sites, folds=3, seed=0)
    frame = res.to_frame()
    assert len(frame) == 2 * 3 and list(frame.site.unique()) == sites
    for row in frame.itertuples():
        s = sites.index(row.site)
        assert row.accuracy == res.fold_accuracy[s, row.fold].item()
        assert row.train_accuracy == res.train_accuracy[s, row.fold].item()
        assert row.chosen_C == res.chosen_C[s, row.fold].item()
        assert row.accuracy_mean == res.accuracy_mean[s].item()
        assert row.features == res.feature_dims[row.site]
        assert row.chance == res.chance
    means = frame.groupby("site", sort=False).accuracy.mean().to_numpy()
    torch.testing.assert_close(torch.tensor(means), res.accuracy_mean)
