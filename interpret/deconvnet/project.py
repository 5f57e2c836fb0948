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
from interpret.deconvnet.gradient import RELU_FAMILY, FunctionalPolicy, GradientPass
from interpret.deconvnet.reverse import record_chain, reverse_walk
from interpret.deconvnet.windowed import gather_window, reverse_walk_units

__all__ = ["ProjectionResult", "project", "project_units", "choose_route"]

Mode = Literal["max", "map", "unit"]
Route = Literal["auto", "reverse", "gradient"]
SeedKind = Literal["activation", "one"]


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


def _as_maps(acts: Tensor) -> Tensor:
    if acts.ndim == 4:
        return acts
    if acts.ndim == 2:
        return acts[:, :, None, None]
    raise ValueError(
        f"The site's output has shape {tuple(acts.shape)}; projections need (N, C, H, W) "
        "feature maps or (N, C) features."
    )


def _seeds(acts: Tensor, units: Tensor, mode: str, seed: SeedKind) -> tuple[Tensor, Tensor]:
    """Seed maps for rows ``units[:, 1:]`` (channel, y, x) of ``acts`` ``(B, ...)``.

    Returns ``(seeds shaped like acts, units with resolved locations and the activation
    appended as a float column)``.
    """
    maps = _as_maps(acts)
    rows = torch.arange(maps.shape[0], device=maps.device)
    channel = units[:, 1].to(maps.device)
    chosen = maps[rows, channel]  # (B, h, w)
    seeds = torch.zeros_like(maps)
    loc_y, loc_x = units[:, 2].to(maps.device).clone(), units[:, 3].to(maps.device).clone()
    if mode == "map":
        seeds[rows, channel] = chosen if seed == "activation" else torch.ones_like(chosen)
        value = chosen.flatten(1).amax(1)
    else:
        if mode == "max":
            flat = chosen.flatten(1).argmax(1)  # first maximum in row-major order
            loc_y, loc_x = flat // maps.shape[-1], flat % maps.shape[-1]
        value = chosen[rows, loc_y, loc_x]
        seeds[rows, channel, loc_y, loc_x] = value if seed == "activation" else 1.0
    resolved = torch.stack([units[:, 0].to(maps.device), channel, loc_y, loc_x], 1)
    return seeds.reshape(acts.shape), torch.cat([resolved.double(), value[:, None].double()], 1)


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
    proj_all, info_all, functional_count = _compute(
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


def _compute(
    model: nn.Module,
    inputs: Tensor,
    site: str,
    units: Tensor,
    mode: str,
    route: str,
    rectifiers: tuple[type[nn.Module], ...],
    functional: FunctionalPolicy,
    seed: SeedKind,
    batch_size: int,
    boxes: Tensor | None = None,
) -> tuple[Tensor, Tensor, int]:
    """Projections of ``units`` (rows ``(image, channel, y, x)``), in unit order.

    Returns ``(projections, info, functional_count)``: ``(B, C, H, W)`` projections, or
    their crops to ``boxes`` (``(B, 4)`` equal-size ``(top, left, bottom, right)``
    windows, zero outside the image) when given; ``info`` rows are ``(image, channel, y,
    x, activation)`` with locations resolved (``mode="max"``).
    """
    device = model_device(model)
    projections, rows, functional_count = [], [], 0
    groups = _groups(units[:, 0], batch_size, by_image=route == "gradient")
    layers = chain_layers(model, site) if route == "reverse" and groups else None
    height, width = inputs.shape[-2:]
    with preserved_state(model):
        model.eval()
        for param in model.parameters():
            param.requires_grad_(False)
        gradient = GradientPass(model, site, rectifiers, functional)
        for group in groups:
            part = units[group]
            images, local = torch.unique(part[:, 0], return_inverse=True)
            if route == "reverse":
                record = record_chain(model, inputs[images].to(device), site, rectifiers, layers)
                acts = record.output[local.to(record.output.device)]
                _check_units(acts, part, mode)
                seeds, info = _seeds(acts, part, mode, seed)
                if mode == "map":
                    proj = reverse_walk(record, seeds, local)
                    origin = torch.zeros(len(part), 2, dtype=torch.long)
                else:  # one activation each: walk only its receptive field
                    maps = _as_maps(seeds)
                    loc = info[:, 2:4].long()
                    value = maps[torch.arange(len(part)), info[:, 1].long(), loc[:, 0], loc[:, 1]]
                    proj, origin = reverse_walk_units(record, info[:, 1].long(), loc, value, local)
            else:
                proj, info = _gradient_group(gradient, inputs, images, local, part, mode, seed)
                origin = torch.zeros(len(part), 2, dtype=torch.long)
                functional_count = len(gradient.functional_found)
            proj, origin = proj.detach().cpu(), origin.cpu()
            here = torch.arange(len(part))
            if boxes is None:
                proj = gather_window(proj, here, -origin, (height, width))
            else:
                wanted = boxes[group]
                size = (int(wanted[0, 2] - wanted[0, 0]), int(wanted[0, 3] - wanted[0, 1]))
                proj = gather_window(proj, here, wanted[:, :2] - origin, size)
            projections.append(proj)
            rows.append(info.cpu())
    if not projections:
        return inputs.new_zeros((0, *inputs.shape[1:])).cpu(), torch.zeros(0, 5), 0
    inverse = torch.argsort(torch.cat(groups))
    return torch.cat(projections)[inverse], torch.cat(rows)[inverse], functional_count


def _gradient_group(gradient, inputs, images, local, part, mode, seed):
    """The gradient route for one group: one forward, one backward per round of units."""
    rank = _rank_within(local)
    box: list[Tensor] = []

    def make(acts: Tensor) -> Tensor:
        rows_acts = acts[local.to(acts.device)]
        _check_units(rows_acts, part, mode)
        seeds, info = _seeds(rows_acts, part, mode, seed)
        box.append(info)
        batched = acts.new_zeros((int(rank.max()) + 1, *acts.shape))
        batched[rank.to(acts.device), local.to(acts.device)] = seeds
        return batched

    grads, _ = gradient.run(inputs[images].to(model_device(gradient.model)), make)
    return grads[rank.to(grads.device), local.to(grads.device)], box[0]


def _rank_within(local: Tensor) -> Tensor:
    """For each row, how many earlier rows share its image (0, 1, 2, ...)."""
    rank = torch.zeros_like(local)
    seen: dict[int, int] = {}
    for i, image in enumerate(local.tolist()):
        rank[i] = seen.get(image, 0)
        seen[image] = int(rank[i]) + 1
    return rank


def _groups(image: Tensor, budget: int, by_image: bool) -> list[Tensor]:
    """Split unit rows into batches of at most ``budget`` projections.

    Reverse walk: rows sorted by image, cut every ``budget`` rows (one forward per batch
    over its distinct images). Gradient route: one forward per batch and one backward
    per *round* (the r-th unit of every image), so a batch holds images with similar unit
    counts (at least half the largest) and ``images x rounds <= budget``.
    """
    order = torch.argsort(image, stable=True)
    if not by_image:
        return list(torch.split(order, budget))
    per_image: dict[int, list[int]] = {}
    for row in order.tolist():
        per_image.setdefault(int(image[row]), []).append(row)
    pieces = []  # each piece: rows of one image, at most `budget` of them
    for rows in per_image.values():
        pieces += [rows[i : i + budget] for i in range(0, len(rows), budget)]
    pieces.sort(key=len, reverse=True)
    groups, current, rounds = [], [], 0
    for piece in pieces:
        if current and ((len(current) + 1) * rounds > budget or 2 * len(piece) < rounds):
            groups.append(torch.tensor([r for p in current for r in p], dtype=torch.int64))
            current = []
        if not current:
            rounds = len(piece)
        current.append(piece)
    if current:
        groups.append(torch.tensor([r for p in current for r in p], dtype=torch.int64))
    return groups


def _check_units(acts: Tensor, units: Tensor, mode: str) -> None:
    maps = _as_maps(acts)
    channels, height, width = maps.shape[1:]
    if units[:, 1].min() < 0 or units[:, 1].max() >= channels:
        raise ValueError(f"Channels must lie in [0, {channels}) for this site.")
    if mode in ("unit", "units"):
        ys, xs = units[:, 2], units[:, 3]
        if ys.min() < 0 or ys.max() >= height or xs.min() < 0 or xs.max() >= width:
            raise ValueError(
                f"Locations must lie inside the site's {height}x{width} map; got "
                f"y in [{int(ys.min())}, {int(ys.max())}], x in [{int(xs.min())}, {int(xs.max())}]."
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
    if not isinstance(inputs, Tensor) or inputs.ndim != 4:
        raise TypeError("inputs must be an (N, C, H, W) tensor; add a batch dimension.")
    if units is not None:
        if channels is not None or location is not None:
            raise ValueError("Give either units or channels/location, not both.")
        table = torch.as_tensor(units, dtype=torch.int64)
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
    elif isinstance(channels, int):
        channels = [channels]
    chans = torch.as_tensor(list(channels), dtype=torch.int64)
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
