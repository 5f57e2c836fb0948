"""Projections of the top-k units of a scan, with their image patches (Fig. 2).

Zeiler & Fergus (2013), Fig. 2: "for layers 2-5 we show the top 9 activations in a
random subset of feature maps across the validation data, projected down to pixel space
using our deconvolutional network approach ... For each feature map we also show the
corresponding image patches." :func:`project_top` projects exactly the units a
:class:`~interpret.deconvnet.top.TopActivations` scan kept, and crops each projection and
its patch to the unit's receptive field (exact for chain CNNs; found from the
projection's support otherwise).

On deep units of networks with batch norm and many rectifiers (EfficientNet-Lite0 past
``blocks.3``) deconvnet projections become low-frequency blobs centred on the unit that
change little from unit to unit, as Mahendran & Vedaldi (2016, "Salient deconvolutional
networks") found; the middle blocks show more structure. Guided backpropagation
(``rule="guided"``) adds the forward ReLU mask and brings the image back; every result
carries the :func:`~interpret.deconvnet.specificity.image_specificity` of its units, which
says how much each projection belongs to its own image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from interpret.core.frames import column, grid_keys, make_frame, name_column
from interpret.core.naming import renamed
from interpret.core.results import Result
from interpret.deconvnet.engine import compute_projections
from interpret.deconvnet.gradient import RELU_FAMILY, FunctionalPolicy
from interpret.deconvnet.patches import crop_windows, receptive_windows, support_windows
from interpret.deconvnet.plan import Route, Rule, plan_projection
from interpret.deconvnet.specificity import image_specificity
from interpret.deconvnet.top import TopActivationsResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TopProjectionsResult", "project_top"]


@dataclass(frozen=True)
class TopProjectionsResult(Result):
    """Projections of the top-k units of chosen channels, with their image patches.

    Shapes use ``n`` channels, ``k`` slots, ``C`` input channels and ``(ph, pw)`` the
    window: the exact receptive field for chain CNNs (``window="receptive"``), else the
    largest bounding box of the projections' support (``window="support"``) placed
    around each unit's support.

    Attributes
    ----------
    channels:
        ``(n,)`` int64 channels shown.
    values, image_index, y, x:
        ``(n, k)`` from the :class:`TopActivationsResult` (dataset index, ``-1`` for an
        unfilled slot; map location). ``index`` is a deprecated alias of ``image_index``.
    boxes:
        ``(n, k, 4)`` int64 windows ``(top, left, bottom, right)`` in input pixels,
        half-open, *not* clipped (they may extend past the image).
    projections, patches:
        ``(n, k, C, ph, pw)`` the deconvnet projections and the input images cropped to
        the windows (raw model-input values; zero outside the image and in unfilled slots).
    inside:
        ``(n, k, ph, pw)`` bool: window pixels that lie inside the image.
    site, route, window, rectifiers, functional_rectifiers, input_size:
        How the projections were made; ``input_size`` is ``(H, W)`` of the images.
    specificity:
        ``(n,)`` float64 image specificity per channel
        (:func:`~interpret.deconvnet.specificity.image_specificity`: cosine similarity
        of each projection with its own centred patch minus the mean with the other
        patches; near 0 = the same picture whatever the image; NaN with fewer than two
        filled slots).
    rule:
        ``"deconvnet"`` or ``"guided"`` (guided backpropagation).
    """

    channels: Tensor
    values: Tensor
    image_index: Tensor
    y: Tensor
    x: Tensor
    boxes: Tensor
    projections: Tensor
    patches: Tensor
    inside: Tensor
    site: str
    route: str
    window: str
    rectifiers: tuple[str, ...]
    functional_rectifiers: int
    input_size: tuple[int, int]
    specificity: Tensor
    rule: str

    renamed_fields: ClassVar[dict[str, str]] = {"index": "image_index"}
    index = renamed("index", "image_index")

    def to_frame(self, image_names: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per filled slot: ``site``, ``channel``, ``rank``, ``value``,
        ``image_index`` (``image_name`` from ``image_names``, by dataset index), ``y``, ``x``
        and the window ``top``, ``left``, ``bottom``, ``right`` in input pixels. The images
        stay in ``projections[slot]`` / ``patches[slot]`` (``slot`` = ``(channel_row, rank)``)."""
        n, k = self.image_index.shape
        keys = grid_keys((n, k), ("channel_row", "rank"))
        ids = column(self.image_index).astype(np.int64)
        columns: dict[str, Any] = {
            "site": self.site,
            "channel_row": keys["channel_row"],
            "channel": column(self.channels).astype(np.int64)[keys["channel_row"]],
            "rank": keys["rank"],
            "value": column(self.values),
            "image_index": ids,
            "image_name": name_column(ids, image_names),
            "y": column(self.y),
            "x": column(self.x),
        }
        for j, side in enumerate(("top", "left", "bottom", "right")):
            columns[side] = column(self.boxes[..., j])
        return make_frame(columns, n * k)[ids >= 0].reset_index(drop=True)


