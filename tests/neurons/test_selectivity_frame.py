"""SelectivityResult.to_frame round-trips every (group, neuron) statistic; the renamed
names (per_class, per_attribute, labels.sign, outside_fraction) keep deprecated aliases."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.data import TensorDataset

from interpret.core import load_result, scan
from interpret.neurons import Selectivity
from interpret.testing import chain_cnn

CLASSES = ["cat", "dog", "bird"]


@pytest.fixture(scope="module")
def result():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(36, 3, 16, 16, generator=gen)
    labels = torch.arange(36) % 3
    attributes = {"striped": (torch.arange(36) % 2), "small": (torch.arange(36) % 4 == 0).long()}
    sel = Selectivity("features.4", classes=CLASSES, attributes=attributes, bins=16)
    return scan(chain_cnn(), TensorDataset(x, labels), [sel], batch_size=10, progress=False)[0]


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_group_rows_equal_their_tensors(result) -> None:
    frame = result.to_frame()
    d = result.num_neurons
    assert len(frame) == d + 3 * d + 2 * d  # all, classes, attributes
    assert list(frame.kind.unique()) == ["all", "class", "attribute"]
    assert list(frame[frame.kind == "class"].group.unique()) == CLASSES
    for row in frame[frame.kind != "all"].itertuples():
        stats = result.per_class if row.kind == "class" else result.per_attribute
        g, j = row.group_index, row.neuron
        assert row.group == stats.names[g]
        assert row.count == stats.count[g].item() and row.rest_count == stats.rest_count[g].item()
        for name in ("mean", "std", "rest_mean", "rest_std", "min", "max", "active_fraction"):
            assert _same(getattr(row, name), getattr(stats, name)[g, j].item()), name
        for name in ("balanced_accuracy", "accuracy", "threshold", "direction"):
            assert _same(getattr(row, name), getattr(stats.classifier, name)[g, j].item()), name
        assert row.label == stats.labels.sign[g, j].item()
        assert _same(row.high_threshold, stats.labels.high_threshold[g, j].item())


def test_overall_rows_equal_their_tensors(result) -> None:
    overall = result.to_frame().query("kind == 'all'")
    for row in overall.itertuples():
        j = row.neuron
        for name in ("mean", "std", "min", "max"):
            assert getattr(row, name) == getattr(result, name)[j].item(), name
        assert row.outside_fraction == result.outside_fraction[j].item()
        share = result.sparsity.images_per_neuron[j].item() / result.num_images
        assert row.active_fraction == pytest.approx(share, abs=0)
        assert row.count == result.num_images


def test_underflow_and_overflow_are_the_outer_bins(result) -> None:
    assert torch.equal(result.underflow, result.hist[:, 0])
    assert torch.equal(result.overflow, result.hist[:, -1])
    assert torch.equal(result.per_class.underflow, result.per_class.hist[..., 0])
    assert torch.equal(result.per_class.overflow, result.per_class.hist[..., -1])
    outside = (result.underflow + result.overflow).double() / result.num_images
    assert torch.equal(result.outside_fraction, outside)


def test_deprecated_names_warn_and_give_the_same_values(result) -> None:
    with pytest.warns(DeprecationWarning, match=r"use \.per_class"):
        assert result.classes is result.per_class
    with pytest.warns(DeprecationWarning, match=r"use \.per_attribute"):
        assert result.attributes is result.per_attribute
    with pytest.warns(DeprecationWarning, match=r"use \.outside_fraction"):
        assert torch.equal(result.overflow_fraction, result.outside_fraction)
    with pytest.warns(DeprecationWarning, match=r"PercentileLabels\.labels .* use \.sign"):
        assert result.per_class.labels.labels is result.per_class.labels.sign


def test_a_file_saved_under_the_old_names_loads(result, tmp_path) -> None:
    path = result.save(tmp_path / "sel.pt")
    payload = torch.load(path, weights_only=True)
    fields = payload["result"]["fields"]
    fields["classes"] = fields.pop("per_class")
    fields["attributes"] = fields.pop("per_attribute")
    labels = fields["classes"]["fields"]["labels"]["fields"]
    labels["labels"] = labels.pop("sign")
    torch.save(payload, path)
    loaded = load_result(path)
    assert torch.equal(loaded.per_class.labels.sign, result.per_class.labels.sign)
    assert loaded.per_attribute.names == result.per_attribute.names
