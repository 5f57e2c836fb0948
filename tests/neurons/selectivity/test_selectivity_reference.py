"""Outside referee: scikit-learn's ROC curve and balanced accuracy against the
single-neuron classifier when every data value is a bin edge (then exact)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from interpret.core import run_and_capture, scan
from interpret.neurons import Selectivity


def test_best_threshold_equals_the_roc_optimum() -> None:
    from sklearn.metrics import balanced_accuracy_score, roc_curve

    g = torch.Generator().manual_seed(0)
    labels = torch.arange(150) % 3
    x = torch.randn(150, 4, generator=g).double() + labels[:, None].double() * 0.7
    model = nn.Sequential(nn.Linear(4, 1)).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, -0.5, 0.25, 0.0]]))
        model[0].bias.zero_()
    _, acts = run_and_capture(model, x, "0")
    v = acts["0"][:, 0]
    values = torch.unique(v)
    edges = torch.cat([values, values[-1:] + 1.0]).unsqueeze(0)  # every value is an edge
    data = TensorDataset(x, labels)
    (res,) = scan(model, data, [Selectivity("0", edges=edges)], progress=False)
    cls = res.per_class.classifier
    for k in range(3):
        y = (labels == k).numpy()
        best = 0.0
        for score in (v.numpy(), -v.numpy()):  # both directions
            fpr, tpr, _ = roc_curve(y, score)
            best = max(best, float(np.max((tpr + 1 - fpr) / 2)))
        assert cls.balanced_accuracy[k, 0].item() == pytest.approx(best, abs=1e-12)
        t, s = cls.threshold[k, 0].item(), int(cls.direction[k, 0])
        pred = (v >= t) if s > 0 else (v < t)
        expected = cls.balanced_accuracy[k, 0].item()
        assert balanced_accuracy_score(y, pred.numpy()) == pytest.approx(expected)
        assert float((pred.numpy() == y).mean()) == pytest.approx(cls.accuracy[k, 0].item())
