"""Training figures: strongest projection per checkpoint (Fig. 4), filters (Fig. 6)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from interpret import scan
from interpret.core import hook_count
from interpret.deconvnet import (
    EvolutionResult,
    TopActivations,
    evolution,
    layer_filters,
    load_checkpoint,
    project_top,
)
from interpret.testing import chain_cnn


@pytest.fixture
def data(generator):
    return TensorDataset(torch.randn(16, 3, 23, 31, generator=generator))


def test_evolution_follows_each_checkpoint(data, tmp_path):
    states = [chain_cnn(seed=s).state_dict() for s in (1, 2, 3)]
    torch.save(states[1], tmp_path / "epoch_002.pt")
    torch.save({"model": states[2]}, tmp_path / "epoch_003.pt")
    model = chain_cnn(seed=9)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    checkpoints = [states[0], tmp_path / "epoch_002.pt", str(tmp_path / "epoch_003.pt")]
    channels = {"features.1": [0, 4], "features.5": [2]}
    result = evolution(model, checkpoints, data, channels)
    assert result.labels == ("epoch 1", "epoch 2", "epoch 3")
    assert result.sites == ("features.1", "features.5")
    for key, value in model.state_dict().items():  # the model itself is untouched
        assert torch.equal(value, before[key])
    assert hook_count(model) == 0
    for epoch, state in enumerate(states):
        trained = chain_cnn(seed=epoch + 1)
        trained.load_state_dict(state)
        for site, chans in channels.items():
            (top,) = scan(trained, data, [TopActivations(site, k=1)], progress=False)
            expected = project_top(trained, data, top, channels=chans)
            shot = result.snapshots[site][epoch]
            assert torch.equal(shot.image_index, expected.image_index)
            assert torch.allclose(shot.projections, expected.projections)
    loaded = EvolutionResult.load(result.save(tmp_path / "evo.pt"))
    assert torch.equal(loaded.snapshots["features.5"][2].projections,
                       result.snapshots["features.5"][2].projections)  # fmt: skip


def test_evolution_bad_inputs(data, tmp_path):
    model = chain_cnn()
    with pytest.raises(ValueError, match="at least one checkpoint"):
        evolution(model, [], data, {"features.1": [0]})
    with pytest.raises(ValueError, match="at least one site"):
        evolution(model, [model.state_dict()], data, {})
    with pytest.raises(ValueError, match="labels"):
        evolution(model, [model.state_dict()], data, {"features.1": [0]}, labels=["a", "b"])
    with pytest.raises(ValueError, match="Unknown site"):
        evolution(model, [model.state_dict()], data, {"features.99": [0]})
    with pytest.raises(ValueError, match="No checkpoint file"):
        load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(TypeError, match="state dict or a path"):
        load_checkpoint(3)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="size mismatch|Missing key"):
        evolution(model, [chain_cnn(channels=(3, 4, 8, 10)).state_dict()], data,
                  {"features.1": [0]})  # fmt: skip


def test_layer_filters():
    model = chain_cnn()
    result = layer_filters(model, label="seed 0")
    assert result.site == "features.0" and result.label == "seed 0"
    weights = model.features[0].weight.detach()
    assert torch.equal(result.weights, weights)
    expected = torch.stack([w.pow(2).mean().sqrt() for w in weights])
    assert torch.allclose(result.rms, expected)
    assert layer_filters(model, "features.3").weights.shape == (8, 6, 3, 3)
    with pytest.raises(ValueError, match="not an nn.Conv2d"):
        layer_filters(model, "features.1")


def test_layer_filters_show_feature_scale_clipping():
    from interpret.models.training import clip_filter_rms

    model = chain_cnn()
    with torch.no_grad():
        model.features[0].weight[2] *= 50
    before = layer_filters(model)
    clip_filter_rms(model.features[0], 0.1)
    after = layer_filters(model)
    assert before.rms.max() > 1 and float(after.rms.max()) == pytest.approx(0.1, rel=1e-5)
