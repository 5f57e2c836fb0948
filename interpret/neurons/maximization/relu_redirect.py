"""Redirected ReLU gradients: a dead start can still climb (Lucid's ``redirected_relu_grad``).

A unit behind a ReLU that is negative on the random start image has gradient zero, so
plain gradient ascent never moves it: its "visualization" stays noise with value 0. This
happens more often on random-init or unusual models than on the ImageNet models the
presets were tuned on. Lucid (Olah et al., "Feature Visualization", Distill 2017; its
``render_vis`` does this by default) replaces the ReLU's gradient, for each batch element
whose exact gradient through that ReLU is zero everywhere, by the incoming gradient
wherever it pushes a negative input *up* (and, for ReLU6, an input above 6 *down*).
Elements with a non-zero exact gradient keep the exact gradient, so a unit that is alive
is optimized as usual; only dead starts are helped, and only until they come alive.

:func:`redirect_relu_gradients` does this on every ``nn.ReLU``/``nn.ReLU6`` *module* of a
model (functional ``F.relu`` calls are invisible to hooks and keep their exact gradient)
with a forward pre-hook and a forward hook that recompute the activation from its input;
the forward values are unchanged. The hooks go into a :class:`~interpret.core.HookSet`
and are removed with it. Hooks are prepended, so that hooks added before (a
:func:`~interpret.core.capture` on the ReLU itself) see the redirected output.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from interpret.core import HookSet

__all__ = ["RedirectedReLU", "redirect_relu_gradients"]


class RedirectedReLU(torch.autograd.Function):
    """``clamp(x, 0, upper)`` whose backward redirects the gradient of dead elements.

    ``x`` has the batch first. In backward (``grad`` of a loss being *minimized*): the
    exact gradient ``grad * (0 <= x <= upper)`` for batch elements where it is non-zero
    somewhere; for the others ``grad`` where it would move ``x`` back into range (or where
    ``x`` is in range), zero where it would push ``x`` further out.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, upper: float | None) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.upper = upper
        return x.clamp(min=0.0, max=upper)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        below = x < 0
        above = x > ctx.upper if ctx.upper is not None else torch.zeros_like(below)
        exact = grad.masked_fill(below | above, 0.0)
        redirected = grad.masked_fill((below & (grad > 0)) | (above & (grad < 0)), 0.0)
        alive = exact.flatten(1).abs().amax(1) > 0 if x.ndim > 1 else exact != 0
        alive = alive.view(-1, *([1] * (x.ndim - 1))) if x.ndim > 1 else alive
        return torch.where(alive, exact, redirected), None


def _upper(module: nn.Module) -> float | None:
    return 6.0 if isinstance(module, nn.ReLU6) else None


def redirect_relu_gradients(model: nn.Module, hooks: HookSet) -> int:
    """Give every ``nn.ReLU``/``nn.ReLU6`` module of ``model`` :class:`RedirectedReLU`'s
    backward; the hooks are added to ``hooks`` (undo them to restore the model).

    Returns
    -------
    int
        The number of modules changed (0: the model has no ReLU modules).
    """
    count = 0
    for module in model.modules():
        if not isinstance(module, nn.ReLU | nn.ReLU6):
            continue
        stash: dict[str, Tensor] = {}
        upper = _upper(module)

        def pre(mod: nn.Module, args: tuple[Any, ...], stash: dict = stash) -> Any:
            (x,) = args
            stash["x"] = x
            # an in-place ReLU would overwrite the input we recompute from: give it a copy
            return (x.clone(),) if getattr(mod, "inplace", False) and x.requires_grad else None

        def post(
            _mod: nn.Module, _args: Any, out: Tensor, stash: dict = stash, upper=upper
        ) -> Tensor:
            x = stash.pop("x")
            if not (torch.is_grad_enabled() and x.requires_grad):
                return out
            return RedirectedReLU.apply(x, upper)

        hooks.add(module.register_forward_pre_hook(pre, prepend=True))
        hooks.add(module.register_forward_hook(post, prepend=True))
        count += 1
    return count
