"""Where guided backpropagation of a capped rectifier's unit starts (ReLU6 at its cap).

Guided backpropagation (Springenberg et al. 2015) passes a signal back through a
rectifier only where its forward gradient is non-zero. For ReLU6, ``min(max(x, 0), 6)``,
that is ``0 < x < 6``: a unit at the cap has zero gradient, so guided backpropagation
seeded at it is blank. On EfficientNet-Lite0 the occlusion section's feature map (the
strongest map of ``bn2``, whose output is a ReLU6) peaks at 6 on every bundled photo.

:func:`capped_rectifier_input` finds the module whose output is the rectifier's input (on
timm's ``BatchNormAct2d``, ``bn2.drop``: the batch-norm output before the ReLU6). Seeding
that *pre-activation* at the map's strongest unit is guided backpropagation of the same
unit with only its own cap read as open (the ReLU6 mask ``x > 0`` there, as a ReLU's),
every other ReLU6 keeping its mask ``0 < x < 6``; below the cap the two are equal (the
seed's own mask is open either way), and the seed is the unit's pre-activation value,
which says how far past the cap the image drives it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["CAPPED_WHY", "capped_rectifier_input", "is_capped_rectifier"]

CAPPED_WHY = (
    "The strongest units of {site} sit at their ReLU6's cap (6), where the gradient, and so "
    "guided backpropagation, is zero; (c) therefore seeds the same map's strongest unit "
    "before the cap ({pre}, the ReLU6's input): guided backpropagation of that unit with "
    "only its own cap read as open, every other ReLU6 keeping its mask 0 < x < 6"
)
"""Why (c) seeds a pre-activation, for captions (format with ``site`` and ``pre``)."""


def is_capped_rectifier(module: nn.Module) -> bool:
    """ReLU6, or a Hardtanh that clips at 0 from below (a rectifier with a ceiling)."""
    return isinstance(module, nn.Hardtanh) and float(module.min_val) == 0.0


def capped_rectifier_input(model: nn.Module, site: str, image: Tensor) -> str | None:
    """The module whose output feeds the capped rectifier that makes ``site``'s output.

    Parameters
    ----------
    model:
        Any ``nn.Module``; run once on ``image`` (no gradient, eval mode; mode restored,
        every hook removed).
    site:
        A module name whose output may come from a capped rectifier (:func:`is_capped_rectifier`):
        the site itself (``"features.2"`` of ``Sequential(conv, bn, ReLU6)``), or its
        last rectifier (``"bn2"`` of timm's ``BatchNormAct2d``, whose ``act`` is a ReLU6).
    image:
        ``(1, C, H, W)`` (or a batch) as the model takes it.

    Returns
    -------
    str or None
        The qualified name of the module whose output tensor is the rectifier's input
        (``"bn2.drop"``), or ``None`` when ``site`` does not end in a capped rectifier
        module or its input is no module's output (a functional op).
    """
    if "#" in site or ":" in site:
        return None
    modules = dict(model.named_modules())
    if site not in modules:
        raise ValueError(f"{site!r} is not a module of the model.")
    done: list[tuple[str, Any, Any]] = []  # (name, first input, output) in completion order

    def hook(name: str):
        def record(module: nn.Module, args: tuple, output: Any) -> None:
            done.append((name, args[0] if args else None, output))

        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in modules.items() if n]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(image)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    ends = [i for i, (name, _, _) in enumerate(done) if name == site]
    if not ends:
        return None
    end = ends[0]
    out = done[end][2]
    rectifier = None
    for i in range(end, -1, -1):
        name, _, output = done[i]
        inside = name == site or name.startswith(site + ".")
        if inside and output is out and is_capped_rectifier(modules[name]):
            rectifier = i
            break
    if rectifier is None or not isinstance(done[rectifier][1], Tensor):
        return None
    feed = done[rectifier][1]
    for i in range(rectifier - 1, -1, -1):
        if done[i][2] is feed:
            return done[i][0]
    return None
