"""The batched sweep against a literal double loop over occluder positions; defaults,
bad input, hooks and model state."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from interpret.core import hook_count
from interpret.occlusion import Occluder, OcclusionResult, occlusion_sensitivity
from interpret.testing import DictOutputNet, chain_cnn


def literal_sweep(model: nn.Module, images: Tensor, occ: Occluder, site: str, channel: Tensor,
                  target: Tensor) -> dict[str, Tensor]:  # fmt: skip
    """One forward per image and position, written out with plain loops."""
    n, _, h, w = images.shape
    tops, lefts = occ.grid(h, w)
    kh, kw = occ.window
    out = {k: torch.zeros(n, len(tops), len(lefts), dtype=torch.float64)
           for k in ("prob", "logit", "label", "feature")}  # fmt: skip
    module = dict(model.named_modules())[site]
    store: list[Tensor] = []
    handle = module.register_forward_hook(lambda m, i, o: store.append(o.detach().clone()))
    baseline = occ.filler.baseline(images, occ.window)
    try:
        with torch.no_grad():
            for b in range(n):
                for i, top in enumerate(tops.tolist()):
                    for j, left in enumerate(lefts.tolist()):
                        x = images[b : b + 1].clone()
                        t0, l0 = max(top, 0), max(left, 0)
                        x[..., t0 : top + kh, l0 : left + kw] = baseline[
                            b : b + 1, :, t0 : top + kh, l0 : left + kw
                        ]
                        store.clear()
                        logits = model(x)[0]
                        probs = logits.softmax(-1)
                        out["prob"][b, i, j] = probs[target[b]]
                        out["logit"][b, i, j] = logits[target[b]]
                        out["label"][b, i, j] = probs.argmax()
                        out["feature"][b, i, j] = store[0][0, channel[b]].double().sum()
    finally:
        handle.remove()
    return out


@pytest.mark.parametrize(
    ("size", "stride", "padding", "fill"),
    [
        (6, 3, "cover", "gray"),
        ((5, 7), (4, 5), "cover", 0.3),
        (6, 4, "valid", "mean"),
        (5, 3, "same", "blur"),
    ],
)
def test_batched_sweep_equals_literal_double_loop(size, stride, padding, fill) -> None:
    net = chain_cnn(seed=3)
    images = torch.randn(2, 3, 23, 31, generator=torch.Generator().manual_seed(0))
    occ = Occluder(size, stride, fill=fill, padding=padding)
    res = occlusion_sensitivity(net, images, occ, site="features.3", batch_size=7, top_n=2,
                                keep_logits=True)  # fmt: skip
    ref = literal_sweep(net, images, occ, "features.3", res.feature_channel, res.target)
    torch.testing.assert_close(res.target_prob.double(), ref["prob"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(res.target_logit.double(), ref["logit"], rtol=1e-5, atol=1e-5)
    assert torch.equal(res.top_label, ref["label"].long())
    torch.testing.assert_close(res.feature_total, ref["feature"], rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(res.topn_labels[..., 0], res.top_label)
    torch.testing.assert_close(res.logits.softmax(-1).amax(-1), res.top_prob)


def test_defaults_target_top_class_channel_strongest_map_and_last_conv_block() -> None:
    net = chain_cnn(seed=1)
    images = torch.randn(3, 3, 24, 24, generator=torch.Generator().manual_seed(2))
    res = occlusion_sensitivity(net, images, Occluder(8, 4))
    with torch.no_grad():
        logits = net(images)
        act = net.features[:8](images)  # features.7: ReLU after the last conv
    assert res.feature_site == "features.7"
    assert torch.equal(res.target, logits.argmax(-1))
    assert torch.equal(res.feature_channel, act.flatten(2).amax(-1).argmax(-1))
    torch.testing.assert_close(res.clean_target_prob, logits.softmax(-1).amax(-1))
    expected = act[torch.arange(3), res.feature_channel].double().sum((-2, -1))
    torch.testing.assert_close(res.clean_feature_total, expected)


def test_default_channel_breaks_a_tie_at_a_capped_rectifier_by_the_total() -> None:
    """ReLU6 caps several maps at 6: the default channel is the one with the largest total
    among them, not the first (channel 0 reaches 6 at fewer positions than channel 2)."""
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 3, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([4.0, 1.0, 8.0]).view(3, 1, 1, 1))
    net = nn.Sequential(conv, nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 4))
    image = torch.linspace(0.0, 2.0, 64).view(1, 1, 8, 8)  # 4 * 2 = 8 and 8 * 2 = 16 hit 6
    res = occlusion_sensitivity(net, image, Occluder(4, 4), site="1")
    act = net[1](conv(image)).detach()
    assert float(act[0, 0].amax()) == float(act[0, 2].amax()) == 6.0
    assert float(act[0, 2].sum()) > float(act[0, 0].sum())
    assert int(res.feature_channel[0]) == 2


def test_chosen_target_channel_site_and_dict_output() -> None:
    net = DictOutputNet()
    images = torch.randn(2, 3, 8, 10, generator=torch.Generator().manual_seed(4))
    res = occlusion_sensitivity(net, images, Occluder(4, 2), target=[2, 0], site="body.1",
                                channel=3, output="logits")  # fmt: skip
    assert res.target.tolist() == [2, 0] and res.feature_channel.tolist() == [3, 3]
    with torch.no_grad():
        clean = net(images)["logits"].softmax(-1)
    torch.testing.assert_close(res.clean_target_prob, clean[[0, 1], [2, 0]])
    with pytest.raises(ValueError, match="output="):
        occlusion_sensitivity(net, images, Occluder(4, 2))


def test_batch_size_and_memory_budget_do_not_change_the_result() -> None:
    net = chain_cnn(seed=5)
    images = torch.randn(2, 3, 16, 20, generator=torch.Generator().manual_seed(5))
    occ = Occluder(4, 4)
    a = occlusion_sensitivity(net, images, occ, batch_size=1)
    b = occlusion_sensitivity(net, images, occ, memory_budget=50_000)
    c = occlusion_sensitivity(net, images[0], occ)  # a single (C, H, W) image
    torch.testing.assert_close(a.target_prob, b.target_prob, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a.feature_total, b.feature_total, rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(a.target_prob[:1], c.target_prob, rtol=1e-5, atol=1e-6)


def test_result_save_load_round_trip(tmp_path) -> None:
    net = chain_cnn()
    res = occlusion_sensitivity(net, torch.randn(1, 3, 16, 16), Occluder(4, 4), top_n=3)
    loaded = OcclusionResult.load(res.save(tmp_path / "occ.pt"))
    assert torch.equal(loaded.target_prob, res.target_prob)
    assert loaded.window == (4, 4) and loaded.feature_site == res.feature_site
    assert torch.equal(loaded.topn_labels, res.topn_labels)
    assert loaded.boxes().shape == (4, 4, 4)
    torch.testing.assert_close(loaded.to_pixels(), res.to_pixels(), equal_nan=True)


def test_to_pixels_sign_and_quantities() -> None:
    net = chain_cnn(seed=2)
    images = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(7))
    res = occlusion_sensitivity(net, images, Occluder(4, 4), keep_logits=True)
    # stride == window: every pixel lies in exactly one window, so the map is the grid
    pixels = res.to_pixels("target_prob")
    expected = res.clean_target_prob[0] - res.target_prob[0]
    torch.testing.assert_close(pixels[0, ::4, ::4], expected)
    raw = res.to_pixels("feature_total", difference=False)
    torch.testing.assert_close(raw[0, 3::4, 3::4], res.feature_total[0])
    with pytest.raises(ValueError, match="quantity"):
        res.to_pixels("top_label")
    none = occlusion_sensitivity(net, images, Occluder(4, 4), site=None)
    assert none.feature_total is None
    with pytest.raises(ValueError, match="no feature_total"):
        none.to_pixels("feature_total")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"target": 5}, ValueError, "out of range"),
        ({"target": -1}, ValueError, "out of range"),
        ({"target": [0, 1, 2]}, ValueError, "one per image"),
        ({"channel": 10}, ValueError, "out of range"),
        ({"site": "features.33"}, ValueError, "Closest sites"),
        ({"site": "features.1#1"}, ValueError, "not called 2 times"),
        ({"site": 3}, TypeError, "site must be"),
        ({"top_n": 6}, ValueError, "top_n"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"probabilities": "log"}, ValueError, "probabilities"),
        ({"incremental": -0.5}, ValueError, "incremental"),
    ],
)
def test_bad_input_fails_clearly(kwargs: dict, error: type, match: str) -> None:
    net = chain_cnn()
    with pytest.raises(error, match=match):
        occlusion_sensitivity(net, torch.randn(2, 3, 16, 16), Occluder(4, 4), **kwargs)


def test_bad_images_and_occluders() -> None:
    net = chain_cnn()
    with pytest.raises(ValueError, match="larger than the image"):
        occlusion_sensitivity(net, torch.randn(1, 3, 16, 16), Occluder(17, 4))
    with pytest.raises(ValueError, match="float tensor"):
        occlusion_sensitivity(net, torch.zeros(1, 3, 16, 16, dtype=torch.uint8), Occluder(4, 4))
    with pytest.raises(TypeError, match="tensor"):
        occlusion_sensitivity(net, [[0.0]], Occluder(4, 4))
    with pytest.raises(TypeError, match="Occluder"):
        occlusion_sensitivity(net, torch.randn(1, 3, 16, 16), (4, 4))


class _Exploding(nn.Module):
    """Wraps a net and raises on its third forward call."""

    def __init__(self) -> None:
        super().__init__()
        self.net = chain_cnn()
        self.calls = 0

    def forward(self, x: Tensor) -> Tensor:
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("boom")
        return self.net(x)


@pytest.mark.parametrize("incremental", [False, True])
def test_no_hook_left_and_state_restored_also_after_an_error(incremental: bool) -> None:
    model = _Exploding().train()
    model.net.features[0].weight.requires_grad_(False)
    before = hook_count(model)
    with pytest.raises(RuntimeError, match="boom"):
        occlusion_sensitivity(model, torch.randn(1, 3, 16, 16), Occluder(4, 4), batch_size=2,
                              incremental=incremental)  # fmt: skip
    assert hook_count(model) == before
    assert model.training and model.net.features[3].training
    assert not model.net.features[0].weight.requires_grad
    assert model.net.features[3].weight.requires_grad
    assert all("forward" not in m.__dict__ for m in model.modules())
    model.calls = -100
    occlusion_sensitivity(model, torch.randn(1, 3, 16, 16), Occluder(4, 4), incremental=incremental)
    assert hook_count(model) == before and model.training


def test_a_subset_of_positions_gives_the_same_values() -> None:
    from interpret.occlusion._sweep import Sweep

    net = chain_cnn(seed=6)
    images = torch.randn(2, 3, 18, 18, generator=torch.Generator().manual_seed(8))
    occ = Occluder(6, 4)
    full = occlusion_sensitivity(net, images, occ, keep_logits=True)
    for incremental in (False, True):
        sweep = Sweep(net, images, occ, keep_logits=True, incremental=incremental, batch_size=3)
        subset = torch.tensor([0, 5, 7, 15])
        with sweep.session():
            sweep.run(subset)
        part = sweep.result()
        got = part.logits.view(2, -1, 5)
        torch.testing.assert_close(got[:, subset], full.logits.view(2, -1, 5)[:, subset],
                                   rtol=1e-4, atol=1e-5)  # fmt: skip
        assert (got[:, [1, 2, 3]] == 0).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("incremental", [False, True])
def test_cuda_equals_cpu(incremental: bool) -> None:
    net = chain_cnn(seed=7)
    images = torch.randn(2, 3, 24, 20, generator=torch.Generator().manual_seed(9))
    occ = Occluder(6, 3, fill="blur")
    cpu = occlusion_sensitivity(net, images, occ, keep_logits=True, incremental=incremental)
    gpu = occlusion_sensitivity(net.cuda(), images, occ, keep_logits=True, incremental=incremental)
    torch.testing.assert_close(gpu.logits, cpu.logits, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(gpu.feature_total, cpu.feature_total, rtol=1e-4, atol=1e-3)
    assert gpu.target_prob.device.type == "cpu"