def _load_image(data: Dataset, i: int) -> Tensor:
    item = data[i]
    if isinstance(item, Mapping):
        item = next(item[k] for k in ("image", "input", "inputs", "x") if k in item)
    elif isinstance(item, (tuple, list)):
        item = item[0]
    if not isinstance(item, Tensor):
        raise TypeError(f"Dataset item {i} is a {type(item).__name__}, not an image tensor.")
    return item


def project_top(
    model: nn.Module,
    data: Dataset,
    top: TopActivationsResult,
    *,
    channels: Sequence[int] | None = None,
    route: Route = "auto",
    rule: Rule = "deconvnet",
    rectifiers: tuple[type[nn.Module], ...] = RELU_FAMILY,
    functional: FunctionalPolicy = "raise",
    batch_size: int = 64,
    check: bool = True,
    support_mass: float = 0.95,
    max_bytes: int = 2**31,
) -> TopProjectionsResult:
    """Project the top-k units of chosen channels and crop them with their patches.

    Parameters
    ----------
    model:
        The model that was scanned (same weights).
    data:
        The Dataset that was scanned (indexable in the same order; not a DataLoader).
    top:
        From ``scan(model, data, [TopActivations(site, k)])``.
    channels:
        Channels to show (default all). The paper shows a random subset; choose one
        with a ``torch.Generator`` if you want that.
    route, rule, rectifiers, functional, batch_size:
        As for :func:`interpret.deconvnet.project` (``rule="guided"`` for guided
        backpropagation). Each unit is seeded with its own activation.
    check:
        Verify that each re-computed activation equals the scanned value (catches a
        changed model, a shuffled loader or random augmentation).
    support_mass:
        Graphs without an exact receptive field (gradient route): each projection's box
        holds this fraction of its magnitude (trimming the rest equally from both ends of
        each axis); ``1`` keeps every non-zero pixel, which on deep layers is nearly the
        whole image. All windows take the size of the largest box.
    max_bytes:
        Refuse (``ValueError``) results larger than this; pick fewer channels.

    Returns
    -------
    TopProjectionsResult
    """
    if isinstance(data, DataLoader):
        raise TypeError("project_top needs the Dataset itself (loader.dataset), not a DataLoader.")
    if not isinstance(top, TopActivationsResult):
        raise TypeError("top must be the TopActivationsResult of a scan.")
    if not 0.0 < support_mass <= 1.0:
        raise ValueError(f"support_mass must lie in (0, 1], got {support_mass}.")
    n_channels = top.values.shape[0]
    chans = torch.arange(n_channels) if channels is None else torch.as_tensor(list(channels))
    chans = chans.long().reshape(-1)
    if chans.numel() == 0 or chans.min() < 0 or chans.max() >= n_channels:
        raise ValueError(f"channels must be a non-empty list of indices in [0, {n_channels}).")
    values, index = top.values[chans], top.image_index[chans]
    ys, xs = top.y[chans], top.x[chans]
    filled = index >= 0
    if not bool(filled.any()):
        raise ValueError("The top-k result holds no units; was the dataset empty?")
    images = torch.unique(index[filled])
    first = _load_image(data, int(images[0]))
    stack = torch.stack([_load_image(data, int(i)) for i in images.tolist()]).to(first.dtype)
    local = torch.searchsorted(images, index.clamp_min(0))
    slot = filled.nonzero()  # (m, 2): (channel row, slot)
    units = torch.stack([local[filled], chans[slot[:, 0]], ys[filled], xs[filled]], 1)
    plan = plan_projection(model, top.site, route, rule)  # the one trace of the model
    n, k = index.shape
    if plan.route == "reverse":  # exact receptive fields; the walk computes only those
        windows = receptive_windows(model, top.site, units[:, 2], units[:, 3], plan.layers)
        kind = "receptive"
        _check_size(windows, n, k, stack, max_bytes)
        proj_crops, info, functional_count = compute_projections(
            model, stack, plan, units, "units", rectifiers, functional, "activation",
            batch_size, boxes=windows,
        )  # fmt: skip
    else:
        full, info, functional_count = compute_projections(
            model, stack, plan, units, "units", rectifiers, functional, "activation",
            batch_size,
        )  # fmt: skip
        windows, kind = support_windows(full, support_mass), "support"
        _check_size(windows, n, k, stack, max_bytes)
        proj_crops, _ = crop_windows(full, windows)
    if check:
        _check_values(info[:, 4], values[filled], top.site)
    height, width = stack.shape[-2:]
    win_h, win_w = int(windows[0, 2] - windows[0, 0]), int(windows[0, 3] - windows[0, 1])
    patch_crops, inside = crop_windows(stack[units[:, 0]], windows)
    shape = (n, k, stack.shape[1], win_h, win_w)
    projections = torch.zeros(shape, dtype=proj_crops.dtype)
    patches = torch.zeros(shape, dtype=patch_crops.dtype)
    inside_all = torch.zeros((n, k, win_h, win_w), dtype=torch.bool)
    boxes = torch.zeros((n, k, 4), dtype=torch.int64)
    projections[filled], patches[filled] = proj_crops, patch_crops
    inside_all[filled], boxes[filled] = inside, windows
    return TopProjectionsResult(
        channels=chans,
        values=values,
        image_index=index,
        y=ys,
        x=xs,
        boxes=boxes,
        projections=projections,
        patches=patches,
        inside=inside_all,
        site=top.site,
        route=plan.route,
        window=kind,
        rectifiers=tuple(r.__name__ for r in rectifiers),
        functional_rectifiers=functional_count,
        input_size=(int(height), int(width)),
        specificity=image_specificity(projections, patches, inside_all, filled),
        rule=plan.rule,
    )


def _check_size(windows: Tensor, n: int, k: int, stack: Tensor, max_bytes: int) -> None:
    win_h, win_w = int(windows[0, 2] - windows[0, 0]), int(windows[0, 3] - windows[0, 1])
    need = 2 * n * k * stack.shape[1] * win_h * win_w * stack.element_size()
    if need > max_bytes:
        raise ValueError(
            f"The crops would take {need / 2**30:.1f} GiB; pass fewer channels (or raise "
            "max_bytes)."
        )


def _check_values(recomputed: Tensor, scanned: Tensor, site: str) -> None:
    recomputed, scanned = recomputed.double(), scanned.double()
    scale = scanned.abs().max().clamp_min(1e-12)
    err = (recomputed - scanned).abs().max()
    if err > 1e-3 * scale + 1e-5:
        raise ValueError(
            f"Re-computed activations at {site!r} differ from the scanned ones (max error "
            f"{float(err):.3g}); the model, the dataset order or a random augmentation "
            "changed since the scan. Scan again, or pass check=False."
        )
