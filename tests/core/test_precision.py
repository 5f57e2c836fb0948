"""Precision and ordering at the edges: float64 stays float64, NaN/inf refused where they
would spread, t-SNE's new points in the fitted frame, tied neighbours by row."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from interpret import scan
from interpret.deconvnet import TopActivations
from interpret.embeddings import nearest
from interpret.neurons import Selectivity
from interpret.neurons.selectivity.sparseness import sparsity
from interpret.neurons.selectivity.units import neuron_values
from interpret.occlusion import Occluder, occlusion_sensitivity
from interpret.testing import chain_cnn


def test_float64_model_gets_float64_top_k_in_order():
    model = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False)).double()
    nn.init.ones_(model[0].weight)
    base = torch.ones(6, 1, 2, 2, dtype=torch.float64)
    data = TensorDataset(base + 1e-12 * torch.arange(6, dtype=torch.float64).view(-1, 1, 1, 1))
    (top,) = scan(model, data, [TopActivations("0", k=3)], progress=False)
    assert top.values.dtype == torch.float64
    assert top.image_index[0].tolist() == [5, 4, 3]  # float32 would tie them: [0, 1, 2]
    assert top.values[0, 0] - top.values[0, 2] == pytest.approx(2e-12, rel=1e-3)


def test_occlusion_probabilities_of_a_float64_model_are_float64():
    model = chain_cnn().double()
    images = torch.randn(
        2, 3, 20, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    res = occlusion_sensitivity(model, images, Occluder(8, 4), site=None)
    with torch.no_grad():
        want = model(images).softmax(-1)
    got = res.clean_target_prob
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, want[torch.arange(2), res.target], rtol=1e-13, atol=0)


def test_nan_input_and_nonfinite_fill_are_refused():
    images = torch.zeros(1, 3, 20, 20)
    images[0, 0, 5, 5] = float("nan")
    with pytest.raises(ValueError, match="images holds 1 NaN or infinite"):
        occlusion_sensitivity(chain_cnn(), images, Occluder(8, 4), site=None)
    for fill in (float("nan"), float("inf"), (0.0, float("nan"), 0.0), torch.full((3,), math.nan)):
        with pytest.raises(ValueError, match="finite"):
            Occluder(8, 4, fill=fill)
    with pytest.raises(TypeError, match="integer index, got 1.5"):
        occlusion_sensitivity(chain_cnn(), torch.zeros(1, 3, 20, 20), Occluder(8, 4), target=1.5)
    with pytest.raises(ValueError, match="memory_budget must be at least 1"):
        occlusion_sensitivity(
            chain_cnn(), torch.zeros(1, 3, 20, 20), Occluder(8, 4), memory_budget=0
        )


def test_selectivity_edges_must_be_finite_and_sparsity_real():
    with pytest.raises(ValueError, match="edges\\[1\\] must be finite"):
        Selectivity("features.5", edges=(0, math.inf))
    with pytest.raises(ValueError, match="finite"):
        Selectivity("features.5", edges=torch.tensor([0.0, 1.0, math.nan]))
    with pytest.raises(TypeError, match="complex"):
        sparsity(torch.ones(3, 2, dtype=torch.complex64))
    with pytest.raises(ValueError, match="NaN"):
        sparsity(torch.tensor([[math.nan, 1.0]]))
    ints = torch.arange(24).view(2, 3, 2, 2)
    assert torch.equal(neuron_values(ints), ints.float().mean((2, 3)))


def test_nearest_orders_tied_neighbours_by_row():
    x = torch.ones(50, 4)
    x[::3] = 5  # rows 0, 3, 6, ... are far; all others tie at distance 2
    res = nearest(x, torch.zeros(1, 4), k=5, method="exact")
    assert res.indices.tolist() == [[1, 2, 4, 5, 7]]


@pytest.mark.slow
def test_tsne_transform_places_points_in_the_fitted_frame():
    pytest.importorskip("openTSNE")
    from interpret.embeddings.tsne import TSNE

    gen = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(40, 5, generator=gen) + 5, torch.randn(40, 5, generator=gen) - 5])
    t = TSNE(perplexity=5, seed=0, backend="opentsne", n_iter=100, early_exaggeration_iter=50)
    fitted = t.fit(x).coordinates
    placed = t.transform(x[:10])  # points of the map itself land near their own place
    spread = float(fitted.std(0).min())
    assert float((placed - fitted[:10]).mean(0).norm()) < 0.05 * spread
    again = t.transform(x[:10])
    torch.testing.assert_close(again, placed, rtol=0, atol=0.05 * spread)
