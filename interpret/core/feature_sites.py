"""Concrete sites of a model, found by one forward of an example.

:func:`expand_sites` turns site selectors (globs, classes, ``name#k``) into the capture
keys they stand for, the way :func:`interpret.scan` does for its analyzers, so a user can
build one analyzer per site. :func:`feature_sites` proposes default feature sites (the
report's choice for a model it does not know).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn

from interpret.core.capture import capture, checked_forward
from interpret.core.scan import model_device
from interpret.core.sites import SiteSelector, expand_keys
from interpret.core.state import HookSet, preserved_state

__all__ = ["expand_sites", "feature_sites"]

_ACTIVATION_NAMES = frozenset(
    name.lower()
    for name in (
        "ReLU",
        "ReLU6",
        "LeakyReLU",
        "RReLU",
        "PReLU",
        "ELU",
        "SELU",
        "CELU",
        "GELU",
        "GELUTanh",
        "QuickGELU",
        "SiLU",
        "Swish",
        "Mish",
        "Hardswish",
        "HardMish",
    )
)
"""Class names (any class in the module's MRO, case-insensitive) of activation modules:
torch's and timm's own (``timm.layers.activations``)."""


def _batch(example: Tensor) -> Tensor:
    if not isinstance(example, Tensor):
        raise TypeError(f"example must be a tensor, not {type(example).__name__}.")
    if example.ndim == 3:
        return example[None]
    if example.ndim == 0:
        raise ValueError("example must be one input (C, H, W) or a batch (N, C, H, W).")
    return example


def expand_sites(
    model: nn.Module, selectors: SiteSelector | Iterable[SiteSelector], example: Tensor
) -> list[str]:
    """The concrete capture keys ``selectors`` stand for, in execution order.

    The same resolution :func:`interpret.scan` applies to every analyzer's sites, run
    on one forward of ``example``: use it to build one single-site analyzer per site.

    Parameters
    ----------
    model:
        Any ``nn.Module`` (run in eval mode under ``torch.inference_mode``; modes and
        hooks restored after).
    selectors:
        Names (``"layer1.0.relu#1"``), glob patterns (``"layer1.*"``) or module classes;
        see :func:`interpret.core.sites.expand_keys` for what each stands for.
    example:
        One input ``(C, H, W)`` or a batch ``(N, C, H, W)``, preprocessed as the model
        expects (moved to the model's device here).

    Returns
    -------
    list of str
        Capture keys such as ``"layer1.0.relu"`` and ``"layer1.0.relu#1"``.

    Example
    -------
    >>> import torch
    >>> from torchvision.models import resnet18
    >>> keys = expand_sites(resnet18(), "layer1.0.relu*", torch.randn(3, 64, 64))
    >>> keys
    ['layer1.0.relu', 'layer1.0.relu#1']
    >>> from interpret.deconvnet import TopActivations
    >>> analyzers = [TopActivations(key, k=4) for key in keys]
    """
    inputs = _batch(example).to(model_device(model))
    with preserved_state(model), capture(model, selectors) as acts, torch.inference_mode():
        model.eval()
        checked_forward(model, inputs)
        return expand_keys(model, selectors, list(acts))


def _is_activation(module: nn.Module) -> bool:
    return any(cls.__name__.lower() in _ACTIVATION_NAMES for cls in type(module).__mro__)


def _is_container(module: nn.Module) -> bool:
    """A module whose forward only runs its children in order (or that has no forward)."""
    forward = type(module).forward
    if isinstance(module, nn.Sequential):
        return forward is nn.Sequential.forward
    return isinstance(module, (nn.ModuleList, nn.ModuleDict)) and forward is nn.Module.forward


def _units(module: nn.Module, prefix: str) -> list[tuple[str, nn.Module]]:
    """The children of ``module``, looking through pure containers (qualified names)."""
    found = []
    for name, child in module.named_children():
        qualified = f"{prefix}{name}"
        if _is_container(child):
            found += _units(child, qualified + ".")
        else:
            found.append((qualified, child))
    return found


def _record_calls(model: nn.Module, inputs: Tensor) -> list[tuple[str, str, bool]]:
    """``(module name, capture key, output is (N, C, h, w))`` for every module call, in
    the order the calls finished."""
    events: list[tuple[str, str, bool]] = []
    counts: dict[str, int] = {}
    hooks = HookSet()

    def make_hook(name: str):
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            count = counts.get(name, 0)
            counts[name] = count + 1
            key = name if count == 0 else f"{name}#{count}"
            events.append((name, key, isinstance(output, Tensor) and output.ndim == 4))

        return hook

    with preserved_state(model), torch.inference_mode():
        model.eval()
        try:
            for name, module in model.named_modules():
                if name:
                    hooks.add(module.register_forward_hook(make_hook(name)))
            checked_forward(model, inputs)
        finally:
            hooks.undo()
    return events


def _pick(
    module: nn.Module, prefix: str, events: list[tuple[str, str, bool]]
) -> tuple[list[str], dict[str, nn.Module]]:
    units = dict(_units(module, prefix))
    wanted = {
        name
        for name, unit in units.items()
        if "pool" not in type(unit).__name__.lower()
        and (_is_activation(unit) or next(unit.children(), None) is not None)
    }
    if not wanted:  # no activations and no blocks: take the convolutions
        wanted = {n for n, u in units.items() if isinstance(u, nn.modules.conv._ConvNd)}
    keys = [key for name, key, is_map in events if name in wanted and is_map]
    return keys, units


def _stage_names(model: nn.Module, keys: list[str], calls: dict[str, int]) -> list[str]:
    """Name the last block of each stage (a pure ``nn.Sequential`` of blocks) by the stage."""
    renamed = dict.fromkeys(keys, "")
    for name, module in model.named_modules():
        children = list(module.named_children())
        if not name or not children or type(module).forward is not nn.Sequential.forward:
            continue
        if all(not _is_container(c) and next(c.children(), None) for _, c in children):
            last = f"{name}.{children[-1][0]}"
            if last in renamed and calls.get(last) == 1 and calls.get(name) == 1:
                renamed[last] = name
    return [new or old for old, new in renamed.items()]


def feature_sites(model: nn.Module, example: Tensor) -> list[str]:
    """Default feature sites: capture keys with ``(N, C, h, w)`` outputs, shallow to deep.

    The rule, from one forward of ``example``:

    1. Look at the model's *units*: its children, seen through pure containers
       (``nn.Sequential``, ``nn.ModuleList``/``ModuleDict`` whose forward only chains
       their children). A unit with children and its own forward is a *block* (a
       residual block, timm's ``BatchNormAct2d``, an Inception module); it is taken
       whole, never looked into.
    2. Keep the blocks and the activation modules (ReLU, GELU, SiLU, ... also timm's)
       among the units, pooling modules excepted, with every call of each whose output is
       ``(N, C, h, w)`` (a shared ReLU called after each convolution gives ``relu``,
       ``relu#1``, ...). With neither, keep the convolutions.
    3. A block that ends a stage (an ``nn.Sequential`` of blocks) is named by the stage:
       the same tensor, the shorter name.
    4. A model whose units hold one block and no other site (``Wrapper(backbone)``,
       whatever the backbone's output) is looked into.

    So torchvision ResNets give ``relu`` (the stem), then each residual block's output,
    ``layer1.0``, ``layer1``, ``layer2.0``, ... (the block ends in the second call of
    ``layerX.Y.relu``, captured as ``layerX.Y.relu#1``: the same tensor); VGG, AlexNet
    and a user's ``nn.Sequential`` their ReLUs ``features.N``; timm's EfficientNets the
    stem ``bn1``, the blocks ``blocks.N.M`` with each stage's output named ``blocks.N``,
    and the head ``bn2``.

    Parameters
    ----------
    model:
        Any ``nn.Module``; run once in eval mode (modes restored, hooks removed).
    example:
        One input ``(C, H, W)`` or a batch ``(N, C, H, W)``.

    Returns
    -------
    list of str
        Capture keys in execution order (every one usable as an analyzer's site); empty
        when no module gives a 4-D output.

    Example
    -------
    >>> import torch
    >>> from torchvision.models import resnet18
    >>> feature_sites(resnet18(), torch.randn(3, 64, 64))[:4]
    ['relu', 'layer1.0', 'layer1', 'layer2.0']
    """
    events = _record_calls(model, _batch(example).to(model_device(model)))
    calls: dict[str, int] = {}
    for name, _, _ in events:
        calls[name] = calls.get(name, 0) + 1
    keys, units = _pick(model, "", events)
    while len(keys) <= 1:  # a wrapper: look into its one block, if it has one
        blocks = [n for n, u in units.items() if next(u.children(), None) is not None]
        if len(blocks) != 1 or (keys and keys[0] != blocks[0]):
            break
        inner, units = _pick(units[blocks[0]], blocks[0] + ".", events)
        if not inner:
            break
        keys = inner
    return _stage_names(model, keys, calls)
