"""Every objective kind, optimized on a random-init torchvision ResNet-18, ends far above
its value on random noise and on real photographs."""

from __future__ import annotations

import pytest
import torch
import torchvision
from maximize_baselines import assert_far_above, photos

from interpret.core import hook_count
from interpret.neurons.maximization.objectives import (
    batch_of,
    channel,
    class_logit,
    class_probability,
    direction,
    diversity,
    neuron,
)
from interpret.neurons.maximization.presets import preset
from interpret.neurons.maximization.run import evaluate_objective, maximize

pytestmark = pytest.mark.slow
SIZE = 32
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@pytest.fixture(scope="module")
def resnet() -> torch.nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return torchvision.models.resnet18(weights=None).eval()


def test_every_objective_kind_rises_far_above_noise_and_photos(resnet):
    v = torch.randn(256, generator=torch.Generator().manual_seed(1))
    kinds = {
        "class logit": class_logit(7),
        "class probability": class_probability(123),
        "channel": channel("layer2", 10),
        "neuron": neuron("layer2.1.bn2", 20),  # before the ReLU: a dead start cannot stall it
        "direction": direction("layer3", v),
        "direction (cosine)": direction("layer3", v, cosine=True),
    }
    objective = batch_of(list(kinds.values()))
    before = hook_count(resnet)
    result = maximize(
        resnet, objective, normalize=IMAGENET, config=preset("plain", size=SIZE, steps=64)
    )
    assert hook_count(resnet) == before
    real = photos(SIZE)
    noise = torch.rand(8, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    for b, name in enumerate(kinds):
        baseline = torch.cat(
            [
                evaluate_objective(resnet, objective, x, normalize=IMAGENET, elements=b)
                for x in (real, noise)
            ]
        )
        assert_far_above(float(result.final[b]), baseline, name)


def test_diversity_rises_far_above_noise_and_photos(resnet):
    objective = diversity("layer2")
    result = maximize(
        resnet, objective, normalize=IMAGENET, config=preset("plain", size=SIZE, steps=48), batch=3
    )
    real = photos(SIZE)
    noise = torch.rand(3, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    # diversity of a batch: minus the mean cosine similarity of Gram matrices, in [-1, 1]
    baselines = [
        evaluate_objective(resnet, objective, x, normalize=IMAGENET)
        for x in (real[:3], real[3:], noise)
    ]
    best = max(float(b.max()) for b in baselines)
    assert float(result.final.min()) > best + 0.2, (result.final, baselines)
