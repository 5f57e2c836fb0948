"""Figures for deconvnet results (Zeiler & Fergus 2013, Figs. 2, 4 and 6).

Contrast. The paper says "color contrast is artificially enhanced". Here every
projection (and every filter) is stretched on its own, symmetrically about zero:
``0.5 + 0.5 * clip(p / s, -1, 1)`` with ``s`` the 99.5th percentile of ``|p|`` over that
projection, so zero is mid-grey and the strongest 0.5 % saturate. Each figure states it.
Image patches are shown through ``inverse`` (a callable mapping a model input
``(C, H, W)`` to ``[0, 1]``, e.g. ``interpret.data.EFFICIENTNET_LITE0.inverse``), or
min-max stretched per patch when none is given. Pixels of a window outside the image
are drawn grey.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from interpret.deconvnet.evolution import EvolutionResult, FiltersResult
from interpret.deconvnet.project import ProjectionResult
from interpret.deconvnet.top_projections import TopProjectionsResult

__all__ = [
    "CONTRAST_NOTE",
    "stretch",
    "plot_projections",
    "plot_top",
    "plot_top_pair",
    "plot_filters",
    "plot_evolution",
]

CONTRAST_NOTE = (
    "Contrast: each projection stretched on its own, zero = grey, "
    "±99.5th percentile of |value| = full scale."
)
Inverse = Callable[[Tensor], Tensor]


def stretch(x: Tensor, percentile: float = 99.5) -> Tensor:
    """Symmetric contrast stretch of one map ``(C, H, W)`` to ``[0, 1]``, zero at 0.5."""
    flat = x.detach().double().abs().flatten()
    scale = float(torch.quantile(flat, percentile / 100.0)) if flat.numel() else 0.0
    if scale <= 0:
        scale = float(flat.max()) if flat.numel() and float(flat.max()) > 0 else 1.0
    return (0.5 + 0.5 * (x.double() / scale).clamp(-1, 1)).float()


def _to_rgb(x: Tensor) -> Any:
    """``(C, H, W)`` in [0, 1] -> array for imshow (gray for 1 or >3 channels)."""
    x = x.detach().float().clamp(0, 1)
    if x.shape[0] == 3:
        return x.permute(1, 2, 0).numpy()
    gray = x.mean(0)
    return torch.stack([gray] * 3, -1).numpy()


def _grey_outside(img: Tensor, inside: Tensor | None) -> Tensor:
    if inside is None:
        return img
    return torch.where(inside.unsqueeze(0), img, torch.full_like(img, 0.5))


def _patch(x: Tensor, inside: Tensor | None, inverse: Inverse | None) -> Tensor:
    """An image patch for display: through ``inverse``, else min-max over its inside."""
    if inverse is not None:
        shown = inverse(x)
    else:
        ref = x[:, inside] if inside is not None and bool(inside.any()) else x
        low, high = ref.min(), ref.max()
        shown = (x - low) / (high - low) if high > low else torch.full_like(x, 0.5)
    return _grey_outside(shown.float(), inside)


def _blank(ax: Any) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def plot_projections(
    result: ProjectionResult,
    inputs: Tensor | None = None,
    *,
    inverse: Inverse | None = None,
    max_rows: int = 16,
    fig: Any = None,
) -> Any:
    """Each projection of ``result`` (rows), beside its input image when ``inputs`` is given.

    Returns the matplotlib Figure.
    """
    from interpret.core.figures import new_figure

    count = min(len(result.image), max_rows)
    if count == 0:
        raise ValueError("The result holds no projections.")
    cols = 2 if inputs is not None else 1
    fig = fig if fig is not None else new_figure(figsize=(2.2 * cols, 2.2 * count))
    axes = fig.subplots(count, cols, squeeze=False)
    for row in range(count):
        ax = axes[row, 0]
        ax.imshow(_to_rgb(stretch(result.projections[row])))
        y, x = int(result.y[row]), int(result.x[row])
        where = "map" if y < 0 else f"({y},{x})"
        label = f"img {int(result.image[row])} ch {int(result.channel[row])} {where}"
        ax.set_title(label, fontsize=7)
        _blank(ax)
        if inputs is not None:
            image = inputs[int(result.image[row])].cpu()
            axes[row, 1].imshow(_to_rgb(_patch(image, None, inverse)))
            _blank(axes[row, 1])
    fig.suptitle(f"Deconvnet projections at {result.site} ({result.route} route)", fontsize=9)
    fig.text(0.5, 0.005, CONTRAST_NOTE, ha="center", fontsize=7)
    return fig


def plot_top_pair(
    deconvnet: TopProjectionsResult,
    guided: TopProjectionsResult,
    *,
    inverse: Inverse | None = None,
    max_channels: int = 6,
    fig: Any = None,
) -> Any:
    """The deconvnet's and guided backpropagation's top-k of the same units, side by side.

    Each panel is :func:`plot_top` of one result (one channel block per row), titled with
    its method and its mean image specificity.
    """
    from interpret.core.figures import new_figure

    if not torch.equal(deconvnet.channels, guided.channels) or not torch.equal(
        deconvnet.image_index, guided.image_index
    ):
        raise ValueError("The two results must hold the same units (same top-k, same channels).")
    blocks = min(len(deconvnet.channels), max_channels)
    k = deconvnet.values.shape[1]
    side = max(1, int(round(k**0.5)))
    while side * side < k:
        side += 1
    width = 2 * 0.75 * (2 * side + 0.65) + 0.4
    height = 0.75 * (side + 0.35) * blocks + 1.2
    fig = fig if fig is not None else new_figure(figsize=(width, height))
    left, right = fig.subfigures(1, 2, wspace=0.02)
    chosen = deconvnet.channels.tolist()[:max_channels]
    plot_top(deconvnet, chosen, inverse=inverse, blocks_per_row=1, fig=left)
    plot_top(guided, chosen, inverse=inverse, blocks_per_row=1, fig=right)
    return fig


def plot_top(
    result: TopProjectionsResult,
    channels: Sequence[int] | None = None,
    *,
    inverse: Inverse | None = None,
    max_channels: int = 12,
    blocks_per_row: int = 2,
    fig: Any = None,
) -> Any:
    """Fig. 2: per channel, the top-k projections (left) beside their image patches (right).

    Parameters
    ----------
    result:
        From :func:`interpret.deconvnet.project_top`.
    channels:
        Channels to show (must be in ``result.channels``); default the first
        ``max_channels`` of them.
    inverse:
        Maps a model input ``(C, H, W)`` to ``[0, 1]`` for the patches.
    blocks_per_row:
        Channel blocks side by side.
    """
    from interpret.core.figures import new_figure

    available = result.channels.tolist()
    wanted = available[:max_channels] if channels is None else list(channels)
    missing = [c for c in wanted if c not in available]
    if missing:
        raise ValueError(f"Channels {missing} are not in the result (it has {available}).")
    k = result.values.shape[1]
    side = max(1, int(round(k**0.5)))
    while side * side < k:
        side += 1
    blocks = len(wanted)
    block_rows = (blocks + blocks_per_row - 1) // blocks_per_row
    # each block: side x side projections, a thin gap, side x side patches; blocks are
    # separated by a wider gap (rows and columns of the grid with small ratios)
    col_ratios = ([1.0] * side + [0.15] + [1.0] * side + [0.5]) * blocks_per_row
    row_ratios = ([0.35] + [1.0] * side) * block_rows
    fig = (
        fig
        if fig is not None
        else new_figure(figsize=(0.75 * sum(col_ratios), 0.75 * sum(row_ratios) + 0.8))
    )
    grid = fig.add_gridspec(
        len(row_ratios), len(col_ratios), width_ratios=col_ratios, height_ratios=row_ratios,
        wspace=0.04, hspace=0.04,
    )  # fmt: skip
    for b, channel in enumerate(wanted):
        i = available.index(channel)
        r0 = (b // blocks_per_row) * (side + 1) + 1
        c0 = (b % blocks_per_row) * (2 * side + 2)
        title = fig.add_subplot(grid[r0 - 1, c0 : c0 + 2 * side + 1])
        title.axis("off")
        title.text(0.0, 0.0, f"channel {channel}", fontsize=8, va="bottom")
        if result.specificity.numel():
            title.text(1.0, 0.0, f"specificity {float(result.specificity[i]):.3f}", fontsize=7,
                       va="bottom", ha="right")  # fmt: skip
        for j in range(side * side):
            for part, offset in (("projection", 0), ("patch", side + 1)):
                ax = fig.add_subplot(grid[r0 + j // side, c0 + offset + j % side])
                _blank(ax)
                if j >= k or int(result.image_index[i, j]) < 0:
                    continue
                inside = result.inside[i, j]
                if part == "projection":
                    shown = _grey_outside(stretch(result.projections[i, j]), inside)
                else:
                    shown = _patch(result.patches[i, j], inside, inverse)
                ax.imshow(_to_rgb(shown))
    method = "guided backpropagation" if result.rule == "guided" else "deconvnet"
    specificity = float(result.specificity.nanmean()) if result.specificity.numel() else 0.0
    fig.suptitle(
        f"Top-{k} activations at {result.site}, {method}\nprojections (left), patches "
        f"(right); {result.window} windows, {result.route} route\nimage specificity "
        f"{specificity:.3f}",
        fontsize=9,
    )
    fig.text(0.5, 0.005, CONTRAST_NOTE, ha="center", fontsize=7)
    return fig


def plot_filters(result: FiltersResult, *, columns: int = 12, fig: Any = None) -> Any:
    """Fig. 6: the filters of one convolution as images, each stretched on its own."""
    from interpret.core.figures import new_figure

    count = result.weights.shape[0]
    cols = min(columns, count)
    rows = (count + cols - 1) // cols
    fig = fig if fig is not None else new_figure(figsize=(0.7 * cols, 0.7 * rows + 0.6))
    axes = fig.subplots(rows, cols, squeeze=False)
    for f in range(rows * cols):
        ax = axes[f // cols, f % cols]
        _blank(ax)
        if f < count:
            ax.imshow(_to_rgb(stretch(result.weights[f])), interpolation="nearest")
    rms = result.rms
    fig.suptitle(
        f"Filters of {result.site} {result.label} (RMS {float(rms.min()):.3g}-"
        f"{float(rms.max()):.3g})",
        fontsize=9,
    )
    fig.text(0.5, 0.005, "Contrast: each filter stretched on its own, zero = grey.", ha="center",
             fontsize=7)  # fmt: skip
    return fig


def plot_evolution(result: EvolutionResult, *, fig: Any = None) -> Any:
    """Fig. 4: per site, one row per channel, one column per checkpoint.

    Each cell is the strongest projection over the dataset at that checkpoint.
    """
    from interpret.core.figures import new_figure

    columns = len(result.labels)
    rows = sum(len(result.snapshots[s][0].channels) for s in result.sites)
    fig = fig if fig is not None else new_figure(figsize=(1.1 * columns + 1, 1.1 * rows + 0.8))
    axes = fig.subplots(rows, columns, squeeze=False)
    row = 0
    for site in result.sites:
        shots = result.snapshots[site]
        for c, channel in enumerate(shots[0].channels.tolist()):
            for e, shot in enumerate(shots):
                ax = axes[row, e]
                _blank(ax)
                if int(shot.image_index[c, 0]) >= 0:
                    shown = _grey_outside(stretch(shot.projections[c, 0]), shot.inside[c, 0])
                    ax.imshow(_to_rgb(shown))
                if row == 0:
                    ax.set_title(result.labels[e], fontsize=7)
                if e == 0:
                    ax.set_ylabel(f"{site}\nch {channel}", fontsize=6)
            row += 1
    fig.suptitle("Strongest projection per feature map through training", fontsize=9)
    fig.text(0.5, 0.005, CONTRAST_NOTE, ha="center", fontsize=7)
    return fig
