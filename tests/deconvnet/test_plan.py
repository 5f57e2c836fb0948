"""``plan_projection``: the route, the rule and the chain of a site, resolved once."""

from __future__ import annotations

import pytest
import torch
from torch import fx, nn

from interpret import scan
from interpret.deconvnet import (
    ProjectionPlan,
    TopActivations,
    choose_route,
    plan_projection,
    project,
    project_top,
)
from interpret.testing import awkward_zoo, chain_cnn


class CountingChain(nn.Sequential):
    """A chain CNN that counts how often torch.fx traces it."""

    def __init__(self) -> None:
        super().__init__(
            nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 5, 3),
            nn.ReLU(),
        )  # fmt: skip
        self.traces = 0

    def forward(self, x):
        if isinstance(x, fx.Proxy):
            self.traces += 1
        return super().forward(x)


def test_a_plan_holds_the_chain_and_the_route():
    net = chain_cnn()
    plan = plan_projection(net, "features.5")
    assert isinstance(plan, ProjectionPlan) and plan.route == "reverse" and plan.rule == "deconvnet"
    assert [name for name, _ in plan.layers][-1] == "features.5"
    assert plan.has_switches is True
    guided = plan_projection(net, "features.5", route="guided")
    assert (guided.route, guided.rule) == ("reverse", "guided")
    residual = plan_projection(awkward_zoo()["residual"].build(), "relu2")
    assert residual.route == "gradient" and residual.layers is None
    assert "chain" in residual.why and residual.has_switches is None
    assert choose_route(net, "features.5") == "reverse"
    with pytest.raises(ValueError, match="rule"):
        plan_projection(net, "features.5", rule="saliency")


def test_project_and_project_top_trace_the_model_once(generator):
    net = CountingChain()
    x = torch.randn(3, 3, 12, 14, generator=generator)
    for rule in ("deconvnet", "guided"):
        net.traces = 0
        project(net, x, "4", channels=[0, 2], rule=rule)
        assert net.traces == 1, rule
    data = torch.utils.data.TensorDataset(x)
    (top,) = scan(net, data, [TopActivations("4", k=2)], progress=False)
    net.traces = 0
    result = project_top(net, data, top, channels=[1, 3], route="guided")
    assert net.traces == 1
    assert (result.route, result.rule, result.window) == ("reverse", "guided", "receptive")


def test_a_plan_for_another_site_is_refused(generator):
    from interpret.deconvnet import project_units

    net = chain_cnn()
    x = torch.randn(1, 3, 23, 31, generator=generator)
    plan = plan_projection(net, "features.2")
    with pytest.raises(ValueError, match="features.2"):
        project_units(net, x, "features.5", torch.tensor([[0, 0, 0, 0]]), plan=plan)
