"""OcclusionResult.to_frame: the occlusion grid in long form, equal to its tensors."""

from __future__ import annotations

import math

import torch

from interpret.occlusion import Occluder, occlusion_sensitivity
from interpret.testing import chain_cnn

CLASSES = [f"class {k}" for k in range(5)]


def test_occlusion_frame_round_trips() -> None:
    images = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    res = occlusion_sensitivity(chain_cnn(), images, Occluder(6, 5), site="features.4")
    frame = res.to_frame(image_names=["left.png", "right.png"], class_names=CLASSES)
    n, ph, pw = res.target_prob.shape
    assert len(frame) == n * ph * pw
    for row in frame.itertuples():
        i, r, c = row.image_index, row.grid_row, row.grid_col
        assert (row.top, row.left) == (res.tops[r].item(), res.lefts[c].item())
        assert row.target == res.target[i].item() and row.target_name == CLASSES[row.target]
        assert row.target_prob == res.target_prob[i, r, c].item()
        assert row.target_logit == res.target_logit[i, r, c].item()
        assert row.top_label == res.top_label[i, r, c].item()
        assert row.top_label_name == CLASSES[row.top_label]
        assert row.top_prob == res.top_prob[i, r, c].item()
        assert row.feature_total == res.feature_total[i, r, c].item()
        assert row.clean_target_prob == res.clean_target_prob[i].item()
        assert row.image_name == ["left.png", "right.png"][i]
    assert not any(isinstance(v, float) and math.isnan(v) for v in frame.target_prob)


def test_occlusion_frame_without_a_feature_site_has_no_feature_columns() -> None:
    images = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    res = occlusion_sensitivity(chain_cnn(), images, Occluder(8, 8), site=None)
    frame = res.to_frame()
    assert "feature_total" not in frame.columns and "target_name" not in frame.columns
    assert len(frame) == res.target_prob.numel()
