"""Activation maximization on small models: batched == single runs, the update rule,
hooks and model state restored on every exit path, early stopping, bad input, results."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from interpret.core import hook_count
from interpret.neurons.maximization.objectives import (
    batch_of,
    channel,
    class_logit,
    diversity,
    neuron,
)
from interpret.neurons.maximization.presets import PRESETS, preset
from interpret.neurons.maximization.regularizers import (
    ClipSmallNorm,
    GaussianBlur,
    L2Decay,
    gaussian_blur,
)
from interpret.neurons.maximization.run import (
    MaximizeConfig,
    MaximizeResult,
    _Adam,
    count_channels,
    evaluate_objective,
    maximize,
)
from interpret.testing import chain_cnn, seeded

SMALL = preset("lucid", size=32, steps=12)


def bn_net() -> nn.Sequential:
    """conv -> BatchNorm -> ReLU -> conv -> head, with non-trivial running statistics."""
    g = torch.Generator().manual_seed(0)
    net = nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(3, 6, 3, padding=1),
            bn=nn.BatchNorm2d(6),
            relu=nn.ReLU(),
            conv2=nn.Conv2d(6, 8, 3, padding=1),
            pool=nn.AdaptiveAvgPool2d(1),
            flat=nn.Flatten(),
            fc=nn.Linear(8, 4),
        )
    )
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        net.bn.running_mean.copy_(torch.randn(6, generator=g))
        net.bn.running_var.copy_(torch.rand(6, generator=g) + 0.5)
    return net


# ---- batched == one unit at a time ----------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        SMALL,
        preset("deepvis-4", size=24, steps=10),
        preset("deepvis", size=24, steps=10, lr=5.0),
        preset("plain", size=24, steps=10),
        SMALL.replace(resample="once"),
    ],
    ids=["lucid", "deepvis-4", "deepvis", "plain", "lucid-resample-once"],
)
def test_batched_run_equals_single_runs_with_the_same_seeds(config):
    """float64, so that batched kernels cannot differ by rounding: exactly equal."""
    net = chain_cnn().double()
    units = [5, 0, 7, 2]
    batched = maximize(
        net, channel("features.3", units), normalize=None, config=config, seed=[3, 1, 4, 1]
    )
    for b, (unit, seed) in enumerate(zip(units, [3, 1, 4, 1])):
        single = maximize(
            net, channel("features.3", unit), normalize=None, config=config, seed=seed
        )
        torch.testing.assert_close(batched.images[b], single.images[0], rtol=0, atol=1e-12)
        torch.testing.assert_close(batched.curve[:, b], single.curve[:, 0], rtol=0, atol=1e-9)
        torch.testing.assert_close(batched.raw[b], single.raw[0], rtol=0, atol=1e-12)
    assert batched.seeds == [3, 1, 4, 1]


def test_batched_equals_single_on_a_model_with_batchnorm_in_float32():
    net = bn_net()
    net.train()  # maximize must switch to eval: batch statistics would couple the elements
    objective = batch_of([channel("conv2", 1), class_logit(2), neuron("conv2", 5)])
    batched = maximize(net, objective, normalize=((0.5,) * 3, (0.5,) * 3), config=SMALL, seed=7)
    singles = [channel("conv2", 1), class_logit(2), neuron("conv2", 5)]
    for b, obj in enumerate(singles):
        single = maximize(net, obj, normalize=((0.5,) * 3, (0.5,) * 3), config=SMALL, seed=7 + b)
        torch.testing.assert_close(batched.images[b], single.images[0], rtol=0, atol=1e-4)
        torch.testing.assert_close(batched.final[b], single.final[0], rtol=1e-4, atol=1e-4)
    assert net.training


def test_chunk_size_does_not_change_the_result():
    net = chain_cnn().double()
    objective = channel("features.3", range(5)) - 0.1 * neuron("features.3", range(5))
    whole = maximize(net, objective, normalize=None, config=SMALL, chunk_size=5)
    for chunk in (1, 2, None):
        other = maximize(net, objective, normalize=None, config=SMALL, chunk_size=chunk)
        torch.testing.assert_close(other.images, whole.images, rtol=0, atol=1e-12)
        torch.testing.assert_close(other.curve, whole.curve, rtol=0, atol=1e-12)


def test_diversity_couples_elements_and_always_runs_whole():
    net = chain_cnn().double()
    objective = channel("features.3", 2) + 0.5 * diversity("features.3")
    a = maximize(net, objective, normalize=None, config=SMALL, batch=3, chunk_size=1)
    b = maximize(net, objective, normalize=None, config=SMALL, batch=3)
    torch.testing.assert_close(a.images, b.images, rtol=0, atol=0)
    alone = maximize(net, objective, normalize=None, config=SMALL, batch=1)
    assert not torch.allclose(alone.images[0], a.images[0])  # the others pushed element 0


# ---- the update rule --------------------------------------------------------------------


def test_adam_equals_torch_adam():
    g = torch.Generator().manual_seed(0)
    mine = torch.randn(4, 6, generator=g, dtype=torch.float64)
    theirs = mine.clone().requires_grad_(True)
    opt, adam = torch.optim.Adam([theirs], lr=0.05), _Adam(mine, 0.05)
    for _ in range(30):
        ascent = torch.randn(4, 6, generator=g, dtype=torch.float64)
        theirs.grad = -ascent
        opt.step()
        adam.step(ascent)
    torch.testing.assert_close(mine, theirs.detach(), rtol=0, atol=1e-14)


def test_one_yosinski_step_is_clip_of_regularized_ascent():
    """x1 = clip(r(x0 + lr * grad)), with r = decay, then blur, then small-norm clipping."""
    net = chain_cnn().double()
    regs = (L2Decay(0.1), GaussianBlur(0.8, every=1), ClipSmallNorm(25))
    config = MaximizeConfig(
        size=16,
        steps=1,
        param="pixel",
        pixel_output="clip",
        decorrelate=False,
        optimizer="sgd",
        lr=3.0,
        init_std=0.2,
        step_regularizers=regs,
    )
    result = maximize(net, neuron("features.3", 4), normalize=None, config=config, seed=11)
    x0 = torch.randn(3, 16, 16, generator=torch.Generator().manual_seed(11)).double()[None] * 0.2
    x0 = x0.clamp(-0.5, 0.5).requires_grad_(True)
    act = net.features[:4](x0 + 0.5)
    act[0, 4, act.shape[2] // 2, act.shape[3] // 2].backward()
    x = (x0 + 3.0 * x0.grad).detach() * 0.9
    x = gaussian_blur(x, 0.8)
    norms = x[0].norm(dim=0)
    x = x * (norms >= torch.quantile(norms.flatten(), 0.25))
    torch.testing.assert_close(result.images, (x.clamp(-0.5, 0.5) + 0.5).float(), rtol=0, atol=1e-6)


def test_progress_policy_takes_the_step_that_would_gain_the_desired_progress():
    net = chain_cnn().double()
    config = MaximizeConfig(
        size=16,
        steps=1,
        param="pixel",
        pixel_output="clip",
        decorrelate=False,
        optimizer="progress",
        lr=1e9,
        desired_progress=0.01,
        init_std=0.1,
    )
    result = maximize(net, channel("features.3", 1), normalize=None, config=config, seed=2)
    x0 = (torch.randn(3, 16, 16, generator=torch.Generator().manual_seed(2)).double() * 0.1)[None]
    x0 = x0.clamp(-0.5, 0.5).requires_grad_(True)
    net.features[:4](x0 + 0.5)[0, 1].mean().backward()
    g = x0.grad
    expected = (x0 + 0.01 / g.pow(2).sum() * g).detach().clamp(-0.5, 0.5) + 0.5
    torch.testing.assert_close(result.images, expected.float(), rtol=0, atol=1e-6)


# ---- the objective rises ---------------------------------------------------------------


def test_objective_rises_above_its_start_and_above_noise():
    net = chain_cnn()
    result = maximize(
        net,
        channel("features.6", range(4)),
        normalize=None,
        config=preset("plain", size=32, steps=40),
    )
    assert bool((result.final > result.curve[0] + 1.0).all())
    noise = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    for b in range(4):
        baseline = evaluate_objective(
            net, channel("features.6", range(4)), noise, normalize=None, elements=b
        )
        assert result.final[b] > baseline.max() + 1.0
    # the curve is recorded per element and per step, and ends near the final value
    assert result.curve.shape == (40, 4)


def test_evaluate_objective_matches_a_direct_forward():
    net = chain_cnn()
    images = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.3, 0.25)
    values = evaluate_objective(
        net, channel("features.3", [1, 2, 3]), images, normalize=(mean, std)
    )
    x = (images - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    direct = net.features[:4](x)[range(3), [1, 2, 3]].mean((1, 2))
    torch.testing.assert_close(values, direct)
    logits = evaluate_objective(net, class_logit(4), images, normalize=(mean, std), model_size=40)
    resized = torch.nn.functional.interpolate(x * 0 + images, size=(40, 40), mode="bilinear")
    resized = (resized - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(logits, net(resized)[:, 4])


def test_count_channels():
    net = chain_cnn()
    assert count_channels(net, "features.3") == 8
    assert count_channels(net, "classifier.2") == 5
    assert hook_count(net) == 0


# ---- hooks and model state -------------------------------------------------------------


def assert_untouched(net: nn.Module, flags: list[bool], hooks: int, state: dict) -> None:
    assert hook_count(net) == hooks
    assert [p.requires_grad for p in net.parameters()] == flags
    assert all(p.grad is None for p in net.parameters())
    assert net.training and all(m.training for m in net.modules())
    for key, value in net.state_dict().items():
        assert torch.equal(value, state[key]), key


@pytest.mark.parametrize("how", ["completes", "callback raises", "bad channel", "unknown site"])
def test_hooks_removed_and_model_restored(how):
    net = bn_net().train()
    net.conv1.weight.requires_grad_(False)  # a mix of flags, all restored as they were
    flags = [p.requires_grad for p in net.parameters()]
    hooks, state = hook_count(net), {k: v.clone() for k, v in net.state_dict().items()}
    seen = []

    def stop(step: int, values: torch.Tensor) -> None:
        seen.append(step)
        assert hook_count(net) > hooks and not net.training
        assert not any(p.requires_grad for p in net.parameters())
        if how == "callback raises" and step == 2:
            raise KeyboardInterrupt

    objective = {
        "completes": channel("conv2", [0, 1]) + class_logit(1),
        "callback raises": channel("conv2", [0, 1]),
        "bad channel": channel("conv2", [0, 8]),
        "unknown site": channel("conv9", 0),
    }[how]
    if how == "completes":
        maximize(net, objective, normalize=None, config=SMALL, callback=stop)
        assert seen == list(range(12))
    else:
        error = KeyboardInterrupt if how == "callback raises" else ValueError
        with pytest.raises(error):
            maximize(net, objective, normalize=None, config=SMALL, callback=stop)
    assert_untouched(net, flags, hooks, state)


def test_forward_stops_after_the_last_site_the_objective_needs():
    class Tripwire(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise AssertionError("the forward should have stopped before this layer")

    net = nn.Sequential(OrderedDict(conv=nn.Conv2d(3, 4, 3), relu=nn.ReLU(), trip=Tripwire()))
    result = maximize(
        net, channel("relu", [0, 1]) + channel("conv", 2), normalize=None, config=SMALL
    )
    assert result.final.shape == (2,) and hook_count(net) == 0
    with pytest.raises(AssertionError, match="should have stopped"):
        maximize(net, class_logit(0), normalize=None, config=SMALL)
    assert hook_count(net) == 0


# ---- bad input ---------------------------------------------------------------------------


def test_bad_input_gives_clear_errors():
    net = chain_cnn()
    run = lambda obj, **kw: maximize(net, obj, normalize=None, **{"config": SMALL, **kw})  # noqa: E731
    with pytest.raises(ValueError, match=r"Unknown site 'features\.33'.*features\.3"):
        run(channel("features.33", 0))
    with pytest.raises(
        ValueError, match=r"channel 8 is out of range for 'features\.3', which has 8"
    ):
        run(channel("features.3", [1, 8]))
    with pytest.raises(ValueError, match="spatial extent.*'classifier.2'"):
        run(neuron("classifier.2", 1))
    with pytest.raises(ValueError, match="spatial extent"):
        run(diversity("classifier.1"), batch=2)
    for steps in (0, -3):
        with pytest.raises(ValueError, match="steps must be a positive int"):
            preset("lucid", steps=steps)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        MaximizeConfig(steps=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2 seeds for a batch of 3"):
        run(channel("features.3", [0, 1, 2]), seed=[1, 2])
    with pytest.raises(ValueError, match="leave batch out"):
        run(channel("features.3", [0, 1, 2]), batch=2)
    with pytest.raises(ValueError, match="one mean and one positive std per channel"):
        maximize(net, channel("features.3", 0), normalize=((0.5, 0.5), (0.5,)), config=SMALL)
    with pytest.raises(TypeError, match="normalize must be"):
        maximize(net, channel("features.3", 0), normalize=0.5, config=SMALL)
    with pytest.raises(TypeError, match="must be an Objective"):
        run("features.3")
    with pytest.raises(ValueError, match="chunk_size"):
        run(channel("features.3", 0), chunk_size=0)
    with pytest.raises(ValueError, match="pixel_output='clip'"):
        MaximizeConfig(step_regularizers=(L2Decay(0.1),))
    with pytest.raises(ValueError, match="Unknown preset 'lucent'.*lucid"):
        preset("lucent")
    with pytest.raises(ValueError, match="optimizer"):
        MaximizeConfig(optimizer="lbfgs")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="size"):
        MaximizeConfig(size=(0, 4))
    with pytest.raises(ValueError, match="resample must be 'each' or 'once'"):
        MaximizeConfig(resample="twice")  # type: ignore[arg-type]
    assert hook_count(net) == 0


# ---- results, presets, other models ------------------------------------------------------


def test_result_holds_images_curves_parameters_and_saves(tmp_path):
    net = chain_cnn()
    objective = channel("features.3", [1, 2, 3])
    result = maximize(net, objective, normalize=((0.5,) * 3, (0.25,) * 3), config=SMALL, seed=5)
    assert isinstance(result, MaximizeResult) and len(result) == 3
    assert result.images.shape == (3, 3, 32, 32) and result.curve.shape == (12, 3)
    assert float(result.images.min()) >= 0 and float(result.images.max()) <= 1
    assert result.raw.shape == (3, 3, 32, 17, 2)  # the Fourier spectrum
    assert result.labels == ["features.3 ch 1", "features.3 ch 2", "features.3 ch 3"]
    assert result.description == "channel(features.3, 1..3)" and result.sites == ("features.3",)
    assert result.seeds == [5, 6, 7]
    settings = result.settings
    assert settings["name"] == "lucid" and settings["steps"] == 12 and settings["std"] == [0.25] * 3
    assert settings["transforms"][0] == "pad(12, constant 0.5)"
    direct = evaluate_objective(net, objective, result.images, normalize=((0.5,) * 3, (0.25,) * 3))
    torch.testing.assert_close(result.final, direct, rtol=1e-5, atol=1e-5)
    loaded = MaximizeResult.load(result.save(tmp_path / "am.pt"))
    assert torch.equal(loaded.images, result.images) and loaded.settings == settings
    assert loaded.labels == result.labels and loaded.sites == result.sites


def test_presets_are_the_documented_settings():
    assert set(PRESETS) == {
        "deepvis",
        "deepvis-1",
        "deepvis-2",
        "deepvis-3",
        "deepvis-4",
        "lucid",
        "plain",
    }
    lucid = preset("lucid")
    assert (lucid.param, lucid.decorrelate, lucid.optimizer, lucid.lr, lucid.steps) == (
        "fourier",
        True,
        "adam",
        0.05,
        512,
    )
    assert [t.description for t in lucid.transforms][1:] == [
        "jitter(8)",
        "random_scale(0.9..1.1)",
        "random_rotate(-10..10 deg)",
        "jitter(4)",
    ]
    deepvis = preset("deepvis")
    assert (
        deepvis.param == "pixel" and deepvis.pixel_output == "clip" and deepvis.optimizer == "sgd"
    )
    assert [r.description for r in deepvis.step_regularizers] == [
        "l2_decay(0.0001)",
        "blur(sigma=1, every=4)",
    ]
    assert deepvis.steps == 1000 and abs(deepvis.init_std - 10 / 255) < 1e-12
    rows = {
        n: [r.description for r in preset(n).step_regularizers]
        for n in PRESETS
        if n.startswith("deepvis-")
    }
    assert rows["deepvis-1"] == ["blur(sigma=0.5, every=4)", "clip_small_norm(50%)"]
    assert rows["deepvis-2"] == ["l2_decay(0.3)", "clip_small_norm(20%)"]
    assert rows["deepvis-4"] == ["blur(sigma=0.5, every=4)", "clip_small_contribution(90%)"]
    assert preset("deepvis-1").optimizer == "progress" and preset("lucid", size=64).size == 64


def test_grayscale_model_and_tuple_output():
    class TupleNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
            )
            self.head = nn.Linear(4, 3)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return self.head(self.body(x)), x.mean()

    net = seeded(TupleNet(), 3)
    config = preset("plain", size=32, steps=20)
    objective = class_logit([0, 2], site="head")
    result = maximize(net, objective, normalize=((0.5,), (0.5,)), config=config)
    assert result.images.shape == (2, 1, 32, 32)
    assert bool((result.final > result.curve[0]).all())
    direct = evaluate_objective(net, objective, result.images, normalize=((0.5,), (0.5,)))
    torch.testing.assert_close(direct, result.final)
    with pytest.raises(ValueError, match="not a tensor of logits"):
        maximize(net, class_logit(0), normalize=((0.5,), (0.5,)), config=SMALL)


def test_plots_label_units_and_values():
    import matplotlib.pyplot as plt

    from interpret.neurons.maximization.plot import plot_maximize_curve, plot_maximize_grid

    net = chain_cnn()
    result = maximize(net, channel("features.3", [1, 4, 6]), normalize=None, config=SMALL)
    fig = plot_maximize_grid(result, ncols=2)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [f"features.3 ch {c}\n{float(v):.3g}" for c, v in zip([1, 4, 6], result.final)]
    shown = fig.axes[1].images[0].get_array()
    torch.testing.assert_close(torch.as_tensor(shown).float(), result.images[1].permute(1, 2, 0))
    named = plot_maximize_grid(result, elements=[2], titles=["six"])
    assert named.axes[0].get_title().startswith("six\n")
    curve = plot_maximize_curve(result)
    lines = curve.axes[0].get_lines()
    assert len(lines) == 3 and list(lines[2].get_ydata()) == result.curve[:, 2].tolist()
    with pytest.raises(ValueError, match="titles"):
        plot_maximize_grid(result, titles=["a"])
    with pytest.raises(TypeError):
        plot_maximize_curve("not a result")  # type: ignore[arg-type]
    plt.close("all")


def test_second_call_of_a_reused_module_and_awkward_models():
    from interpret.testing import awkward_zoo

    net = awkward_zoo()["reused_relu"].build()
    first = maximize(net, channel("relu", 1), normalize=None, config=SMALL)
    second = maximize(net, channel("relu#1", 1), normalize=None, config=SMALL)
    images = torch.cat([first.images, second.images])
    values = evaluate_objective(
        net, batch_of([channel("relu", 1), channel("relu#1", 1)]), images, normalize=None
    )
    torch.testing.assert_close(values, torch.cat([first.final, second.final]), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(first.images, second.images)
    for name, entry in awkward_zoo().items():
        model = entry.build()
        c, h, w = entry.input_shape[-3:]
        config = preset("plain", size=(h, w), steps=3)
        result = maximize(
            model, channel(entry.site, 0), normalize=((0.5,) * c, (0.5,) * c), config=config
        )
        assert result.images.shape == (1, c, h, w) and hook_count(model) == 0, name


def test_runs_inside_a_callers_inference_mode():
    net = chain_cnn()
    with torch.inference_mode():
        result = maximize(net, channel("features.3", 2), normalize=None, config=SMALL)
    assert result.final[0] > result.curve[0, 0]
