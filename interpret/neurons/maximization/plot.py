"""Figures for activation maximization: image grids and optimization curves.

Both take a :class:`~interpret.neurons.maximization.run.MaximizeResult` and return the
matplotlib ``Figure``; they draw only what the result holds and never call
``plt.show()``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from interpret.neurons.maximization.config import MaximizeResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_maximize_curve", "plot_maximize_grid"]


def _check(result: Any) -> MaximizeResult:
    if not isinstance(result, MaximizeResult):
        raise TypeError(f"Expected a MaximizeResult, got {type(result).__name__}.")
    return result


def _elements(result: MaximizeResult, elements: Sequence[int] | None) -> list[int]:
    n = len(result)
    chosen = list(range(n)) if elements is None else [int(e) for e in elements]
    bad = [e for e in chosen if not 0 <= e < n]
    if bad:
        raise ValueError(f"Element {bad[0]} is not in the result (0..{n - 1}).")
    if not chosen:
        raise ValueError("No element to plot.")
    return chosen


def plot_maximize_grid(
    result: MaximizeResult,
    *,
    elements: Sequence[int] | None = None,
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    fig: Figure | None = None,
    panel_size: float = 1.6,
) -> Figure:
    """A grid of the optimized images, each titled with its unit and final value.

    Parameters
    ----------
    result:
        From :func:`~interpret.neurons.maximization.run.maximize`.
    elements:
        Which batch elements to show (default all).
    titles:
        One title per shown element instead of ``result.labels`` (e.g. class names).
    ncols:
        Columns; default about square.
    fig:
        Draw into this figure (cleared) instead of a new one.
    panel_size:
        Inches per panel for a new figure.
    """
    from interpret.core.figures import new_figure

    result = _check(result)
    chosen = _elements(result, elements)
    if titles is not None and len(titles) != len(chosen):
        raise ValueError(f"{len(titles)} titles for {len(chosen)} images; give one per image.")
    cols = ncols or math.ceil(math.sqrt(len(chosen)))
    rows = math.ceil(len(chosen) / cols)
    if fig is None:
        fig = new_figure(figsize=(cols * panel_size, rows * (panel_size + 0.35)))
    else:
        fig.clear()
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, e in enumerate(chosen):
        ax = axes.flat[i]
        image = result.images[e].clamp(0, 1).permute(1, 2, 0)
        if image.shape[2] == 1:
            ax.imshow(image[:, :, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow(image.numpy())
        label = titles[i] if titles is not None else result.labels[e]
        ax.set_title(f"{label}\n{float(result.final[e]):.3g}", fontsize=7)
    fig.suptitle(result.description if len(result.description) < 90 else "", fontsize=8)
    return fig


def plot_maximize_curve(
    result: MaximizeResult,
    *,
    elements: Sequence[int] | None = None,
    ax: Axes | None = None,
    legend: bool | None = None,
) -> Figure:
    """The objective against the step, one line per element.

    ``legend`` defaults to on for at most 10 lines.
    """
    from interpret.core.figures import figure_of

    result = _check(result)
    chosen = _elements(result, elements)
    fig, ax = figure_of(ax, figsize=(5, 3.2))
    steps = range(1, result.curve.shape[0] + 1)
    for e in chosen:
        ax.plot(steps, result.curve[:, e].numpy(), label=result.labels[e], lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("objective (with that step's transforms)")
    ax.set_title(result.description if len(result.description) < 70 else "objective", fontsize=9)
    if legend if legend is not None else len(chosen) <= 10:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
