"""The gradient route: the deconvnet as autograd with rectified backward signals.

Zeiler & Fergus's deconvnet differs from the gradient of a unit in one place only: at
each rectifier the backward signal is rectified (``relu(signal)``) instead of masked by
where the forward input was positive. On a graph the reverse walk cannot follow
(ResNet, EfficientNet, branches, attention), the same projection is autograd with that
one change: for each rectifier *node of the autograd graph* between the input and the
site, a hook replaces the gradient it passes down by ``relu`` of the gradient it got.
Everything else (convolutions, batch norm, additions, concatenations, pooling, SiLU)
passes the signal back as its gradient, as Captum's ``Deconvolution`` does.

Guided backpropagation (``rule="guided"``, Springenberg et al. 2015) differs in the same
place only: the hook replaces the gradient a rectifier node passes down by ``relu`` of
*that gradient* (the signal masked where the forward rectifier was off, then rectified),
as Captum's ``GuidedBackprop`` does for ``nn.ReLU`` modules.

Which rectifiers
    Module classes in ``rectifiers`` (default :data:`RELU_FAMILY`: ``nn.ReLU``,
    ``nn.ReLU6``, ``nn.LeakyReLU``). A rectifier module of another class (say
    ``nn.ReLU6`` with ``rectifiers=(nn.ReLU,)``, which is what Captum does) passes its
    plain gradient. The hooks sit on graph nodes, not on module outputs, so in-place
    ReLUs (``nn.ReLU(inplace=True)``) and modules called twice work.

Functional rectifiers
    ``F.relu``, ``torch.relu``, ``F.relu6``, ``F.leaky_relu``, ``F.threshold(x, 0, 0)``
    and ``x.clamp(min=0)`` are invisible to module hooks. Each forward walks the autograd
    graph and finds every rectifier node no module produced. ``functional="raise"``
    (default) refuses with a ``ValueError`` naming them; ``"rectify"`` rectifies them as
    well (their class is inferred from the op: relu / relu6 / leaky relu);
    ``"gradient"`` lets them pass their plain gradient (Captum's behaviour). The count
    is reported in every result (``functional_rectifiers``). Nothing is skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from interpret.core.capture import StopForward, checked_forward, select_output
from interpret.core.sites import Site, get_module
from interpret.core.state import HookSet

__all__ = ["RELU_FAMILY", "FunctionalPolicy", "GradientPass", "find_rectifier_nodes"]

RELU_FAMILY: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6, nn.LeakyReLU)
FunctionalPolicy = Literal["raise", "rectify", "gradient"]
# Module classes whose output is a rectifier node, whether or not they are rectified.
_RECTIFIER_MODULES = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.Hardtanh, nn.Threshold)


def _node_family(node: Any) -> type[nn.Module] | None:
    """The rectifier class an autograd node implements, or None if it is none."""
    kind = type(node).__name__
    if kind.startswith("ReluBackward"):
        return nn.ReLU
    if kind.startswith("LeakyReluBackward"):
        return nn.LeakyReLU
    if kind.startswith("HardtanhBackward"):
        low = float(getattr(node, "_saved_min_val", -1.0))
        high = float(getattr(node, "_saved_max_val", 0.0))
        return nn.ReLU6 if low == 0.0 and high == 6.0 else None
    if kind.startswith("ThresholdBackward"):
        return nn.ReLU if float(getattr(node, "_saved_threshold", 1.0)) == 0.0 else None
    if kind.startswith("ClampMinBackward"):
        return nn.ReLU if float(getattr(node, "_saved_min", 1.0)) == 0.0 else None
    if kind.startswith("ClampBackward"):
        low = getattr(node, "_saved_min", None)
        high = getattr(node, "_saved_max", None)
        if low is None or float(low) != 0.0:
            return None
        if high is None:
            return nn.ReLU
        return nn.ReLU6 if float(high) == 6.0 else None
    return None


def find_rectifier_nodes(output: Tensor) -> list[tuple[Any, type[nn.Module]]]:
    """Every rectifier node in the autograd graph of ``output``, with its class."""
    found: list[tuple[Any, type[nn.Module]]] = []
    seen: set[int] = set()
    stack = [output.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        family = _node_family(node)
        if family is not None:
            found.append((node, family))
        stack.extend(nxt for nxt, _ in node.next_functions)
    return found


def _rectify_hook(grad_inputs: tuple[Tensor | None, ...], grad_outputs: tuple[Tensor, ...]):
    """Deconvnet: the node passes ``relu`` of the signal it got."""
    slots = [i for i, g in enumerate(grad_inputs) if g is not None]
    if len(slots) != 1:
        return None  # not a unary op: leave it alone (never reached for rectifier nodes)
    new = [None] * len(grad_inputs)
    new[slots[0]] = F.relu(grad_outputs[0])
    return tuple(new)


def _guided_hook(grad_inputs: tuple[Tensor | None, ...], grad_outputs: tuple[Tensor, ...]):
    """Guided backpropagation: the node passes ``relu`` of its own gradient."""
    slots = [i for i, g in enumerate(grad_inputs) if g is not None]
    if len(slots) != 1:
        return None
    new: list[Tensor | None] = [None] * len(grad_inputs)
    new[slots[0]] = F.relu(grad_inputs[slots[0]])  # type: ignore[arg-type]
    return tuple(new)


@dataclass
class GradientPass:
    """One forward to the site with graph, then one rectified backward.

    Parameters
    ----------
    model:
        Any ``nn.Module`` (eval mode is the caller's business).
    site:
        ``"name"``, ``"name:key"`` for a tuple/dict output, ``"name#k"`` for the
        ``k``-th call (0-based) of a module called several times.
    rectifiers, functional:
        See the module docstring.
    rule:
        ``"deconvnet"`` (rectify the signal) or ``"guided"`` (rectify the gradient).
    """

    model: nn.Module
    site: str
    rectifiers: tuple[type[nn.Module], ...] = RELU_FAMILY
    functional: FunctionalPolicy = "raise"
    functional_found: list[str] = field(default_factory=list)
    rule: str = "deconvnet"

    def __post_init__(self) -> None:
        if self.rule not in ("deconvnet", "guided"):
            raise ValueError(f"rule must be 'deconvnet' or 'guided', not {self.rule!r}.")
        if self.functional not in ("raise", "rectify", "gradient"):
            raise ValueError(
                f"functional must be 'raise', 'rectify' or 'gradient', not {self.functional!r}."
            )
        name, _, call = self.site.partition("#")
        self._site = Site.parse(name)
        self._call = int(call) if call else 0
        self._module = get_module(self.model, self._site.module)

    def run(self, images: Tensor, make_seeds: Callable[[Tensor], Tensor]) -> tuple[Tensor, Tensor]:
        """Project seed maps made from the site's activations down to ``images``.

        One forward pass over the ``U`` images builds the graph; then one rectified
        backward pass per round ``r`` of seeds reuses it, so ``K`` units of one image
        cost one forward and ``K`` backwards.

        Parameters
        ----------
        images:
            ``(U, C, H, W)``.
        make_seeds:
            Gets the site's activations ``(U, ...)`` (detached) and returns seeds
            ``(K, U, ...)``: round ``r`` projects ``seeds[r]`` (zero rows cost a little
            time and give zero projections).

        Returns
        -------
        (projections, activations):
            ``(K, U, C, H, W)`` and the site's ``(U, ...)`` activations.
        """
        hooks = HookSet()
        module_nodes: dict[int, type[nn.Module]] = {}
        holder: dict[str, Tensor] = {}
        calls = [0]

        def on_rectifier(module: nn.Module, _inputs: Any, output: Any) -> None:
            if isinstance(output, Tensor) and output.grad_fn is not None:
                module_nodes[id(output.grad_fn)] = type(module)

        def on_site(_module: nn.Module, _inputs: Any, output: Any) -> None:
            if calls[0] == self._call:
                holder["y"] = select_output(self._site, output)
                raise StopForward
            calls[0] += 1

        x = images.detach().clone().requires_grad_(True)
        try:
            for module in self.model.modules():
                if isinstance(module, _RECTIFIER_MODULES):
                    hooks.add(module.register_forward_hook(on_rectifier))
            hooks.add(self._module.register_forward_hook(on_site))
            with torch.enable_grad():
                checked_forward(self.model, x)
        finally:
            hooks.undo()
        if "y" not in holder:
            raise ValueError(
                f"The forward pass never reached call {self._call} of {self._site.module!r}."
            )
        y = holder["y"]
        if y.grad_fn is None:
            raise ValueError(f"The site {self.site!r} does not depend on the input.")
        node_hooks = HookSet()
        functional = []
        try:
            for node, family in find_rectifier_nodes(y):
                owner = module_nodes.get(id(node))
                if owner is None:
                    functional.append(type(node).__name__)
                    if self.functional == "gradient" or not issubclass(family, self.rectifiers):
                        continue
                    if self.functional == "raise":
                        continue
                elif not issubclass(owner, self.rectifiers):
                    continue
                node_hooks.add(
                    node.register_hook(_guided_hook if self.rule == "guided" else _rectify_hook)
                )
            self.functional_found = functional
            if functional and self.functional == "raise":
                raise ValueError(
                    f"The model applies {len(functional)} rectifier(s) as functions "
                    f"({', '.join(sorted(set(functional)))}, e.g. F.relu) before "
                    f"{self.site!r}; module hooks cannot see them. Pass "
                    "functional='rectify' to rectify them as well (the deconvnet), "
                    "functional='gradient' to let them pass their plain gradient (as "
                    "Captum does), or replace them with nn.ReLU modules."
                )
            seeds = make_seeds(y.detach())
            if seeds.shape[1:] != y.shape:
                raise ValueError(
                    f"Seeds of shape {tuple(seeds.shape)} for activations {tuple(y.shape)}; "
                    "expected (K, *activations.shape)."
                )
            seeds = seeds.to(y.dtype)
            rounds = len(seeds)
            # grad of <y, seed> rather than grad(y, x, seed): same numbers, and it keeps
            # autograd from importing its symbolic-shape checker (seconds, once per process)
            grads = [
                torch.autograd.grad((y * seeds[r]).sum(), x, retain_graph=r < rounds - 1)[0]
                for r in range(rounds)
            ]
        finally:
            node_hooks.undo()
        return torch.stack(grads) if grads else x.new_zeros((0, *x.shape)), y.detach()
