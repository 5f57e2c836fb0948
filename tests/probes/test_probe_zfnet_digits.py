"""Table 7 on digits: probes of a small trained ZFNet get better from conv1 to fc7."""

from __future__ import annotations

import pytest
import torch

from interpret.data import Digits
from interpret.probes import layer_probes

try:
    from interpret.models import train_zfnet, zfnet_digits
except ImportError:  # the package's __init__ is not there yet
    from interpret.models.training import train_zfnet
    from interpret.models.zfnet import zfnet_digits

pytestmark = pytest.mark.slow

# conv1..conv5 after their ReLU, then fc6 and fc7 after theirs (Z&F layers 1-7)
SITES = ["features.1", "features.5", "features.9", "features.11", "features.13",
         "classifier.2", "classifier.5"]  # fmt: skip


def test_accuracy_rises_from_the_first_to_the_last_layer():
    train, test = Digits(size=32, split="train"), Digits(size=32, split="test")
    model = zfnet_digits(generator=torch.Generator().manual_seed(0))
    train_zfnet(model, train, epochs=8, generator=torch.Generator().manual_seed(0))
    # probes on images the network never saw, frozen features, 5-fold CV
    res = layer_probes(model, test, SITES, pool="avg", folds=5, seed=0)
    acc = res.accuracy_mean
    assert float(acc[-1]) > float(acc[0]) + 0.1, res.markdown()
    assert int(acc.argmin()) == 0
    assert float(acc[-1]) > 0.85
    svm = layer_probes(model, test, [SITES[0], SITES[-1]], classifier="linear_svm", folds=5)
    # conv1 alone already separates digits well with a linear SVM (88% measured, 97.6% at
    # fc7): the rise is about ten points, with fold std about 2.
    assert float(svm.accuracy_mean[1]) > float(svm.accuracy_mean[0]) + 0.07, svm.markdown()
