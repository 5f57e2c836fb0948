"""Unit indices are integers, and a model's own error after the first step is its own."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from interpret.neurons.maximization.objectives import channel, class_logit
from interpret.neurons.maximization.presets import preset
from interpret.neurons.maximization.run import maximize


@pytest.mark.parametrize("units", [[1.7], 2.5, [True], "ab", torch.tensor([0.5])])
def test_fractional_or_odd_units_are_refused_not_truncated(units) -> None:
    for make in (lambda u: channel("0", u), class_logit):
        with pytest.raises(TypeError, match="int"):
            make(units)


class FailsLater(nn.Module):
    """Runs once, then raises a RuntimeError of its own (a model bug, not bad input)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("the model's own failure at call 2")
        return self.conv(x).mean(dim=(2, 3))


def test_model_errors_after_the_first_step_pass_through_unchanged() -> None:
    config = preset("plain", size=16, steps=3)
    with pytest.raises(RuntimeError, match="the model's own failure at call 2") as caught:
        maximize(FailsLater(), class_logit(0), normalize=None, config=config)
    assert caught.type is RuntimeError  # not turned into "could not run on inputs ..."


def test_a_model_refusing_the_input_at_the_first_step_is_a_clear_value_error() -> None:
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 14 * 14, 2))  # 1 channel
    with pytest.raises(ValueError, match="could not run on inputs of shape"):
        maximize(net, class_logit(0), normalize=None, config=preset("plain", size=16, steps=2))
