"""``project``: what is projected (unit, strongest, map, set), batching, results, bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from interpret.core import hook_count
from interpret.deconvnet import ProjectionResult, choose_route, project
from interpret.testing import awkward_zoo, chain_cnn


def assert_close(actual, expected, rtol=1e-9, atol=1e-12):
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    err = float((actual - expected).abs().max()) if actual.numel() else 0.0
    assert torch.allclose(actual, expected, rtol=rtol, atol=atol), f"max abs error {err:.3g}"


@pytest.fixture
def net():
    return chain_cnn().double()


@pytest.fixture
def images(generator):
    return torch.randn(3, 3, 23, 31, generator=generator, dtype=torch.double)


def test_max_mode_picks_the_strongest_activation(net, images):
    result = project(net, images, "features.4", channels=[2, 0])
    with torch.no_grad():
        acts = net.features[:5](images)
    assert result.image.tolist() == [0, 0, 1, 1, 2, 2]
    assert result.channel.tolist() == [2, 0, 2, 0, 2, 0]
    for row in range(6):
        i, c = int(result.image[row]), int(result.channel[row])
        y, x = int(result.y[row]), int(result.x[row])
        assert acts[i, c, y, x] == acts[i, c].max()
        assert float(result.activation[row]) == pytest.approx(float(acts[i, c].max()))


def test_unit_mode_and_explicit_units_agree(net, images):
    by_unit = project(net, images, "features.4", channels=[1], mode="unit", location=(3, 5))
    units = [[0, 1, 3, 5], [1, 1, 3, 5], [2, 1, 3, 5]]
    by_set = project(net, images, "features.4", units=units)
    assert by_set.mode == "units" and by_unit.mode == "unit"
    assert_close(by_unit.projections, by_set.projections)
    assert by_set.y.tolist() == [3, 3, 3] and by_set.x.tolist() == [5, 5, 5]


def test_seed_activation_scales_the_unit_gradient(net, images):
    a = project(net, images, "features.5", channels=[0, 3], seed="activation")
    b = project(net, images, "features.5", channels=[0, 3], seed="one")
    assert_close(a.projections, b.projections * a.activation.view(-1, 1, 1, 1))


def test_map_mode_is_the_sum_of_units_when_nothing_is_rectified(net, images):
    # without rectification the walk is linear: a whole map = sum of its unit projections
    site, channel = "features.3", 4
    whole = project(net, images[:1], site, channels=[channel], mode="map", rectifiers=())
    with torch.no_grad():
        acts = net.features[:4](images[:1])
    h, w = acts.shape[-2:]
    units = [[0, channel, y, x] for y in range(h) for x in range(w)]
    parts = project(net, images[:1], site, units=units, rectifiers=())
    assert_close(whole.projections[0], parts.projections.sum(0), rtol=1e-8, atol=1e-10)
    assert whole.y.tolist() == [-1] and whole.mode == "map"
    rectified = project(net, images[:1], site, channels=[channel], mode="map")
    assert not torch.allclose(rectified.projections, whole.projections)


@pytest.mark.parametrize("route", ["reverse", "gradient"])
def test_batch_size_does_not_change_the_result(net, images, route):
    units = [[2, 5, 1, 2], [0, 1, 0, 0], [2, 5, 4, 6], [1, 7, 2, 2], [0, 1, 1, 1], [2, 0, 3, 3]]
    one = project(net, images, "features.5", units=units, route=route, batch_size=1)
    many = project(net, images, "features.5", units=units, route=route, batch_size=4)
    assert_close(one.projections, many.projections)
    assert one.image.tolist() == [2, 0, 2, 1, 0, 2]


def test_two_dimensional_site(net, images):
    a = project(net, images, "classifier.2", channels=[0, 4], route="reverse", seed="one")
    b = project(net, images, "classifier.2", channels=[0, 4], route="gradient", seed="one")
    assert_close(a.projections, b.projections)
    assert a.y.tolist() == [0] * 6


def test_route_choice():
    zoo = awkward_zoo()
    assert choose_route(chain_cnn(), "features.5") == "reverse"
    assert choose_route(zoo["residual"].build(), "relu2") == "gradient"
    assert choose_route(zoo["tuple_block"].build(), "block:0") == "gradient"
    with pytest.raises(ValueError, match="branch or residual"):
        choose_route(zoo["residual"].build(), "relu2", "reverse")
    with pytest.raises(ValueError, match="route must be"):
        choose_route(chain_cnn(), "features.5", "fast")


def test_result_round_trip(net, images, tmp_path):
    result = project(net, images, "features.5", channels=[1])
    loaded = ProjectionResult.load(result.save(tmp_path / "p.pt"))
    assert torch.equal(loaded.projections, result.projections)
    assert loaded.rectifiers == ("ReLU", "ReLU6", "LeakyReLU") and loaded.route == "reverse"
    with pytest.raises(Exception):  # noqa: B017 - frozen dataclass
        result.site = "other"  # type: ignore[misc]


def test_hooks_removed_and_state_restored(net, images):
    net.train()
    net.features[0].weight.requires_grad_(False)
    flags = [p.requires_grad for p in net.parameters()]
    before = hook_count(net)
    project(net, images, "features.5", channels=[0])
    with pytest.raises(ValueError):
        project(net, images, "features.5", units=[[0, 0, 99, 0]])
    assert hook_count(net) == before
    assert all(m.training for m in net.modules())
    assert [p.requires_grad for p in net.parameters()] == flags


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"mode": "all"}, ValueError, "mode must be"),
        ({"mode": "unit"}, ValueError, "needs location"),
        ({"location": (0, 0)}, ValueError, "needs location"),
        ({"channels": []}, ValueError, "non-empty"),
        ({"channels": [8]}, ValueError, "Channels must lie"),
        ({"units": [[0, 0, 0]]}, ValueError, r"shape \(B, 4\)"),
        ({"units": [[5, 0, 0, 0]]}, ValueError, "image indices"),
        ({"units": [[0, 0, 0, 0]], "channels": [0]}, ValueError, "not both"),
        ({"seed": "value"}, ValueError, "seed must be"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"rectifiers": ("relu",)}, TypeError, "nn.Module classes"),
        ({"route": "reverse", "channels": [0]}, None, None),
    ],
)
def test_bad_inputs(net, images, kwargs, error, match):
    if error is None:
        project(net, images, "features.5", **kwargs)
        return
    with pytest.raises(error, match=match):
        project(net, images, "features.5", **kwargs)


def test_bad_tensors_and_sites(net, images):
    with pytest.raises(TypeError, match="batch dimension"):
        project(net, images[0], "features.5")
    with pytest.raises(ValueError, match="Unknown site"):
        project(net, images, "features.55")
    with pytest.raises(ValueError, match="reverse walk takes a plain"):
        project(net, images, "features.5#1", route="reverse")
    with pytest.raises(TypeError, match="floating point"):
        project(net, images.long(), "features.5", channels=[0])


def test_site_not_reached_is_reported():
    class Skips(nn.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.Conv2d(3, 2, 3)
            self.unused = nn.ReLU()

        def forward(self, x):
            return self.used(x)

    with pytest.raises(ValueError, match="never"):
        project(Skips(), torch.randn(1, 3, 8, 8), "unused", channels=[0], route="gradient")
