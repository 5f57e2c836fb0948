"""Objectives: values against literal formulas, arithmetic, descriptions, per-element
targets, chunked evaluation and clear errors."""

from __future__ import annotations

import pytest
import torch

from interpret.neurons.maximization.objectives import (
    Objective,
    batch_of,
    channel,
    class_logit,
    class_probability,
    direction,
    diversity,
    neuron,
)


@pytest.fixture
def acts() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "conv": torch.randn(4, 5, 6, 7, generator=g, dtype=torch.float64),
        "fc": torch.randn(4, 9, generator=g, dtype=torch.float64),
    }


@pytest.fixture
def logits() -> torch.Tensor:
    return torch.randn(4, 10, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def test_channel_is_the_spatial_mean_of_one_map(acts):
    a = acts["conv"]
    value = channel("conv", 3)(acts, None)
    literal = torch.tensor([a[b, 3].sum().item() / (6 * 7) for b in range(4)], dtype=a.dtype)
    torch.testing.assert_close(value, literal)


def test_per_element_channel_gives_each_element_its_own_channel(acts):
    a = acts["conv"]
    value = channel("conv", [4, 0, 2, 1])(acts, None)
    literal = torch.stack([a[0, 4].mean(), a[1, 0].mean(), a[2, 2].mean(), a[3, 1].mean()])
    torch.testing.assert_close(value, literal)


def test_channel_on_a_flat_site_is_the_unit(acts):
    torch.testing.assert_close(channel("fc", 7)(acts, None), acts["fc"][:, 7])


def test_neuron_defaults_to_the_centre_and_takes_a_position(acts):
    a = acts["conv"]
    torch.testing.assert_close(neuron("conv", 2)(acts, None), a[:, 2, 3, 3])
    torch.testing.assert_close(
        neuron("conv", [1, 2, 3, 4], y=1, x=5)(acts, None), a[range(4), [1, 2, 3, 4], 1, 5]
    )


def test_class_logit_and_probability(logits):
    torch.testing.assert_close(class_logit(7)({}, logits), logits[:, 7])
    torch.testing.assert_close(
        class_logit([1, 2, 3, 4])({}, logits), logits[range(4), [1, 2, 3, 4]]
    )
    probs = torch.exp(logits) / torch.exp(logits).sum(1, keepdim=True)
    torch.testing.assert_close(class_probability(5)({}, logits), probs[:, 5])
    torch.testing.assert_close(class_probability(5, log=True)({}, logits), probs[:, 5].log())


def test_class_logit_can_read_a_site(acts):
    torch.testing.assert_close(class_logit(2, site="fc")(acts, None), acts["fc"][:, 2])
    assert class_logit(2, site="fc").sites == ("fc",)
    assert not class_logit(2, site="fc").needs_output and class_logit(2).needs_output


def test_direction_projection_and_cosine(acts):
    a = acts["conv"]
    v = torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0], dtype=torch.float64)
    unit = v / v.norm()
    proj = direction("conv", v)(acts, None)
    literal = torch.stack([(a[b] * unit[:, None, None]).sum(0).mean() for b in range(4)])
    torch.testing.assert_close(proj, literal)
    cos = direction("conv", v, cosine=True)(acts, None)
    per_pos = (a * unit[None, :, None, None]).sum(1) / a.norm(dim=1)
    torch.testing.assert_close(cos, per_pos.flatten(1).mean(1))
    many = direction("conv", torch.stack([v, -v, v, -v]))(acts, None)
    torch.testing.assert_close(many, proj * torch.tensor([1.0, -1, 1, -1], dtype=torch.float64))


def test_diversity_is_minus_the_mean_cosine_of_gram_matrices(acts):
    a = acts["conv"]
    grams = [(a[b].flatten(1) @ a[b].flatten(1).T).flatten() for b in range(4)]
    literal = []
    for b in range(4):
        sims = [
            torch.dot(grams[b], grams[j]) / (grams[b].norm() * grams[j].norm())
            for j in range(4)
            if j != b
        ]
        literal.append(-torch.stack(sims).mean())
    torch.testing.assert_close(diversity("conv")(acts, None), torch.stack(literal))
    assert diversity("conv").couples
    assert diversity("conv")({"conv": a[:1]}, None).item() == 0.0


def test_arithmetic_values_and_descriptions(acts):
    a = acts["conv"]
    obj = channel("conv", 3) - 0.5 * neuron("conv", 3)
    assert obj.description == "channel(conv, 3) - 0.5 * neuron(conv, 3)"
    torch.testing.assert_close(obj(acts, None), a[:, 3].mean((1, 2)) - 0.5 * a[:, 3, 3, 3])
    total = 2 * (channel("conv", 1) + channel("conv", 2)) / 4 + 1.0
    assert total.description == "0.5 * (channel(conv, 1) + channel(conv, 2)) + 1"
    torch.testing.assert_close(total(acts, None), 0.5 * (a[:, 1] + a[:, 2]).mean((1, 2)) + 1.0)
    neg = -channel("conv", 1) - (channel("conv", 2) + channel("conv", 0))
    assert neg.description == "-channel(conv, 1) - (channel(conv, 2) + channel(conv, 0))"
    torch.testing.assert_close(neg(acts, None), -(a[:, 1] + a[:, 2] + a[:, 0]).mean((1, 2)))
    torch.testing.assert_close((3 - channel("conv", 1))(acts, None), 3 - a[:, 1].mean((1, 2)))
    assert (0 + channel("conv", 1)).description == "channel(conv, 1)"


