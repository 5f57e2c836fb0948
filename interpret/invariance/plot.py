"""Figures for invariance curves, laid out as Zeiler & Fergus (2013) Fig. 5."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from interpret.invariance.curves import InvarianceResult, TransformCurves

__all__ = ["plot_invariance"]


def _display(image: Tensor, to_image: Callable[[Tensor], Tensor] | None) -> Tensor:
    """``(C, h, w)`` -> ``(h, w, 3)`` or ``(h, w)`` in [0, 1] for imshow."""
    if to_image is not None:
        image = to_image(image)
        if not isinstance(image, Tensor):
            image = torch.as_tensor(image)
        image = image.float()
    else:
        lo, hi = image.min(), image.max()
        image = (image - lo) / (hi - lo).clamp_min(1e-12)
    if image.ndim == 3 and image.shape[0] in (1, 3):
        image = image.permute(1, 2, 0)
    elif image.ndim == 3:
        image = image.mean(0)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    return image.clamp(0, 1)


def _montage(curves: TransformCurves, to_image: Callable[[Tensor], Tensor] | None) -> Tensor:
    """Rows = images, columns = example parameters, with a 1-pixel white gutter."""
    n, k = curves.examples.shape[:2]
    rows = []
    for i in range(n):
        if to_image is None:  # one scale per image so brightness changes stay visible
            lo, hi = curves.examples[i].min(), curves.examples[i].max()
            scaled = (curves.examples[i] - lo) / (hi - lo).clamp_min(1e-12)
            tiles = [_display(scaled[j], lambda x: x) for j in range(k)]
        else:
            tiles = [_display(curves.examples[i, j], to_image) for j in range(k)]
        gutter = torch.ones_like(tiles[0][:, :1])
        rows.append(torch.cat([t for tile in tiles for t in (tile, gutter)][:-1], dim=1))
    gap = torch.ones_like(rows[0][:1])
    return torch.cat([r for row in rows for r in (row, gap)][:-1], dim=0)


def plot_invariance(
    result: InvarianceResult,
    *,
    normalize: str | None = None,
    sites: Sequence[str] | None = None,
    to_image: Callable[[Tensor], Tensor] | None = None,
    show_examples: bool = True,
    fig: Any = None,
) -> Any:
    """Fig. 5 of Zeiler & Fergus: one row per transformation; columns: transformed
    examples, the feature distance at each site, the probability of the true label.

    Parameters
    ----------
    result:
        From :func:`~interpret.invariance.invariance_curves`.
    normalize:
        Distance normalization (default ``result.normalize``); see
        :meth:`InvarianceResult.distance`.
    sites:
        Which of ``result.sites`` to draw (default all).
    to_image:
        Maps a ``(C, h, w)`` input-space thumbnail to a displayable image in [0, 1]
        (e.g. ``interpret.data.EFFICIENTNET_LITE0.inverse``); default min-max per image.
    show_examples:
        Draw the first column of thumbnails (rows: images, columns: example parameters).
    fig:
        A matplotlib Figure to draw into (cleared); default a new one.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    from interpret.core.figures import new_figure

    sites = list(result.sites if sites is None else sites)
    for site in sites:
        if site not in result.sites:
            raise ValueError(f"No site {site!r}; this result has {', '.join(result.sites)}.")
    norm = result.normalize if normalize is None else normalize
    with_examples = show_examples and all(c.examples.numel() for c in result.curves)
    ncols = len(sites) + 1 + int(with_examples)
    nrows = len(result.curves)
    if fig is None:
        fig = new_figure(figsize=(3.2 * ncols, 2.6 * nrows), layout="constrained")
    else:
        fig.clear()
    axes = fig.subplots(nrows, ncols, squeeze=False)
    colors = matplotlib.colormaps["tab10"]
    letters = "abcdefghijklmnopqrstuvwxyz"
    for r, curves in enumerate(result.curves):
        col = 0
        x = curves.params.numpy()
        xlabel = f"{curves.name} ({curves.unit})" if curves.unit else curves.name
        if with_examples:
            ax = axes[r, 0]
            ax.imshow(_montage(curves, to_image).numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            shown = ", ".join(f"{v:g}" for v in curves.example_params.tolist())
            ax.set_title(f"({letters[r % 26]}) {curves.name}", fontsize=9)
            ax.set_xlabel(f"{curves.unit or 'param'}: {shown}", fontsize=8)
            col = 1
        for site in sites:
            ax = axes[r, col]
            values = result.distance(r, site, norm)
            for i in range(values.shape[0]):
                ax.plot(x, values[i].numpy(), color=colors(i % 10), lw=1.2)
            label = "distance" if norm == "none" else f"distance / {norm}"
            kind = "equivariance " if result.compare == "equivariance" else ""
            ax.set_title(f"{site}: {kind}{label}", fontsize=9)
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_ylim(bottom=0)
            col += 1
        ax = axes[r, col]
        for i in range(curves.true_prob.shape[0]):
            ax.plot(
                x,
                curves.true_prob[i].numpy(),
                color=colors(i % 10),
                lw=1.2,
                label=result.image_names[i],
            )
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"P(true label) [{result.label_source}]", fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        if r == 0:
            ax.legend(fontsize=7, loc="best")
    return fig
