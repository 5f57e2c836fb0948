"""``project``: deconvnet projections of chosen activations down to pixel space.

Zeiler & Fergus (2013), Sec. 2.1: "to examine a given convnet activation, we set all
other activations in the layer to zero and pass the feature maps as input to the
attached deconvnet layer. Then we successively (i) unpool, (ii) rectify and (iii)
filter to reconstruct the activity in the layer beneath ... until input pixel space is
reached."

Two routes compute it. ``"reverse"`` walks a chain CNN backwards with recorded switches
and transposed filters (:mod:`interpret.deconvnet.reverse`); ``"gradient"`` runs autograd
with rectified backward signals and works on any graph (:mod:`interpret.deconvnet.gradient`).
On chain CNNs they agree to float rounding; ``"auto"`` takes the reverse walk where
:func:`interpret.core.receptive.chain_layers` accepts the model and the gradient route
otherwise. The choice (and the chain) is made once, in a
:class:`~interpret.deconvnet.plan.ProjectionPlan`, and passed down.

Two rules: ``rule="deconvnet"`` (the paper; rectifiers pass ``relu`` of the signal) and
``rule="guided"`` (guided backpropagation, Springenberg et al. 2015; rectifiers pass
``relu`` of their gradient, so the forward ReLU mask applies as well). Both run on both
routes; ``route="guided"`` is shorthand for ``rule="guided"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from interpret.core.capture import checked_forward
from interpret.core.results import Result
from interpret.core.scan import model_device
from interpret.core.state import preserved_state
from interpret.core.validate import check_finite, check_indices, check_model, check_real
from interpret.deconvnet.engine import SeedKind, compute_projections
from interpret.deconvnet.gradient import RELU_FAMILY, FunctionalPolicy
from interpret.deconvnet.plan import ProjectionPlan, Route, Rule, choose_route, plan_projection

__all__ = ["ProjectionResult", "Route", "Rule", "choose_route", "project", "project_units"]

Mode = Literal["max", "map", "unit"]


@dataclass(frozen=True)
class ProjectionResult(Result):
    """Deconvnet projections, one per examined unit (or feature map).

    Attributes
    ----------
    projections:
        ``(B, C, H, W)`` reconstructions in input space (raw values; figures stretch
        contrast). Sign: that of the gradient of the seeded activations with every
        rectifier's backward signal rectified (Captum ``Deconvolution``); with
        ``rule="guided"`` each rectifier's *gradient* rectified (Captum ``GuidedBackprop``).
    image:
        ``(B,)`` int64: row of ``inputs`` each projection belongs to.
    channel:
        ``(B,)`` int64 channel of the site.
    y, x:
        ``(B,)`` int64 location in the site's map; ``-1`` for a whole-map projection.
    activation:
        ``(B,)`` the examined activation (for ``mode="map"``: the map's maximum).
    site, mode, route, seed:
        What was projected and how (``mode`` is ``"units"`` for an explicit list;
        ``route`` is ``"reverse"`` or ``"gradient"``).
    rectifiers:
        Names of the module classes rectified on the way down.
    functional_rectifiers:
        Rectifier ops found outside modules (gradient route; 0 for the reverse walk,
        which refuses them).
    rule:
        ``"deconvnet"`` or ``"guided"``.
    """

    projections: Tensor
    image: Tensor
    channel: Tensor
    y: Tensor
    x: Tensor
    activation: Tensor
    site: str
    mode: str
    route: str
    seed: str
    rectifiers: tuple[str, ...]
    functional_rectifiers: int = 0
    rule: str = "deconvnet"


def project_units(
    model: nn.Module,
    inputs: Tensor,
    site: str,
    units: Tensor,
    *,
    mode: str = "units",
    route: Route = "auto",
    rule: Rule = "deconvnet",
    rectifiers: tuple[type[nn.Module], ...] = RELU_FAMILY,
    functional: FunctionalPolicy = "raise",
    seed: SeedKind = "activation",
    batch_size: int = 64,
    plan: ProjectionPlan | None = None,
) -> ProjectionResult:
    """Project each listed unit separately. Lower level of :func:`project`.

    Parameters
    ----------
    units:
        ``(B, 4)`` int64 rows ``(image, channel, y, x)``; ``image`` indexes ``inputs``.
        With ``mode="max"`` or ``"map"`` the location columns are ignored.
    mode:
        ``"units"``/``"unit"`` (the listed location), ``"max"`` (strongest location of
        the channel's map) or ``"map"`` (the whole map).
    route, rule, rectifiers, functional, seed, batch_size:
        As for :func:`project` (``seed="activation"`` by default, unlike Captum's unit
        gradient: pass ``seed="one"`` to compare with Captum).
    plan:
        A :class:`~interpret.deconvnet.plan.ProjectionPlan` for ``site`` already made by
        :func:`~interpret.deconvnet.plan.plan_projection`; ``route`` and ``rule`` are then
        taken from it and the model is not traced again.
    """
    if mode not in ("units", "unit", "max", "map"):
        raise ValueError(f"mode must be 'max', 'map' or 'unit', not {mode!r}.")
    if seed not in ("activation", "one"):
        raise ValueError(f"seed must be 'activation' or 'one', not {seed!r}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if isinstance(rectifiers, type):
        rectifiers = (rectifiers,)
    if not all(isinstance(r, type) and issubclass(r, nn.Module) for r in rectifiers):
        raise TypeError("rectifiers must be a tuple of nn.Module classes, e.g. (nn.ReLU,).")
    if not isinstance(inputs, Tensor) or inputs.ndim != 4 or not inputs.is_floating_point():
        raise TypeError("inputs must be a floating point (N, C, H, W) tensor.")
    units = torch.as_tensor(units, dtype=torch.int64).reshape(-1, 4)
    if units.numel() and (units[:, 0].min() < 0 or units[:, 0].max() >= len(inputs)):
        raise ValueError(f"Unit image indices must lie in [0, {len(inputs)}).")
    if plan is None:
        plan = plan_projection(model, site, route, rule)
    elif plan.site != site:
        raise ValueError(f"The plan was made for {plan.site!r}, not {site!r}.")
    proj_all, info_all, functional_count = compute_projections(
        model, inputs, plan, units, mode, rectifiers, functional, seed, batch_size
    )
    loc = info_all[:, :4].long()
    if mode == "map":
        loc[:, 2:] = -1
    return ProjectionResult(
        projections=proj_all,
        image=loc[:, 0],
        channel=loc[:, 1],
        y=loc[:, 2],
        x=loc[:, 3],
        activation=info_all[:, 4].to(inputs.dtype),
        site=site,
        mode=mode,
        route=plan.route,
        seed=seed,
        rectifiers=tuple(r.__name__ for r in rectifiers),
        functional_rectifiers=functional_count,
        rule=plan.rule,
    )


def project(
    model: nn.Module,
    inputs: Tensor,
    site: str,
    *,
    channels: int | Sequence[int] | None = None,
    mode: Mode = "max",
    location: tuple[int, int] | None = None,
    units: Tensor | Sequence[Sequence[int]] | None = None,
    route: Route = "auto",
    rule: Rule = "deconvnet",
    rectifiers: tuple[type[nn.Module], ...] = RELU_FAMILY,
    functional: FunctionalPolicy = "raise",
    seed: SeedKind = "activation",
    batch_size: int = 64,
) -> ProjectionResult:
    """Deconvnet (or guided backpropagation) projections of activations of ``site``.

    Each examined activation is seeded with *its own value* by default
    (``seed="activation"``, as Zeiler & Fergus do), not with 1 as Captum's
    ``NeuronDeconvolution``/``NeuronGuidedBackprop`` do: to compare with Captum, pass
    ``seed="one"``. The two differ by the factor ``activation`` per projection.

    Parameters
    ----------
    model:
        Any ``nn.Module``; put in eval mode during the call, mode and ``requires_grad``
        restored after. No hook stays behind.
    inputs:
        ``(N, C, H, W)`` images as the model takes them (moved to the model's device).
    site:
        Qualified module name (``"features.6"``, ``"blocks.4"``); the gradient route
        also takes ``"name:key"`` and ``"name#k"`` (``k``-th call).
    channels:
        Channels to examine (default all); each image x channel gives one projection,
        image-major (``B = N * len(channels)``).
    mode:
        ``"max"``: the strongest activation of the channel's map (Fig. 2's top-9 are such
        units); ``"unit"``: the activation at ``location``; ``"map"``: the whole feature
        map, every other channel zeroed.
    location:
        ``(y, x)`` in the site's map, for ``mode="unit"``.
    units:
        Instead of ``channels``/``mode``: an explicit set of units, rows
        ``(image, channel, y, x)``, each projected on its own.
    route:
        ``"auto"`` (reverse walk for chain CNNs, else gradient), ``"reverse"``,
        ``"gradient"``, or ``"guided"`` (shorthand for ``rule="guided"``, route as for
        ``"auto"``).
    rule:
        ``"deconvnet"`` (Zeiler & Fergus: each rectifier passes ``relu`` of the signal)
        or ``"guided"`` (guided backpropagation, Springenberg et al. 2015: each rectifier
        passes ``relu`` of its gradient, i.e. the signal masked where the forward
        rectifier was off, then rectified; for ReLU6 the mask is ``0 < x < 6``). Both
        rules run on both routes.
    rectifiers:
        Module classes whose backward signal is rectified (default ReLU, ReLU6,
        LeakyReLU). Captum's ``Deconvolution`` and ``GuidedBackprop`` rectify
        ``nn.ReLU`` only (pass ``rectifiers=(nn.ReLU,)`` to match them on ReLU6 models).
    functional:
        What to do with functional rectifiers (``F.relu``): ``"raise"``, ``"rectify"``
        or ``"gradient"``; see :mod:`interpret.deconvnet.gradient`.
    seed:
        ``"activation"`` (default, *not* Captum's choice) seeds with the activation's
        value, as the paper does; ``"one"`` seeds with 1, the unit gradient that
        Captum's ``NeuronDeconvolution`` and ``NeuronGuidedBackprop`` compute. The
        projection is positively homogeneous in the seed, so they differ by the factor
        ``activation`` (and a non-positive activation gives zero or a sign flip with
        ``"activation"``).
    batch_size:
        Units projected together.

    Returns
    -------
    ProjectionResult

    Example
    -------
    >>> import torch
    >>> from interpret.testing import chain_cnn
    >>> net = chain_cnn()
    >>> res = project(net, torch.randn(2, 3, 23, 31), "features.5", channels=[0, 3])
    >>> tuple(res.projections.shape), res.route
    ((4, 3, 23, 31), 'reverse')
    """
    check_model(model)
    if not isinstance(inputs, Tensor) or inputs.ndim != 4:
        raise TypeError("inputs must be an (N, C, H, W) tensor; add a batch dimension.")
    check_real(inputs, "inputs")
    check_finite(inputs, "inputs", "projections of such input would be NaN")
    if units is not None:
        if channels is not None or location is not None:
            raise ValueError("Give either units or channels/location, not both.")
        table = torch.as_tensor(units)
        if table.is_floating_point() or table.is_complex():
            raise TypeError(f"units must be integer rows (image, channel, y, x); got {table.dtype}")
        table = table.to(torch.int64)
        if table.ndim != 2 or table.shape[1] != 4:
            raise ValueError("units must be rows (image, channel, y, x), shape (B, 4).")
        return project_units(
            model, inputs, site, table, mode="units", route=route, rule=rule,
            rectifiers=rectifiers, functional=functional, seed=seed, batch_size=batch_size,
        )  # fmt: skip
    if mode not in ("max", "map", "unit"):
        raise ValueError(f"mode must be 'max', 'map' or 'unit', not {mode!r}.")
    if (mode == "unit") != (location is not None):
        raise ValueError("mode='unit' needs location=(y, x); other modes take no location.")
    plan = plan_projection(model, site, route, rule)  # the one trace of the model
    if channels is None:
        channels = list(range(_site_channels(model, inputs, site)))
    chans = torch.tensor(check_indices(channels, "channels"), dtype=torch.int64)
    if chans.ndim != 1 or chans.numel() == 0:
        raise ValueError("channels must be a non-empty list of channel indices.")
    n = len(inputs)
    images = torch.arange(n).repeat_interleave(len(chans))
    loc = location if location is not None else (0, 0)
    table = torch.stack(
        [images, chans.repeat(n), torch.full_like(images, loc[0]), torch.full_like(images, loc[1])],
        1,
    )
    return project_units(
        model, inputs, site, table, mode=mode, rectifiers=rectifiers, functional=functional,
        seed=seed, batch_size=batch_size, plan=plan,
    )  # fmt: skip


def _site_channels(model: nn.Module, inputs: Tensor, site: str) -> int:
    from interpret.core.capture import capture

    base = site.split("#")[0]
    with capture(model, base) as acts, torch.inference_mode(), preserved_state(model):
        model.eval()
        checked_forward(model, inputs[:1].to(model_device(model)))
    if site not in acts:
        raise ValueError(f"The forward pass never reached {site!r}; captured: {list(acts)}.")
    return int(acts[site].shape[1])
