"""Figures of embeddings: class scatter, thumbnail maps, a unit's patches, neighbours.

Every function takes results (and optionally an ``ax``/``fig``), draws only what the
results hold, and returns the matplotlib Figure; matplotlib is imported inside.
Thumbnails come from the result's ``thumbnails`` (crops of the model input) or, when it
has none, from ``images``: the dataset that was scanned (its items' first element is the
image tensor). ``inverse`` maps model inputs back to ``[0, 1]`` pixels (for example
``interpret.data.EFFICIENTNET_LITE0.inverse``); without it the thumbnails drawn together
are rescaled by their common minimum and maximum.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from interpret.embeddings.embedding import Embedding
from interpret.embeddings.images import ImageEmbeddingsResult
from interpret.embeddings.neighbors import Neighbors
from interpret.embeddings.patches import PatchEmbeddingsResult
from interpret.embeddings.pca import PCAResult

__all__ = ["plot_scatter", "plot_thumbnail_map", "plot_unit_patches", "plot_neighbors"]

Source = PatchEmbeddingsResult | ImageEmbeddingsResult
Inverse = Callable[[Tensor], Tensor] | None


def _figure(ax: Any = None, fig: Any = None, size: tuple[float, float] = (7, 7)):
    from interpret.core.figures import new_figure

    if ax is not None:
        return ax.figure, ax
    if fig is None:
        fig = new_figure(figsize=size)
    return fig, fig.add_subplot(1, 1, 1)


def _fetch(source: Source, rows: Sequence[int], images: Any, size: int) -> Tensor:
    """Thumbnails ``(len(rows), C, s, s)`` from the result, else from the dataset."""
    if source.thumbnails is not None:
        return source.thumbnails[torch.as_tensor(list(rows), dtype=torch.long)].float()
    if images is None:
        raise ValueError(
            "The result holds no thumbnails: pass images=<the dataset that was scanned>, or "
            "collect with thumbnail_size set (and, for patches, a model or field)."
        )
    out = []
    for row in rows:
        item = images[int(source.image_index[row])]
        image = item[0] if isinstance(item, (tuple, list)) else item
        image = torch.as_tensor(image).float()
        if isinstance(source, PatchEmbeddingsResult):
            if source.boxes is None:
                raise ValueError("The patches have no boxes; collect them with model= or field=.")
            top, left, bottom, right = (int(v) for v in source.boxes[row])
            image = image[:, top:bottom, left:right]
        out.append(F.interpolate(image[None], (size, size), mode="bilinear", antialias=True)[0])
    return torch.stack(out)


def _to_rgb(thumbs: Tensor, inverse: Inverse) -> np.ndarray:
    """``(M, C, s, s)`` model-space thumbnails -> ``(M, s, s, 3)`` floats in [0, 1]."""
    if inverse is not None:
        x = torch.stack([inverse(t) for t in thumbs]).float()
    else:
        lo, hi = thumbs.min(), thumbs.max()
        x = (thumbs - lo) / (hi - lo) if hi > lo else torch.zeros_like(thumbs)
    x = x.clamp(0, 1)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x[:, :3].permute(0, 2, 3, 1).numpy()


def _labels(embedding: Embedding, labels: Any) -> np.ndarray | None:
    if labels is None:
        labels = embedding.labels
    elif hasattr(labels, "labels"):
        labels = labels.labels
    return None if labels is None else np.asarray(torch.as_tensor(labels).long())


def plot_scatter(
    embedding: Embedding,
    labels: Any = None,
    *,
    class_names: Sequence[str] | None = None,
    ax: Any = None,
    point_size: float | None = None,
    title: str | None = None,
):
    """Scatter of an embedding, coloured by class (``labels`` or the embedding's own).

    ``class_names[label]`` names the legend entries; more than 20 classes get a colour
    bar instead of a legend.
    """
    fig, ax = _figure(ax)
    xy = embedding.coordinates.numpy()
    y = _labels(embedding, labels)
    size = point_size or max(1.0, min(20.0, 4000.0 / max(len(xy), 1)))
    if y is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=size, c="0.3", linewidths=0)
    else:
        classes = np.unique(y)
        if len(classes) <= 20:
            import matplotlib

            cmap = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"]
            for i, c in enumerate(classes):
                name = (
                    class_names[c]
                    if class_names is not None and 0 <= c < len(class_names)
                    else str(c)
                )
                pts = xy[y == c]
                ax.scatter(pts[:, 0], pts[:, 1], s=size, color=cmap(i), label=name, linewidths=0)
            ax.legend(markerscale=max(1.0, 20 / size) ** 0.5, fontsize=8, loc="best", frameon=False)
        else:
            sc = ax.scatter(xy[:, 0], xy[:, 1], s=size, c=y, cmap="viridis", linewidths=0)
            fig.colorbar(sc, ax=ax, label="label")
    ax.set_title(title or f"{embedding.method} of {len(xy)} points")
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def _grid_pick(xy: np.ndarray, cells: int) -> list[tuple[int, int, int]]:
    """For each grid cell holding points, the point nearest its centre: (row, col, point)."""
    lo, hi = xy.min(0), xy.max(0)
    unit = (xy - lo) / np.where(hi > lo, hi - lo, 1.0) * (cells - 1e-9)
    cell = unit.astype(int)
    dist = ((unit - cell - 0.5) ** 2).sum(1)
    best: dict[tuple[int, int], tuple[float, int]] = {}
    for i, (c, d) in enumerate(zip(map(tuple, cell), dist)):
        if c not in best or d < best[c][0]:
            best[c] = (float(d), i)
    return [(int(c[1]), int(c[0]), i) for c, (_, i) in sorted(best.items())]


def plot_thumbnail_map(
    embedding: Embedding,
    source: Source,
    *,
    cells: int = 24,
    images: Any = None,
    inverse: Inverse = None,
    ax: Any = None,
    thumbnail_size: int = 32,
    title: str | None = None,
):
    """The patches or images drawn at their embedded positions (a t-SNE image map).

    The map's bounding box is cut into ``cells x cells`` squares and each occupied square
    shows the point nearest its centre, so thumbnails never overlap and dense regions
    show what is typical there.
    """
    if len(embedding) != len(source):
        raise ValueError(f"The embedding has {len(embedding)} points, the source {len(source)}.")
    fig, ax = _figure(ax, size=(9, 9))
    picks = _grid_pick(embedding.coordinates.numpy(), cells)
    rgb = _to_rgb(_fetch(source, [p[2] for p in picks], images, thumbnail_size), inverse)
    gap = 0.04  # a thin margin keeps neighbouring thumbnails apart
    for (row, col, _), img in zip(picks, rgb):
        extent = (col + gap, col + 1 - gap, row + gap, row + 1 - gap)
        ax.imshow(img, extent=extent, interpolation="nearest")
    ax.set_xlim(0, cells)
    ax.set_ylim(0, cells)
    ax.set_aspect("equal")
    ax.axis("off")
    what = "patches" if isinstance(source, PatchEmbeddingsResult) else "images"
    ax.set_title(title or f"{embedding.method} map of {len(source)} {what} ({source.site})")
    return fig


def plot_unit_patches(
    patches: PatchEmbeddingsResult,
    projection: PCAResult | Embedding,
    *,
    top: int = 16,
    shown: int = 120,
    images: Any = None,
    inverse: Inverse = None,
    fig: Any = None,
    thumbnail_size: int = 32,
):
    """A unit's highest-scoring patches beside the 2-D projection of their neighbourhoods.

    Left: the ``top`` patches ranked by the unit's activation (``sampling="top"``),
    with scores. Right: up to ``shown`` patches drawn at their PCA (or t-SNE) positions,
    where variation such as pose shows as directions.
    """
    from interpret.core.figures import new_figure

    coords = projection.coordinates
    if coords is None or len(coords) != len(patches):
        raise ValueError("The projection must be of these patches (e.g. pca(patches, 2)).")
    fig = fig or new_figure(figsize=(13, 6.2))
    cols = int(np.ceil(np.sqrt(min(top, len(patches)))))
    grid = fig.add_gridspec(cols, 2 * cols, wspace=0.08, hspace=0.25)
    order = torch.sort(patches.scores, descending=True, stable=True).indices
    best = order[: min(top, len(patches))].tolist()
    rgb = _to_rgb(_fetch(patches, best, images, thumbnail_size), inverse)
    for i, (row, img) in enumerate(zip(best, rgb)):
        a = fig.add_subplot(grid[i // cols, i % cols])
        a.imshow(img)
        a.set_title(f"{float(patches.scores[row]):.2f}", fontsize=7)
        a.axis("off")
    ax = fig.add_subplot(grid[:, cols:])
    xy = coords[:, :2].numpy()
    ax.scatter(xy[:, 0], xy[:, 1], s=4, c="0.6", linewidths=0)
    pick = order[: min(shown, len(patches))].tolist()
    thumbs = _to_rgb(_fetch(patches, pick, images, thumbnail_size), inverse)
    span = max(float(np.ptp(xy[:, 0])), float(np.ptp(xy[:, 1])), 1e-9) * 0.035
    for row, img in zip(pick, thumbs):
        x, y = xy[row]
        ax.imshow(img, extent=(x - span, x + span, y - span, y + span), zorder=2)
    ax.set_xlim(xy[:, 0].min() - 2 * span, xy[:, 0].max() + 2 * span)
    ax.set_ylim(xy[:, 1].min() - 2 * span, xy[:, 1].max() + 2 * span)
    ax.set_aspect("auto")
    name = "PCA" if isinstance(projection, PCAResult) else projection.method
    ax.set_title(f"{name} of the {patches.neighbourhood}x{patches.neighbourhood} neighbourhoods")
    unit = f"unit {patches.unit}" if patches.unit is not None else "patches"
    fig.suptitle(f"{patches.site}, {unit}: top {len(best)} patches (left)")
    return fig


def plot_neighbors(
    neighbors: Neighbors,
    source: Source,
    *,
    query: int = 0,
    images: Any = None,
    inverse: Inverse = None,
    columns: int = 5,
    class_names: Sequence[str] | None = None,
    fig: Any = None,
    thumbnail_size: int = 64,
):
    """The ``query``-th query's nearest images (or patches), each titled ``rank: distance``.

    With ``Neighbors.query_rows`` set and the query itself found, it is rank 1 at distance
    0, as in the classic "20 most similar images" figures.
    """
    from interpret.core.figures import new_figure

    if not 0 <= query < neighbors.indices.shape[0]:
        raise ValueError(f"query must be in [0, {neighbors.indices.shape[0]}).")
    rows = neighbors.indices[query].tolist()
    dists = neighbors.distances[query].tolist()
    k = len(rows)
    extra = 1 if neighbors.exclude_self and neighbors.query_rows is not None else 0
    shown = ([int(neighbors.query_rows[query])] if extra else []) + rows
    n_rows = int(np.ceil(len(shown) / columns))
    fig = fig or new_figure(figsize=(2.0 * columns, 2.25 * n_rows))
    rgb = _to_rgb(_fetch(source, shown, images, thumbnail_size), inverse)
    labels = source.labels
    for i, (row, img) in enumerate(zip(shown, rgb)):
        a = fig.add_subplot(n_rows, columns, i + 1)
        a.imshow(img)
        text = "query" if i < extra else f"{i + 1 - extra}: {dists[i - extra]:.4g}"
        if labels is not None and class_names is not None:
            label = int(labels[row])
            if 0 <= label < len(class_names):
                text += f"\n{class_names[label]}"
        a.set_title(text, fontsize=8)
        a.axis("off")
    fig.suptitle(f"{k} nearest by {neighbors.metric} distance ({source.site}, {neighbors.method})")
    return fig
