"""Figures for filter health (Zeiler & Fergus 2013, Fig. 6).

Frames mark flagged filters everywhere: red = dead, orange = dominating.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from interpret.filters.health import FilterHealthResult

__all__ = ["plot_aliasing", "plot_filter_grid", "plot_filter_projections", "plot_filter_rms"]

DEAD_COLOR = "tab:red"
DOMINATING_COLOR = "tab:orange"


def _as_image(x: Tensor) -> Tensor:
    """``(C, h, w)`` in [0, 1] -> ``(h, w, 3)`` or ``(h, w)`` for imshow."""
    if x.shape[0] == 3:
        return x.permute(1, 2, 0)
    return x.mean(0)


def _flags(health: FilterHealthResult | None, channel: int) -> str | None:
    if health is None or channel >= health.rms.numel():
        return None
    if health.dead is not None and bool(health.dead[channel]):
        return DEAD_COLOR
    if bool(health.dominating[channel]):
        return DOMINATING_COLOR
    return None


def _tile_grid(
    tiles: Tensor,
    channels: list[int],
    health: FilterHealthResult | None,
    columns: int,
    fig: Any,
    title: str,
) -> Any:
    from interpret.core.figures import new_figure

    count = tiles.shape[0]
    cols = max(1, min(columns, count))
    rows = (count + cols - 1) // cols
    if fig is None:
        fig = new_figure(figsize=(max(4.0, 0.75 * cols + 0.4), 0.75 * rows + 0.9))
    else:
        fig.clear()
    axes = fig.subplots(rows, cols, squeeze=False)
    for i in range(rows * cols):
        ax = axes[i // cols, i % cols]
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= count:
            ax.axis("off")
            continue
        ax.imshow(_as_image(tiles[i]).numpy(), cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")  # fmt: skip
        color = _flags(health, channels[i])
        for spine in ax.spines.values():
            spine.set_visible(color is not None)
            if color is not None:
                spine.set_color(color)
                spine.set_linewidth(2.5)
        ax.set_title(str(channels[i]), fontsize=6, pad=1)
    fig.suptitle(title, fontsize=9)
    return fig


def plot_filter_grid(
    health: FilterHealthResult,
    *,
    scale: str = "joint",
    columns: int = 12,
    fig: Any = None,
) -> Any:
    """First-layer filters as images (Fig. 6a-c), flagged filters framed.

    Parameters
    ----------
    health:
        From :func:`~interpret.filters.filter_health` with the weights kept (filters with
        at most 4 input channels; 3 are drawn as RGB, others as their mean).
    scale:
        ``"joint"``: one scale for all filters (zero = grey), so a dominating filter stands
        out as in Fig. 6a; ``"each"``: each filter stretched on its own, to see its shape.
    columns:
        Filters per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if health.weights is None:
        raise ValueError(
            f"{health.site} has no stored weights (filters with many input channels are not "
            "images); use filter_health(..., keep_weights=True) or draw deeper layers with "
            "plot_filter_projections."
        )
    if scale not in ("joint", "each"):
        raise ValueError(f"scale must be 'joint' or 'each', not {scale!r}.")
    w = health.weights.double()
    if scale == "joint":
        peak = w.abs().amax().clamp_min(1e-12)
    else:
        peak = w.abs().flatten(1).amax(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    tiles = (0.5 + 0.5 * w / peak).float()
    title = (
        f"Filters of {health.site} ({scale} scale)\nred: dead, orange: dominating "
        f"(> {health.dominating_factor:g} x median RMS)"
    )
    return _tile_grid(tiles, list(range(w.shape[0])), health, columns, fig, title)


def plot_filter_projections(
    projections: Any,
    health: FilterHealthResult | None = None,
    *,
    columns: int = 12,
    fig: Any = None,
) -> Any:
    """Deeper-layer filters by their strongest deconvnet projection (Fig. 6d-e).

    Parameters
    ----------
    projections:
        A :class:`interpret.deconvnet.TopProjectionsResult` (its strongest slot per
        channel is drawn, labelled with the channel) or a tensor ``(F, C, h, w)`` of
        projections in pixel space, one per filter in channel order.
    health:
        To frame dead / dominating channels (same site).
    columns:
        Tiles per row.

    Each projection is stretched on its own (zero = grey), as deconvnet figures are.
    """
    if isinstance(projections, Tensor):
        tiles, channels = projections, list(range(projections.shape[0]))
        site = health.site if health is not None else "site"
    elif hasattr(projections, "projections") and hasattr(projections, "channels"):
        tiles = projections.projections
        if tiles.ndim == 5:
            tiles = tiles[:, 0]  # strongest of the top-k per channel
        channels = [int(c) for c in projections.channels]
        site = getattr(projections, "site", "site")
    else:
        raise TypeError(
            "projections must be a TopProjectionsResult (interpret.deconvnet.project_top) or "
            f"a tensor (F, C, h, w), not {type(projections).__name__}."
        )
    if tiles.ndim != 4 or tiles.shape[0] == 0:
        raise ValueError(f"Expected projections (F, C, h, w), got {tuple(tiles.shape)}.")
    x = tiles.detach().double().cpu()
    peak = x.abs().flatten(1).amax(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    x = (0.5 + 0.5 * x / peak).float()
    title = f"Strongest projections of {site} filters\nred: dead, orange: dominating"
    return _tile_grid(x, channels, health, columns, fig, title)


def plot_filter_rms(health: FilterHealthResult, *, ax: Any = None) -> Any:
    """RMS of each filter with the median, the dominating threshold and the clipping
    radius; dead filters red, dominating orange."""
    from interpret.core.figures import figure_of

    size = (max(4.0, 0.08 * health.rms.numel() + 2), 3)
    fig, ax = figure_of(ax, figsize=size, layout="constrained")
    n = health.rms.numel()
    colors = [_flags(health, f) or "tab:blue" for f in range(n)]
    ax.bar(range(n), health.rms.numpy(), color=colors, width=0.8)
    ax.axhline(health.median_rms, color="black", lw=1, label="median")
    ax.axhline(
        health.dominating_factor * health.median_rms,
        color=DOMINATING_COLOR,
        ls="--",
        lw=1,
        label=f"{health.dominating_factor:g} x median",
    )
    ax.axhline(health.radius, color="gray", ls=":", lw=1, label=f"radius {health.radius:g}")
    ax.set_xlabel("filter")
    ax.set_ylabel("RMS")
    ax.set_title(f"Filter RMS of {health.site}", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def plot_aliasing(health: FilterHealthResult, *, fig: Any = None) -> Any:
    """Left: mean power spectrum of the filters (log scale, cycles/pixel) with the
    Nyquist box of the stride; right: each filter's aliasing fraction."""
    from matplotlib.patches import Rectangle

    from interpret.core.figures import new_figure

    if (
        health.aliasing is None
        or health.spectra is None
        or health.frequencies is None
        or (health.cutoff is None)
    ):
        raise ValueError(
            f"Aliasing was not measured for {health.site}; use filter_health(..., aliasing=True)."
        )
    if fig is None:
        fig = new_figure(figsize=(8, 3.2), layout="constrained")
    else:
        fig.clear()
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
    freqs = health.frequencies
    step = float(freqs[1] - freqs[0])
    extent = (float(freqs[0]) - step / 2, float(freqs[-1]) + step / 2) * 2
    mean = health.spectra.mean(0)
    image = torch.log10(mean / mean.max().clamp_min(1e-300) + 1e-6)
    left.imshow(image.numpy(), extent=(extent[0], extent[1], extent[3], extent[2]), cmap="magma")
    cy, cx = health.cutoff
    left.add_patch(Rectangle((-cx, -cy), 2 * cx, 2 * cy, fill=False, color="cyan", lw=1.2, ls="--"))
    left.set_xlabel("f_x (cycles/pixel)")
    left.set_ylabel("f_y (cycles/pixel)")
    left.set_title("mean power (log10); box: 1/(2 stride)", fontsize=8)
    n = health.aliasing.numel()
    colors = [_flags(health, f) or "tab:purple" for f in range(n)]
    right.bar(range(n), health.aliasing.numpy(), color=colors, width=0.8)
    right.set_ylim(0, 1)
    right.set_xlabel("filter")
    right.set_ylabel("energy fraction above cutoff")
    right.set_title(
        f"Aliasing of {health.site} (stride {health.stride[0]}x{health.stride[1]})", fontsize=9
    )
    return fig
