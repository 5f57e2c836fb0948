"""Feature scale clipping as a training callback (Zeiler & Fergus 2013, Sec. 3).

"We renormalize each filter in the convolutional layers whose RMS value exceeds a fixed
radius of 10^-1 to this fixed radius." Without it a few first-layer filters dominate
(their Fig. 6a). :class:`FilterClipper` does that for chosen convolutions after every
optimizer step: call it yourself, or :meth:`FilterClipper.attach` it to the optimizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from interpret.core import get_module

__all__ = ["FilterClipper", "clip_filter_rms"]


def clip_filter_rms(conv: nn.Conv2d, radius: float) -> int:
    """Rescale every filter of ``conv`` whose RMS exceeds ``radius`` to RMS ``radius``.

    A filter is ``conv.weight[o]``; its RMS is ``sqrt(mean(w ** 2))``; biases are left
    alone; in place, without autograd. Returns how many filters were rescaled.
    Delegates to :func:`interpret.models.training.clip_filter_rms` (one implementation
    for the training loop and this callback).
    """
    from interpret.models.training import clip_filter_rms as clip

    return clip(conv, radius)


class FilterClipper:
    """Renormalize filters whose RMS exceeds ``radius``, after each optimizer step.

    Parameters
    ----------
    model:
        The model being trained.
    radius:
        The fixed radius (Zeiler & Fergus: 0.1).
    sites:
        Names of ``nn.Conv2d`` modules to clip; default every ``nn.Conv2d``.

    Attributes
    ----------
    steps:
        Times the clipper ran.
    clipped:
        ``site -> filters rescaled``, summed over all steps.

    Example
    -------
    >>> import torch
    >>> from interpret.testing import chain_cnn
    >>> net = chain_cnn()
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> clipper = FilterClipper(net, radius=0.1)
    >>> handle = clipper.attach(opt)      # runs after every opt.step()
    >>> net(torch.randn(2, 3, 16, 16)).sum().backward(); opt.step()
    >>> rms = net.features[0].weight.flatten(1).pow(2).mean(1).sqrt()
    >>> clipper.steps, bool(rms.max() <= 0.1 + 1e-6)
    (1, True)
    >>> handle.remove()
    """

    def __init__(
        self, model: nn.Module, radius: float = 0.1, sites: Sequence[str] | None = None
    ) -> None:
        if not radius > 0:
            raise ValueError(f"radius must be positive, got {radius}.")
        if sites is None:
            names = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
            if not names:
                raise ValueError("The model has no nn.Conv2d to clip; pass sites=... explicitly.")
        else:
            names = [sites] if isinstance(sites, str) else list(sites)
            if not names:
                raise ValueError("sites is empty: name at least one nn.Conv2d.")
        convs = {}
        for name in names:
            module = get_module(model, name)
            if not isinstance(module, nn.Conv2d):
                raise ValueError(
                    f"Site {name!r} is a {type(module).__name__}, not an nn.Conv2d; only "
                    "convolution filters are clipped."
                )
            convs[name] = module
        self.radius = float(radius)
        self.convs = convs
        self.steps = 0
        self.clipped = {name: 0 for name in convs}

    def __call__(self) -> int:
        """Clip now; returns the number of filters rescaled in this call."""
        total = 0
        with torch.no_grad():
            for name, conv in self.convs.items():
                count = clip_filter_rms(conv, self.radius)
                self.clipped[name] += count
                total += count
        self.steps += 1
        return total

    def attach(self, optimizer: torch.optim.Optimizer) -> RemovableHandle:
        """Run after every ``optimizer.step()``; ``handle.remove()`` detaches it."""
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"attach needs a torch.optim.Optimizer, not {type(optimizer).__name__}."
            )

        def hook(_opt: torch.optim.Optimizer, _args: Any, _kwargs: Any) -> None:
            self()

        return optimizer.register_step_post_hook(hook)
