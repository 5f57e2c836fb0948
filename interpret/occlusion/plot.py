"""Figures: Zeiler & Fergus (2013) Fig. 7 (occlusion sensitivity), Fig. 8 and Table 1.

Every function takes a result (and the images it was computed on, for display), draws,
and returns the matplotlib Figure; matplotlib is imported inside the functions and
nothing is shown. Images are in the model's input space: pass ``to_display`` (for
example ``Preprocess.inverse``) to map one ``(C, H, W)`` image to RGB in ``[0, 1]``;
by default each image is min-max scaled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from interpret.occlusion.correspondence import CorrespondenceResult
from interpret.occlusion.result import OcclusionResult

__all__ = ["plot_sensitivity", "plot_correspondence", "plot_correspondence_images"]

Display = Callable[[Tensor], Tensor]


def _rgb(image: Tensor, to_display: Display | None) -> Any:
    image = image.detach().float().cpu()
    if to_display is not None:
        image = to_display(image)
    else:
        lo, hi = image.min(), image.max()
        image = (image - lo) / (hi - lo) if hi > lo else torch.zeros_like(image)
    image = image.clamp(0, 1)
    return image.permute(1, 2, 0).numpy() if image.shape[0] != 1 else image[0].numpy()


def _grid_extent(result: OcclusionResult) -> list[float]:
    """imshow extent placing grid cell (i, j) at the centre of its window."""
    (kh, kw), (sh, sw) = result.window, result.stride
    tops, lefts = result.tops.double(), result.lefts.double()
    return [
        float(lefts[0] + kw / 2 - sw / 2),
        float(lefts[-1] + kw / 2 + sw / 2),
        float(tops[-1] + kh / 2 + sh / 2),
        float(tops[0] + kh / 2 - sh / 2),
    ]


def _grid_panel(
    ax: Any, fig: Any, result: OcclusionResult, grid: Tensor, title: str, cmap: str
) -> None:
    h, w = result.image_size
    im = ax.imshow(grid.numpy(), extent=_grid_extent(result), cmap=cmap, interpolation="nearest")
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)


def plot_sensitivity(
    result: OcclusionResult,
    images: Tensor,
    index: int = 0,
    *,
    labels: Sequence[str] | None = None,
    projection: Tensor | Any | None = None,
    position: tuple[int, int] | None = None,
    to_display: Display | None = None,
    fig: Any = None,
) -> Any:
    """Fig. 7 for one image: (a) the image with the occluder, (b) total activation of the
    feature map, (c) its deconvnet projection, (d) target probability, (e) top label.

    Parameters
    ----------
    result:
        From :func:`occlusion_sensitivity`.
    images:
        The ``(N, C, H, W)`` images the result was computed on.
    index:
        Which image.
    labels:
        Class names (``interpret.models.imagenet_labels()``) for (d)'s title and (e)'s legend.
    projection:
        (c): a ``(C, H, W)``/``(N, C, H, W)`` tensor or a ``ProjectionResult`` (from
        :func:`interpret.occlusion.project_feature`); the panel says so when absent.
    position:
        Grid cell ``(i, j)`` of the occluder drawn in (a); default where (d) is lowest.
    """
    import matplotlib
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch, Rectangle

    from interpret.core.figures import new_figure

    fig = fig or new_figure(figsize=(16, 3.4))
    axes = fig.subplots(1, 5)
    name = (lambda k: labels[k]) if labels is not None else (lambda k: f"class {k}")
    prob = result.target_prob[index]
    if position is None:
        flat = int(prob.argmin())
        position = (flat // prob.shape[1], flat % prob.shape[1])
    top, left, bottom, right = result.boxes()[position].tolist()
    axes[0].imshow(_rgb(images[index], to_display))
    axes[0].add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, color="0.5"))
    axes[0].set_title(f"(a) occluder {result.window[0]}x{result.window[1]}", fontsize=9)
    if result.feature_total is not None and result.feature_channel is not None:
        chan = int(result.feature_channel[index])
        _grid_panel(axes[1], fig, result, result.feature_total[index].float(),
                    f"(b) {result.feature_site} map {chan}: total", "jet")  # fmt: skip
    else:
        axes[1].text(0.5, 0.5, "no feature site", ha="center", va="center")
        axes[1].set_title("(b)", fontsize=9)
    if projection is not None:
        proj = getattr(projection, "projections", projection)
        proj = proj[index] if proj.ndim == 4 else proj
        proj = proj.detach().double().cpu()
        lim = float(torch.quantile(proj.abs().flatten(), 0.995)) or 1.0  # contrast stretch
        axes[2].imshow(_rgb(proj / (2 * lim) + 0.5, lambda x: x))
        rule = getattr(projection, "rule", "deconvnet")
        drawn = "guided backpropagation" if rule == "guided" else "deconvnet projection"
        axes[2].set_title(f"(c) {drawn}", fontsize=9)
    else:
        axes[2].text(0.5, 0.5, "no projection given", ha="center", va="center")
        axes[2].set_title("(c)", fontsize=9)
    target = int(result.target[index])
    _grid_panel(axes[3], fig, result, prob, f"(d) p({name(target)})", "jet")
    top_label = result.top_label[index]
    present = torch.unique(top_label).tolist()
    codes = torch.searchsorted(torch.tensor(present), top_label)
    colours = matplotlib.colormaps["tab20"](range(len(present)))
    h, w = result.image_size
    axes[4].imshow(codes.numpy(), extent=_grid_extent(result), cmap=ListedColormap(colours),
                   vmin=-0.5, vmax=len(present) - 0.5, interpolation="nearest")  # fmt: skip
    axes[4].set_xlim(0, w)
    axes[4].set_ylim(h, 0)
    axes[4].set_title("(e) most probable label", fontsize=9)
    axes[4].legend(
        handles=[Patch(color=colours[i], label=name(k)) for i, k in enumerate(present)],
        fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0),
    )  # fmt: skip
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def plot_correspondence_images(
    result: CorrespondenceResult,
    images: Tensor,
    *,
    random_columns: int = 3,
    to_display: Display | None = None,
    fig: Any = None,
) -> Any:
    """Fig. 8: per image, the original, each part occluded, then random occlusions."""
    from matplotlib.patches import Rectangle

    from interpret.core.figures import new_figure

    n = len(images)
    columns = 1 + len(result.parts) + random_columns
    fig = fig or new_figure(figsize=(1.6 * columns, 1.6 * n))
    axes = fig.subplots(n, columns, squeeze=False)
    draws = [(p, d) for d in range(max(len(b) for b in result.random_boxes.values()))
             for p in result.parts if d < len(result.random_boxes[p])][:random_columns]  # fmt: skip
    for i in range(n):
        rgb = _rgb(images[i], to_display)
        boxes = [None] + [result.boxes[p][i] for p in result.parts]
        boxes += [result.random_boxes[p][d, i] for p, d in draws]
        titles = ["original", *result.parts, *[f"random ({p})" for p, _ in draws]]
        for j, box in enumerate(boxes):
            ax = axes[i, j]
            ax.imshow(rgb)
            if box is not None:
                top, left, bottom, right = box.tolist()
                ax.add_patch(
                    Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, color="0.5")
                )
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(titles[j], fontsize=8)
    return fig


def plot_correspondence(result: CorrespondenceResult, *, ax: Any = None) -> Any:
    """Table 1 as a plot: mean sign-change distance per part and site with its spread
    (filled markers), beside random occlusions of the same size (open markers)."""
    from interpret.core.figures import figure_of

    fig, ax = figure_of(ax, figsize=(1.8 + 1.4 * len(result.parts), 3.5))
    width = 0.8 / max(1, len(result.sites))
    for s, site in enumerate(result.sites):
        stats = [result.statistic(p, site) for p in result.parts]
        rand = [result.random_statistic(p, site) for p in result.parts]
        offset = (s - (len(result.sites) - 1) / 2) * width
        x = [i + offset for i in range(len(result.parts))]
        line = ax.errorbar([v - width / 5 for v in x], [m for m, _ in stats],
                           yerr=[e for _, e in stats], fmt="o", capsize=3,
                           label=f"{site}: part")  # fmt: skip
        ax.errorbar([v + width / 5 for v in x], [m for m, _, _ in rand],
                    yerr=[e for _, e, _ in rand], fmt="o", mfc="none", capsize=3,
                    color=line[0].get_color(), label=f"{site}: random")  # fmt: skip
    ax.set_xticks(range(len(result.parts)))
    ax.set_xticklabels(result.parts)
    ax.set_ylabel("mean sign-change distance")
    ax.set_title("Part correspondence (lower: more consistent)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig
