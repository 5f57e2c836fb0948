"""The report's Predictions analyzer against a literal softmax, and its choice of images."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils.data import TensorDataset

from interpret.core import scan
from interpret.report.predictions import Predictions, PredictionsResult, informative_images


def test_predictions_equal_a_literal_softmax_per_image() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 4)).double()
    images = torch.randn(37, 3, 2, 2, dtype=torch.float64)
    labels = torch.tensor([i % 3 for i in range(37)])
    labels[5] = -1  # unlabelled
    outputs = [2, 0, 3]  # data class c is model output outputs[c]
    (result,) = scan(model, TensorDataset(images, labels), [Predictions(outputs)], batch_size=8,
                     progress=False)  # fmt: skip
    assert result.image_index.tolist() == list(range(37))
    for i in range(37):
        logits = model(images[i : i + 1])[0].tolist()
        exps = [math.exp(v) for v in logits]
        probs = [e / sum(exps) for e in exps]
        best = max(range(4), key=lambda k: probs[k])
        assert int(result.predicted[i]) == best
        assert math.isclose(float(result.confidence[i]), probs[best], rel_tol=1e-12)
        label = int(labels[i])
        assert int(result.labels[i]) == label
        if label < 0:
            assert int(result.targets[i]) == -1 and math.isnan(float(result.target_prob[i]))
        else:
            assert int(result.targets[i]) == outputs[label]
            assert math.isclose(float(result.target_prob[i]), probs[outputs[label]], rel_tol=1e-12)
    assert result.correct.tolist() == [
        int(labels[i]) >= 0 and int(result.predicted[i]) == outputs[int(labels[i])]
        for i in range(37)
    ]


def _result(labels, targets, predicted, confidence) -> PredictionsResult:
    n = len(labels)
    t = lambda v: torch.tensor(v, dtype=torch.int64)  # noqa: E731
    return PredictionsResult(
        torch.arange(n) + 100, t(labels), t(targets), t(predicted),
        torch.tensor(confidence, dtype=torch.float64), torch.full((n,), 0.5, dtype=torch.float64),
    )  # fmt: skip


def test_informative_images_right_and_wrong_per_class() -> None:
    # class 0: rows 0 (right, 0.9), 1 (right, 0.6), 2 (wrong -> 1, 0.8); class 1: row 3 right
    result = _result([0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 1, 1], [0.9, 0.6, 0.8, 0.7])
    chosen = informative_images(result, classes=2, max_images=8)
    assert chosen == [
        (100, 0, "right"),
        (102, 0, "wrong: true class"),
        (102, 1, "wrong: predicted class"),
        (103, 1, "right"),
    ]
    assert informative_images(result, classes=2, max_images=2) == chosen[:2]


def test_informative_images_without_mapped_labels_or_without_labels() -> None:
    # labels that are not outputs: the most confident image per class, its prediction
    result = _result([0, 0, 1], [-1, -1, -1], [5, 7, 5], [0.2, 0.9, 0.4])
    assert informative_images(result, 2, 8) == [(101, 7, "most confident"),
                                                  (102, 5, "most confident")]  # fmt: skip
    # unlabelled: the most confident image of each of the three most confident classes
    result = _result([-1] * 5, [-1] * 5, [1, 1, 2, 3, 4], [0.9, 0.95, 0.5, 0.4, 0.3])
    assert informative_images(result, 0, 8) == [
        (101, 1, "most confident"), (102, 2, "most confident"), (103, 3, "most confident")
    ]  # fmt: skip
