"""PredictionsResult.to_frame: one row per image, equal to its tensors; index alias."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch.utils.data import TensorDataset

from interpret.core import scan
from interpret.report.predictions import Predictions
from interpret.testing import chain_cnn

CLASSES = ["zero", "one", "two"]


def test_predictions_frame_round_trips() -> None:
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(10) % 3
    labels[4] = -1  # unlabelled
    data = TensorDataset(torch.randn(10, 3, 16, 16, generator=gen), labels)
    res = scan(chain_cnn(), data, [Predictions([0, 1, 2])], batch_size=4, progress=False)[0]
    names = [f"f{i}.png" for i in range(10)]
    frame = res.to_frame(image_names=names, class_names=CLASSES)
    assert len(frame) == 10
    for i, row in enumerate(frame.itertuples()):
        assert row.image_index == res.image_index[i].item() and row.image_name == names[i]
        assert row.label == res.labels[i].item()
        if row.label >= 0:
            assert row.label_name == CLASSES[row.label]
        else:  # no name: a missing value
            assert pd.isna(row.label_name)
        assert row.predicted == res.predicted[i].item()
        assert row.confidence == res.confidence[i].item()
        assert row.correct == res.correct[i].item()
    with pytest.warns(DeprecationWarning, match=r"PredictionsResult\.index"):
        assert res.index is res.image_index
