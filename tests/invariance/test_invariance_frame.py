"""InvarianceResult.to_frame: one row per (transform, site, image, parameter)."""

from __future__ import annotations

import torch

from interpret.invariance import horizontal_translation, invariance_curves, rotation
from interpret.testing import chain_cnn

CLASSES = [f"c{k}" for k in range(5)]


def test_invariance_frame_round_trips() -> None:
    images = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    sites = ["features.1", "features.4"]
    res = invariance_curves(
        chain_cnn(), images, [horizontal_translation([-2, 0, 2]), rotation([0, 30])], sites,
        image_names=["cat", "cup"],
    )  # fmt: skip
    frame = res.to_frame(class_names=CLASSES)
    assert len(frame) == 2 * 2 * (3 + 2)
    for row in frame.itertuples():
        curves = res.transform(row.transform)
        i, p = row.image_index, row.param_index
        assert row.param == curves.params[p].item()
        assert row.distance == curves.distances[row.site][i, p].item()
        assert row.reference_norm == res.reference_norms[row.site][i].item()
        assert row.true_prob == curves.true_prob[i, p].item()
        assert row.predicted == curves.predicted[i, p].item()
        assert row.predicted_name == CLASSES[row.predicted]
        assert row.label == res.labels[i].item() and row.image_name == res.image_names[i]
