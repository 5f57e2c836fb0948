"""Sparsity: the streamed counts equal the direct ones; the summary numbers are right."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from interpret.core import run_and_capture, scan
from interpret.neurons import Selectivity, neuron_values, sparsity
from interpret.testing import chain_cnn


def test_direct_sparsity_by_hand() -> None:
    x = torch.tensor([[1.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0], [3.0, 1.0, 1.0, 5.0]])
    s = sparsity(x)
    assert s.neurons_per_image.tolist() == [1, 0, 1, 0, 1]  # 2, 0 and 4 active
    assert s.images_per_neuron.tolist() == [2, 1, 2, 1]
    assert s.mean_active_per_image == pytest.approx((2 + 0 + 4) / 12)
    assert s.mean_images_per_neuron == pytest.approx(s.mean_active_per_image)
    assert s.fraction_per_neuron.tolist() == pytest.approx([2 / 3, 1 / 3, 2 / 3, 1 / 3])
    assert s.dead_neurons.tolist() == [] and s.always_on_neurons.tolist() == []
    s2 = sparsity(x, active_threshold=1.5)
    assert s2.images_per_neuron.tolist() == [1, 0, 1, 1] and s2.dead_neurons.tolist() == [1]
    assert "50.0% of the 4 neurons" in s.summary()
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        sparsity(torch.zeros(3))


@pytest.mark.parametrize("threshold", [0.0, 0.1])
def test_streamed_sparsity_equals_direct(threshold: float) -> None:
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(70, 3, 12, 12, generator=g), torch.arange(70) % 2)
    model = chain_cnn(channels=(3, 8, 8), seed=3)
    sel = Selectivity("features.0", active_threshold=threshold)
    (res,) = scan(model, data, [sel], batch_size=16, progress=False)
    _, acts = run_and_capture(model, data.tensors[0], "features.0")
    direct = sparsity(neuron_values(acts["features.0"]), threshold)
    assert torch.equal(res.sparsity.neurons_per_image, direct.neurons_per_image)
    assert torch.equal(res.sparsity.images_per_neuron, direct.images_per_neuron)
    assert res.sparsity.num_images == 70 and res.sparsity.num_neurons == 8
    assert 0.0 < res.sparsity.mean_active_per_image < 1.0
