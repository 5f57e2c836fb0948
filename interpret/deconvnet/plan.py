"""A projection plan: which route and which rule, with the chain resolved once.

Following a site name through :func:`interpret.deconvnet.project` needs the chain of
layers up to the site (``torch.fx`` tracing, :func:`interpret.core.receptive.chain_layers`)
three times: to choose the route, to record the forward pass and to walk it back (and a
fourth for the receptive-field windows of :func:`~interpret.deconvnet.project_top`).
:func:`plan_projection` traces once and returns a :class:`ProjectionPlan` that every
later step takes.

Rules
    ``"deconvnet"`` (Zeiler & Fergus 2013): every rectifier passes ``relu`` of the signal
    it receives, whatever its forward input was. ``"guided"`` (guided backpropagation,
    Springenberg et al. 2015, "Striving for simplicity", arXiv:1412.6806): every rectifier
    passes ``relu`` of its *gradient*, i.e. the signal is masked by where the forward
    rectifier let the input through and then rectified. For ``nn.ReLU`` that is
    ``relu(s) * (x > 0)``; for ``nn.ReLU6`` the gradient already carries the mask
    ``0 < x < 6``, so guided keeps both clips of the forward pass (Captum's
    ``GuidedBackprop`` hooks ``nn.ReLU`` modules only and gives ReLU6 its plain gradient;
    ``rectifiers=(nn.ReLU,)`` reproduces that).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import nn

from interpret.core.receptive import chain_layers

__all__ = ["ProjectionPlan", "Route", "Rule", "choose_route", "plan_projection"]

Route = Literal["auto", "reverse", "gradient", "guided"]
Rule = Literal["deconvnet", "guided"]


@dataclass(frozen=True)
class ProjectionPlan:
    """How the projections of one site are computed, decided once.

    Attributes
    ----------
    site:
        The site as given (``"features.6"``, ``"layer3.1.relu#1"``, ``"block:0"``).
    route:
        ``"reverse"`` (explicit walk over the chain) or ``"gradient"`` (autograd).
    rule:
        ``"deconvnet"`` or ``"guided"`` (see the module docstring).
    layers:
        The chain ``(name, module)`` from the input to the site, in execution order,
        for the reverse walk; ``None`` on the gradient route.
    why:
        Why the route was taken (the reason the chain was refused, for ``"gradient"``
        under ``route="auto"``).
    """

    site: str
    route: str
    rule: str = "deconvnet"
    layers: tuple[tuple[str, nn.Module], ...] | None = None
    why: str = ""

    @property
    def has_switches(self) -> bool | None:
        """Whether a max pool lies on the chain (``None``: unknown, gradient route)."""
        if self.layers is None:
            return None
        return any(isinstance(m, (nn.MaxPool2d, nn.MaxPool1d)) for _, m in self.layers)


def plan_projection(
    model: nn.Module, site: str, route: Route = "auto", rule: Rule = "deconvnet"
) -> ProjectionPlan:
    """Choose the route for ``site`` and resolve its chain, once.

    Parameters
    ----------
    route:
        ``"auto"`` (the reverse walk where :func:`~interpret.core.receptive.chain_layers`
        accepts the model up to the site, else the gradient route), ``"reverse"``,
        ``"gradient"``, or ``"guided"``: shorthand for ``rule="guided"`` with the route
        chosen as for ``"auto"``.
    rule:
        ``"deconvnet"`` or ``"guided"``.

    Raises
    ------
    ValueError
        For an unknown route or rule, or ``route="reverse"`` where no chain leads to
        the site (the message says why; use ``route="gradient"``).
    """
    if route not in ("auto", "reverse", "gradient", "guided"):
        raise ValueError(f"route must be 'auto', 'reverse', 'gradient' or 'guided', not {route!r}.")
    if rule not in ("deconvnet", "guided"):
        raise ValueError(f"rule must be 'deconvnet' or 'guided', not {rule!r}.")
    if route == "guided":
        route, rule = "auto", "guided"
    if route == "gradient":
        return ProjectionPlan(site, "gradient", rule, None, "asked for the gradient route")
    if ":" in site or "#" in site:
        if route == "reverse":
            raise ValueError(
                f"The reverse walk takes a plain module name, not {site!r}; use route='gradient'."
            )
        why = f"{site!r} names an output part or a repeated call, which only autograd follows"
        return ProjectionPlan(site, "gradient", rule, None, why)
    try:
        layers = chain_layers(model, site)
    except ValueError as err:
        if route == "reverse":
            raise
        return ProjectionPlan(site, "gradient", rule, None, str(err))
    return ProjectionPlan(site, "reverse", rule, tuple(layers), "the path to the site is a chain")


def choose_route(model: nn.Module, site: str, route: Route = "auto") -> str:
    """``"reverse"`` or ``"gradient"`` for ``site``; ``ValueError`` if ``route`` cannot run.

    The route alone of :func:`plan_projection`; pass the plan itself on where it is
    needed, so the chain is traced once.
    """
    return plan_projection(model, site, route).route
