"""Selectivity on bad input: clear errors; hooks removed and model state restored."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from interpret.core import hook_count, scan
from interpret.neurons import Selectivity, neuron_values
from interpret.testing import chain_cnn


def data(n: int = 48, classes: int = 3, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randn(n, 3, 12, 12, generator=g), torch.arange(n) % classes)


@pytest.fixture
def model() -> nn.Module:
    return chain_cnn(channels=(3, 6, 8), num_classes=5, seed=0)


def run(model, dataset, analyzer, **kw):
    return scan(model, dataset, [analyzer], batch_size=16, progress=False, **kw)[0]


def test_labels_shorter_than_the_dataset(model) -> None:
    with pytest.raises(ValueError, match="labels has 20 entries .* position 3[1-9]"):
        run(model, data(), Selectivity("features.1", labels=torch.zeros(20, dtype=torch.long)))


def test_labels_longer_than_the_dataset(model) -> None:
    labels = torch.arange(60) % 3
    with pytest.raises(ValueError, match="60 entries but the scan saw 48 images"):
        run(model, data(), Selectivity("features.1", labels=labels))


def test_attributes_not_matching_the_dataset(model) -> None:
    with pytest.raises(ValueError, match="attributes has 10 entries"):
        run(model, data(), Selectivity("features.1", attributes=torch.zeros(10, 2)))
    with pytest.raises(ValueError, match="one value per dataset image"):
        Selectivity("features.1", attributes={"a": torch.zeros(48), "b": torch.zeros(47)})


def test_a_class_with_no_images(model) -> None:
    labels = torch.tensor([0, 1, 3] * 16)  # class 2 missing
    with pytest.raises(ValueError, match=r"No images .* class \['2'\].*allow_empty=True"):
        run(model, data(), Selectivity("features.1", labels=labels))
    res = run(model, data(), Selectivity("features.1", labels=labels, allow_empty=True))
    assert res.per_class.count.tolist() == [16, 16, 0, 16]
    assert bool(res.per_class.classifier.balanced_accuracy[2].isnan().all())
    assert bool((res.per_class.labels.sign[2] == 0).all())
    assert not bool(res.per_class.classifier.balanced_accuracy[[0, 1, 3]].isnan().any())
    names = ("a", "b", "c", "d", "e")  # declared classes, two of them never seen
    with pytest.raises(ValueError, match=r"\['c', 'e'\]"):
        run(model, data(), Selectivity("features.1", labels=labels, classes=names))


def test_a_single_class_and_an_attribute_without_negatives(model) -> None:
    with pytest.raises(ValueError, match="No images"):
        run(model, data(classes=1), Selectivity("features.1"))
    with pytest.raises(ValueError, match="attribute value"):
        run(model, data(), Selectivity("features.1", attributes=torch.ones(48, 1)))


def test_labels_out_of_declared_range(model) -> None:
    with pytest.raises(ValueError, match="Label 2 is out of range for 2 classes"):
        run(model, data(), Selectivity("features.1", classes=2))


def test_no_labels_anywhere(model) -> None:
    images = TensorDataset(torch.randn(16, 3, 12, 12))
    with pytest.raises(ValueError, match="yields no labels"):
        run(model, images, Selectivity("features.1"))
    res = run(model, images, Selectivity("features.1", attributes=torch.arange(16) % 2))
    assert res.per_class is None and res.per_attribute is not None


class ScalarHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4, 1)
        self.squeeze = nn.Flatten(0)

    def forward(self, x):
        return self.squeeze(self.fc(self.conv(x).mean((2, 3))))


def test_sites_without_the_asked_axis() -> None:
    net = ScalarHead()
    with pytest.raises(ValueError, match="no channel axis"):
        run(net, data(), Selectivity("squeeze"))
    with pytest.raises(ValueError, match="without spatial axes, so reduction='max'"):
        run(net, data(), Selectivity("fc", reduction="max"))
    with pytest.raises(ValueError, match="channel_dim=5"):
        neuron_values(torch.zeros(2, 3, 4, 4), channel_dim=5)
    with pytest.raises(TypeError, match="not a tensor"):
        neuron_values((torch.zeros(2, 3),))


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="reduction must be"):
        Selectivity("x", reduction="median")
    with pytest.raises(ValueError, match="strictly increasing"):
        Selectivity("x", edges=torch.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="high > low"):
        Selectivity("x", edges=(1.0, 0.0))
    with pytest.raises(ValueError, match="1-D integer"):
        Selectivity("x", labels=torch.rand(10))
    with pytest.raises(ValueError, match="binary"):
        Selectivity("x", attributes=torch.full((10, 2), 2))
    with pytest.raises(ValueError, match="bins"):
        Selectivity("x", bins=0)
    with pytest.raises(TypeError, match="site name"):
        Selectivity(3)
    with pytest.raises(ValueError, match="seen no images"):
        Selectivity("x").result()


def test_edges_for_the_wrong_number_of_neurons(model) -> None:
    with pytest.raises(ValueError, match="edges give 5 neurons but site 'features.1' has 6"):
        run(model, data(), Selectivity("features.1", edges=torch.linspace(0, 1, 4).expand(5, 4)))


def test_hooks_removed_and_state_restored_after_an_error(model) -> None:
    model.train()
    model.features[0].weight.requires_grad_(False)
    before = hook_count(model)
    short = torch.zeros(20, dtype=torch.long)  # fails on the second batch
    with pytest.raises(ValueError, match="labels has 20 entries"):
        run(model, data(), Selectivity("features.1", labels=short))
    assert hook_count(model) == before
    assert model.training and all(m.training for m in model.modules())
    assert not model.features[0].weight.requires_grad and model.features[3].weight.requires_grad
    run(model, data(), Selectivity("features.1"))
    assert hook_count(model) == before and model.training
