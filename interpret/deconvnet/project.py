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
otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from interpret.core.capture import checked_forward
from interpret.core.receptive import chain_layers
from interpret.core.results import Result
from interpret.core.scan import model_device
from interpret.core.state import preserved_state
from interpret.core.validate import check_finite, check_indices, check_model, check_real
from interpret.deconvnet.engine import SeedKind, compute_projections
from interpret.deconvnet.gradient import RELU_FAMILY, FunctionalPolicy

__all__ = ["ProjectionResult", "project", "project_units", "choose_route"]

Mode = Literal["max", "map", "unit"]
Route = Literal["auto", "reverse", "gradient"]


@dataclass(frozen=True)
class ProjectionResult(Result):
    """Deconvnet projections, one per examined unit (or feature map).

    Attributes
    ----------
    projections:
        ``(B, C, H, W)`` reconstructions in input space (raw values; figures stretch
        contrast). Sign: that of the gradient of the seeded activations with every
        rectifier's backward signal rectified (Captum ``Deconvolution``).
    image:
        ``(B,)`` int64: row of ``inputs`` each projection belongs to.
    channel:
        ``(B,)`` int64 channel of the site.
    y, x:
        ``(B,)`` int64 location in the site's map; ``-1`` for a whole-map projection.
    activation:
        ``(B,)`` the examined activation (for ``mode="map"``: the map's maximum).
    site, mode, route, seed:
        What was projected and how (``mode`` is ``"units"`` for an explicit list).
    rectifiers:
        Names of the module classes rectified on the way down.
    functional_rectifiers:
        Rectifier ops found outside modules (gradient route; 0 for the reverse walk,
        which refuses them).
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


def choose_route(model: nn.Module, site: str, route: Route = "auto") -> str:
    """``"reverse"`` or ``"gradient"`` for ``site``; ``ValueError`` if ``route`` cannot run."""
    if route not in ("auto", "reverse", "gradient"):
        raise ValueError(f"route must be 'auto', 'reverse' or 'gradient', not {route!r}.")
    if route == "gradient":
        return route
    if ":" in site or "#" in site:
        if route == "reverse":
            raise ValueError(
                f"The reverse walk takes a plain module name, not {site!r}; use route='gradient'."
            )
        return "gradient"
    try:
        chain_layers(model, site)
    except ValueError:
        if route == "reverse":
            raise
        return "gradient"
    return "reverse"


def project_units(
    model: nn.Module,
    inputs: Tensor,
    site: str,
    units: Tensor,
    *,
    mode: str = "units",
    route: Route = "auto",
    rectifiers: tuple[type[nn.Module], ...] = RELU_FAMILY,
    functional: FunctionalPolicy = "raise",
    seed: SeedKind = "activation",
    batch_size: int = 64,
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
    chosen_route = choose_route(model, site, route)
    proj_all, info_all, functional_count = compute_projections(
        model, inputs, site, units, mode, chosen_route, rectifiers, functional, seed, batch_size
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
        route=chosen_route,
        seed=seed,
        rectifiers=tuple(r.__name__ for r in rectifiers),
        functional_rectifiers=functional_count,
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
    rectifiers: tuple[type[nn.Module], ...] = RELU_FAMILY,
    functional: FunctionalPolicy = "raise",
    seed: SeedKind = "activation",
    batch_size: int = 64,
) -> ProjectionResult:
    """Deconvnet projections of activations of ``site`` down to pixel space.

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
        ``"auto"`` (reverse walk for chain CNNs, else gradient), ``"reverse"`` or
        ``"gradient"``.
    rectifiers:
        Module classes whose backward signal is rectified (default ReLU, ReLU6,
        LeakyReLU). Captum rectifies ``nn.ReLU`` only.
    functional:
        What to do with functional rectifiers (``F.relu``): ``"raise"``, ``"rectify"``
        or ``"gradient"``; see :mod:`interpret.deconvnet.gradient`.
    seed:
        ``"activation"`` seeds the deconvnet with the activation's value, as the paper
        does; ``"one"`` with 1 (a gradient, as Captum's ``NeuronDeconvolution``). The
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
            model, inputs, site, table, mode="units", route=route, rectifiers=rectifiers,
            functional=functional, seed=seed, batch_size=batch_size,
        )  # fmt: skip
    if mode not in ("max", "map", "unit"):
        raise ValueError(f"mode must be 'max', 'map' or 'unit', not {mode!r}.")
    if (mode == "unit") != (location is not None):
        raise ValueError("mode='unit' needs location=(y, x); other modes take no location.")
    route = choose_route(model, site, route)  # type: ignore[assignment]
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
        model, inputs, site, table, mode=mode, route=route, rectifiers=rectifiers,
        functional=functional, seed=seed, batch_size=batch_size,
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
