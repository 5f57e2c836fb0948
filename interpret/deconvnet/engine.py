"""Running many projections at once: units grouped by image, seeded, walked down.

Both routes take units ``(image, channel, y, x)``. The reverse walk records one forward
pass over the distinct images of a group and walks every unit down its own receptive
field (:mod:`interpret.deconvnet.windowed`); the gradient route runs one forward pass
over the distinct images and one rectified backward pass per *round* (the r-th unit of
every image), so an image's forward pass is shared by all its units.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from interpret.core.device import to_host, wait_for_copies
from interpret.core.scan import model_device
from interpret.core.state import preserved_state
from interpret.deconvnet.gradient import FunctionalPolicy, GradientPass
from interpret.deconvnet.plan import ProjectionPlan
from interpret.deconvnet.reverse import record_chain, reverse_walk
from interpret.deconvnet.windowed import gather_window, reverse_walk_units

__all__ = ["compute_projections"]

SeedKind = Literal["activation", "one"]


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


def compute_projections(
    model: nn.Module,
    inputs: Tensor,
    plan: ProjectionPlan,
    units: Tensor,
    mode: str,
    rectifiers: tuple[type[nn.Module], ...],
    functional: FunctionalPolicy,
    seed: SeedKind,
    batch_size: int,
    boxes: Tensor | None = None,
) -> tuple[Tensor, Tensor, int]:
    """Projections of ``units`` (rows ``(image, channel, y, x)``), in unit order.

    ``plan`` says the site, the route, the rule and (reverse walk) the chain, resolved
    once by :func:`~interpret.deconvnet.plan.plan_projection`.

    Returns ``(projections, info, functional_count)``: ``(B, C, H, W)`` projections, or
    their crops to ``boxes`` (``(B, 4)`` equal-size ``(top, left, bottom, right)``
    windows, zero outside the image) when given; ``info`` rows are ``(image, channel, y,
    x, activation)`` with locations resolved (``mode="max"``).
    """
    device = model_device(model)
    projections, rows, functional_count = [], [], 0
    route, site = plan.route, plan.site
    groups = _groups(units[:, 0], batch_size, by_image=route == "gradient")
    if route == "reverse" and plan.layers is None:
        raise ValueError("A reverse-walk plan needs its chain; make it with plan_projection.")
    height, width = inputs.shape[-2:]
    with preserved_state(model):
        model.eval()
        for param in model.parameters():
            param.requires_grad_(False)
        gradient = GradientPass(model, site, rectifiers, functional, rule=plan.rule)
        for group in groups:
            part = units[group]
            images, local = torch.unique(part[:, 0], return_inverse=True)
            if route == "reverse":  # one forward pass; the units walked in chunks
                record = record_chain(
                    model, inputs[images].to(device), site, rectifiers, plan.layers, plan.rule
                )
                pieces = []
                for chunk in torch.split(torch.arange(len(part)), batch_size):
                    proj, origin, info = _reverse_chunk(record, part[chunk], local[chunk], mode,
                                                        seed)  # fmt: skip
                    pieces.append((chunk, proj, origin, info))
            else:
                proj, info = _gradient_group(gradient, inputs, images, local, part, mode, seed)
                origin = torch.zeros(len(part), 2, dtype=torch.long)
                functional_count = len(gradient.functional_found)
                pieces = [(torch.arange(len(part)), proj, origin, info)]
            for chunk, proj, origin, info in pieces:
                # windows pasted on the device, then non-blocking copies to the host
                here = torch.arange(len(chunk))
                if boxes is None:
                    proj = gather_window(proj.detach(), here, -origin, (height, width))
                else:
                    wanted = boxes[group[chunk]]
                    size = (int(wanted[0, 2] - wanted[0, 0]), int(wanted[0, 3] - wanted[0, 1]))
                    proj = gather_window(proj.detach(), here, wanted[:, :2] - origin, size)
                projections.append(to_host(proj))
                rows.append(to_host(info))
    if not projections:
        return inputs.new_zeros((0, *inputs.shape[1:])).cpu(), torch.zeros(0, 5), 0
    wait_for_copies()
    inverse = torch.argsort(torch.cat(groups))
    return torch.cat(projections)[inverse], torch.cat(rows)[inverse], functional_count


def _reverse_chunk(record, part: Tensor, local: Tensor, mode: str, seed: SeedKind):
    """Seeds for ``part`` from the recorded activations, walked down (windows, origins)."""
    acts = record.output[local.to(record.output.device)]
    _check_units(acts, part, mode)
    seeds, info = _seeds(acts, part, mode, seed)
    if mode == "map":
        proj = reverse_walk(record, seeds, local)
        return proj, torch.zeros(len(part), 2, dtype=torch.long), info
    # one activation each: walk only its receptive field
    maps = _as_maps(seeds)
    loc = info[:, 2:4].long()
    rows = torch.arange(len(part), device=maps.device)
    value = maps[rows, info[:, 1].long(), loc[:, 0], loc[:, 1]]
    # the walk plans its windows from the locations on the host: the listed units' own
    # (free), or, for mode="max", the found ones read once per chunk
    where = part[:, 2:4].clone() if mode in ("unit", "units") else loc.cpu()
    proj, origin = reverse_walk_units(record, info[:, 1].long(), where, value, local)
    return proj, origin, info


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

    Reverse walk: rows sorted by image, one forward pass per group of at most ``budget``
    images and ``8 budget`` units (walked ``budget`` at a time). Gradient route: one
    forward per batch and one backward per *round* (the r-th unit of every image), so a
    batch holds images with similar unit counts (at least half the largest) and
    ``images x rounds <= budget``.
    """
    order = torch.argsort(image, stable=True)
    if not by_image:  # at most `budget` images and 8 x `budget` units per forward pass
        groups, start = [], 0
        sorted_images = image[order]
        while start < len(order):
            stop = min(start + 8 * budget, len(order))
            distinct = torch.unique_consecutive(sorted_images[start:stop])
            if len(distinct) > budget:  # stop before the (budget + 1)-th image
                stop = start + int((sorted_images[start:stop] < distinct[budget]).sum())
            groups.append(order[start:stop])
            start = stop
        return groups
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