def test_sites_and_batch_sizes_merge():
    obj = channel("a", range(3)) + 0.1 * neuron("b", [1, 2, 3]) - class_logit(4)
    assert obj.sites == ("a", "b")
    assert obj.batch_size == 3 and obj.needs_output
    assert len(obj.labels) == 3 and obj.labels[1].startswith("a ch 1 + ")
    assert channel("a", range(64)).description == "channel(a, 0..63)"
    assert channel("a", [3, 9]).description == "channel(a, [3, 9])"


def test_batch_of_evaluates_each_member_on_its_own_element(acts, logits):
    members = [
        channel("conv", 1),
        class_logit(3),
        neuron("conv", 0) + channel("fc", 2),
        channel("conv", 4),
    ]
    obj = batch_of(members)
    assert obj.batch_size == 4 and obj.needs_output and set(obj.sites) == {"conv", "fc"}
    value = obj(acts, logits)
    literal = torch.stack(
        [
            acts["conv"][0, 1].mean(),
            logits[1, 3],
            acts["conv"][2, 0, 3, 3] + acts["fc"][2, 2],
            acts["conv"][3, 4].mean(),
        ]
    )
    torch.testing.assert_close(value, literal)


def test_elements_select_the_targets_of_a_chunk(acts, logits):
    """``maximize`` evaluates chunks: rows 0..1 that stand for elements 2..3."""
    obj = channel("conv", [4, 0, 2, 1]) + batch_of([class_logit(k) for k in (5, 6, 7, 8)])
    full = obj(acts, logits)
    part = obj({k: v[2:] for k, v in acts.items()}, logits[2:], torch.tensor([2, 3]))
    torch.testing.assert_close(part, full[2:])
    # the same element scored on every image, as for comparing against photos
    many = channel("conv", [4, 0, 2, 1])(acts, None, torch.full((4,), 2))
    torch.testing.assert_close(many, acts["conv"][:, 2].mean((1, 2)))


def test_custom_objective_from_a_function(acts):
    obj = Objective(
        lambda a, out, el: a["conv"].pow(2).flatten(1).mean(1), "energy(conv)", ["conv"]
    )
    torch.testing.assert_close(
        (obj - channel("conv", 0))(acts, None),
        acts["conv"].pow(2).flatten(1).mean(1) - acts["conv"][:, 0].mean((1, 2)),
    )


# ---- bad input ------------------------------------------------------------------------


def test_channel_out_of_range_says_how_many_there_are(acts):
    with pytest.raises(ValueError, match=r"channel 5 is out of range.*has 5 channels.*0\.\.4"):
        channel("conv", 5)(acts, None)
    with pytest.raises(ValueError, match="class 10 is out of range"):
        class_logit([1, 10, 2, 3])({}, torch.zeros(4, 10))


def test_spatial_objectives_on_flat_sites_fail_clearly(acts):
    with pytest.raises(ValueError, match="needs a site with spatial extent.*'fc'"):
        neuron("fc", 1)(acts, None)
    with pytest.raises(ValueError, match="needs a site with spatial extent"):
        diversity("fc")(acts, None)


def test_neuron_position_outside_the_map(acts):
    with pytest.raises(ValueError, match="outside the 6x7 map"):
        neuron("conv", 1, y=6, x=0)(acts, None)


def test_wrong_batch_for_per_element_objective(acts):
    with pytest.raises(ValueError, match="needs a batch of 3, got 4"):
        channel("conv", [0, 1, 2])(acts, None)
    with pytest.raises(ValueError, match="same number of elements"):
        channel("conv", [0, 1, 2]) + channel("conv", [0, 1])


def test_bad_arguments_are_type_or_value_errors(acts):
    with pytest.raises(TypeError, match="use a number"):
        channel("conv", 1) * "2"
    with pytest.raises(TypeError, match="Cannot multiply two objectives"):
        channel("conv", 1) * channel("conv", 2)
    with pytest.raises(ValueError, match="divide an objective by zero"):
        channel("conv", 1) / 0
    with pytest.raises(TypeError):
        channel("conv", 1.5)
    with pytest.raises(ValueError, match="No channel given"):
        channel("conv", [])
    with pytest.raises(ValueError, match="all zeros"):
        direction("conv", torch.zeros(5))
    with pytest.raises(ValueError, match="length must equal the channels"):
        direction("conv", torch.ones(4))(acts, None)
    with pytest.raises(ValueError, match="single objectives"):
        batch_of([channel("conv", [1, 2])])
    with pytest.raises(ValueError, match="single objectives"):
        batch_of([diversity("conv")])
    with pytest.raises(ValueError, match="tensor of logits|shape"):
        class_logit(1)({}, (torch.zeros(4, 10),))
    with pytest.raises(ValueError, match="No activation for site .missing."):
        channel("missing", 1)({"conv": acts["conv"]}, None)
