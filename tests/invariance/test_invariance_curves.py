"""Invariance curves: exact invariance, a literal re-computation, state and bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from interpret.core import hook_count
from interpret.invariance import (
    InvarianceResult,
    custom_transform,
    horizontal_translation,
    invariance_curves,
    rotation,
    scaling,
    vertical_translation,
)
from interpret.testing import chain_cnn


def _circular_pooled_net() -> nn.Module:
    """conv (circular padding) -> ReLU -> global average pool -> linear: exactly invariant
    to circular shifts of the input."""
    gen = torch.Generator().manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 5, 3, padding=1, padding_mode="circular"),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(5, 4),
    ).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return net.eval()


def _images(n=3, h=12, w=10, seed=1, dtype=torch.float64):
    return torch.randn(n, 3, h, w, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_global_pool_of_circular_conv_is_exactly_shift_invariant():
    net = _circular_pooled_net()
    x = _images()
    shifts = vertical_translation(range(-12, 13, 3), fill="circular")
    res = invariance_curves(
        net, x, [shifts, horizontal_translation(range(-7, 8), fill="circular")], ["0", "2", "4"]
    )
    for curves in res.curves:
        assert curves.distances["2"].abs().max() < 1e-12
        assert curves.distances["4"].abs().max() < 1e-12
        # the conv map itself moves: it is equivariant, not invariant
        assert curves.distances["0"].amax(dim=1).min() > 1.0
        flat = curves.true_prob - res.reference_prob.unsqueeze(1)
        assert flat.abs().max() < 1e-6
    # zero-fill shifts break the invariance (content leaves the frame)
    lossy = invariance_curves(net, x, vertical_translation([-4, 4]), "2")
    assert lossy.curves[0].distances["2"].min() > 1e-3


def test_circular_conv_is_exactly_equivariant():
    net = _circular_pooled_net()
    res = invariance_curves(
        net,
        _images(),
        vertical_translation([-5, 0, 3, 12], fill="circular"),
        ["0", "1"],
        compare="equivariance",
    )
    assert res.compare == "equivariance"
    for site in ("0", "1"):
        assert res.curves[0].distances[site].abs().max() < 1e-12


def _literal_curves(net, x, transform, sites_depth, labels):
    """One image, one parameter, one forward at a time; features by slicing the chain."""
    n, p = x.shape[0], transform.params.numel()
    dist = {d: torch.zeros(n, p, dtype=torch.float64) for d in sites_depth}
    prob = torch.zeros(n, p)
    for i in range(n):
        for k in range(p):
            moved = transform(x[i : i + 1], transform.params[k : k + 1])[0]
            with torch.no_grad():
                for d in sites_depth:
                    f0 = net.features[: d + 1](x[i : i + 1]).double().flatten()
                    f1 = net.features[: d + 1](moved).double().flatten()
                    dist[d][i, k] = torch.sqrt(((f1 - f0) ** 2).sum())
                prob[i, k] = torch.softmax(net(moved).float(), dim=1)[0, labels[i]]
    return dist, prob


@pytest.mark.parametrize("batch_size", [1, 4, 64])
def test_matches_a_literal_per_image_computation(batch_size):
    net = chain_cnn(seed=3).double()
    x = _images(n=3, h=16, w=18)
    transforms = [vertical_translation([-3, 0, 2.5]), rotation([0, 45, 200]), scaling([0.7, 1.3])]
    res = invariance_curves(net, x, transforms, ["features.0", "features.5"], batch_size=batch_size)
    labels = net(x).argmax(1)
    assert torch.equal(res.labels, labels)
    assert res.label_source == "predicted"
    for t, curves in zip(transforms, res.curves):
        dist, prob = _literal_curves(net, x, t, (0, 5), labels)
        torch.testing.assert_close(curves.distances["features.0"], dist[0], rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(curves.distances["features.5"], dist[5], rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(curves.true_prob, prob, rtol=1e-5, atol=1e-6)
        assert torch.equal(curves.params, t.params)


def test_given_labels_normalizations_and_predicted_class():
    net = chain_cnn(seed=4)
    x = _images(n=2, h=16, w=16, dtype=torch.float32)
    res = invariance_curves(
        net, x, rotation([0, 30, 60]), ["features.2"], labels=[1, 4], normalize="reference"
    )
    assert res.label_source == "given" and res.labels.tolist() == [1, 4]
    curves = res.curves[0]
    probs = torch.softmax(net(x), 1)
    torch.testing.assert_close(res.reference_prob, probs[[0, 1], [1, 4]])
    torch.testing.assert_close(curves.true_prob[:, 0], res.reference_prob)
    raw = curves.distances["features.2"]
    norms = net.features[:3](x).flatten(1).double().norm(dim=1)
    torch.testing.assert_close(res.reference_norms["features.2"], norms)
    torch.testing.assert_close(res.distance(0, "features.2"), raw / norms[:, None])
    assert torch.equal(res.distance("rotation", "features.2", "none"), raw)
    assert torch.allclose(
        res.distance(0, "features.2", "max").amax(1), torch.ones(2, dtype=torch.float64)
    )
    dim = res.feature_dims["features.2"]
    assert dim == net.features[:3](x)[0].numel()
    torch.testing.assert_close(res.distance(0, "features.2", "sqrt_dim"), raw / dim**0.5)
    rotated = rotation([0, 30, 60])(x)
    assert torch.equal(curves.predicted, torch.stack([net(r).argmax(1) for r in rotated], 1))


def test_examples_are_the_transformed_images():
    net = chain_cnn()
    x = _images(n=2, h=16, w=16, dtype=torch.float32)
    t = vertical_translation(range(-6, 7))
    res = invariance_curves(net, x, t, "features.0", examples=3)
    curves = res.curves[0]
    assert curves.example_params.tolist() == [-6.0, 0.0, 6.0]
    expect = t(x, curves.example_params).transpose(0, 1)
    torch.testing.assert_close(curves.examples, expect)
    small = invariance_curves(net, x, t, "features.0", examples=2, thumbnail=8)
    assert small.curves[0].examples.shape == (2, 2, 3, 8, 8)
    none = invariance_curves(net, x, t, "features.0", examples=0)
    assert none.curves[0].examples.shape[1] == 0


def test_custom_callable_equals_the_built_in_path():
    net = chain_cnn()
    x = _images(n=2, h=16, w=16, dtype=torch.float32)
    shifts = [-2, 0, 3]
    rolled = custom_transform(lambda im, s: torch.roll(im, int(s), dims=2), shifts, name="roll")
    a = invariance_curves(net, x, rolled, ["features.1", "classifier"])
    b = invariance_curves(
        net, x, vertical_translation(shifts, fill="circular"), ["features.1", "classifier"]
    )
    for site in ("features.1", "classifier"):
        torch.testing.assert_close(a.curves[0].distances[site], b.curves[0].distances[site])


def test_result_round_trips_through_save(tmp_path):
    res = invariance_curves(
        chain_cnn(),
        _images(n=2, h=16, w=16, dtype=torch.float32),
        rotation([0, 90]),
        "features.0",
        image_names=["a", "b"],
    )
    assert not res.curves[0].distances["features.0"].is_inference()
    assert not res.reference_norms["features.0"].is_inference()
    loaded = InvarianceResult.load(res.save(tmp_path / "inv.pt"))
    assert loaded.image_names == ("a", "b") and loaded.sites == ("features.0",)
    assert torch.equal(
        loaded.curves[0].distances["features.0"], res.curves[0].distances["features.0"]
    )
    assert torch.equal(loaded.curves[0].examples, res.curves[0].examples)


def test_no_hook_left_and_state_restored_also_after_an_error():
    net = chain_cnn()
    net.train()
    net.features[0].weight.requires_grad_(False)
    x = _images(n=2, h=16, w=16, dtype=torch.float32)
    before = hook_count(net)
    invariance_curves(net, x, rotation([0, 10]), ["features.0", "classifier"])
    assert hook_count(net) == before
    assert net.training and all(m.training for m in net.modules())
    assert not net.features[0].weight.requires_grad and net.features[3].weight.requires_grad

    calls = []

    def explode(images, param):
        calls.append(float(param))
        if len(calls) > 1:
            raise RuntimeError("boom")
        return images

    with pytest.raises(RuntimeError, match="boom"):
        invariance_curves(net, x, custom_transform(explode, [1.0, 2.0]), "features.0")
    assert hook_count(net) == before
    assert net.training and not net.features[0].weight.requires_grad


class _DictNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return {"logits": self.pool(self.conv(x)).flatten(1)}


def test_non_tensor_output_needs_output_fn():
    x = _images(n=2, h=8, w=8, dtype=torch.float32)
    with pytest.raises(ValueError, match="output_fn"):
        invariance_curves(_DictNet(), x, rotation([0]), "conv")
    res = invariance_curves(
        _DictNet(), x, rotation([0, 90]), "conv", output_fn=lambda o: o["logits"].softmax(1)
    )
    assert res.curves[0].true_prob.shape == (2, 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sites": "classifier", "compare": "equivariance"}, "no spatial extent"),
        ({"sites": "features.9"}, "Unknown site"),
        ({"transforms": []}, "at least one transformation"),
        ({"labels": [0]}, "labels must be 2"),
        ({"labels": [0, 7]}, r"\[0, 5\)"),
        ({"normalize": "l2"}, "normalize must be"),
        ({"compare": "both"}, "compare must be"),
        ({"batch_size": 0}, "batch_size"),
        ({"image_names": ["only one"]}, "image_names"),
        ({"images": torch.zeros(2, 3, 16)}, r"\(N, C, H, W\)"),
        ({"images": torch.zeros(2, 3, 1, 1)}, "spatial extent"),
        (
            {"transforms": custom_transform(lambda a, b: a, [1.0]), "compare": "equivariance"},
            "custom callable",
        ),
    ],
)
def test_bad_input_raises_clear_errors(kwargs, match):
    args = {
        "images": _images(n=2, h=16, w=16, dtype=torch.float32),
        "transforms": vertical_translation([0, 2]),
        "sites": "features.0",
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        invariance_curves(
            chain_cnn(), args.pop("images"), args.pop("transforms"), args.pop("sites"), **args
        )


def test_wrong_transform_type_is_a_type_error():
    with pytest.raises(TypeError, match="vertical_translation"):
        invariance_curves(chain_cnn(), _images(dtype=torch.float32), [lambda x: x], "features.0")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_cuda_equals_cpu():
    net = chain_cnn()
    x = _images(n=3, h=16, w=16, dtype=torch.float32)
    transforms = [vertical_translation([-3, 0, 2]), rotation([0, 45]), scaling([0.8, 1.2])]
    cpu = invariance_curves(net, x, transforms, ["features.0", "classifier"])
    gpu = invariance_curves(net.cuda(), x, transforms, ["features.0", "classifier"])
    for a, b in zip(cpu.curves, gpu.curves):
        for site in ("features.0", "classifier"):
            torch.testing.assert_close(a.distances[site], b.distances[site], rtol=1e-3, atol=1e-3)
        torch.testing.assert_close(a.true_prob, b.true_prob, rtol=1e-3, atol=1e-4)
        assert b.distances["classifier"].device.type == "cpu"
