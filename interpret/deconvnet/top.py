"""Top-k activations per channel over a dataset, and their projections (Fig. 2).

Zeiler & Fergus (2013), Fig. 2: "for layers 2-5 we show the top 9 activations in a
random subset of feature maps across the validation data, projected down to pixel space
using our deconvolutional network approach ... For each feature map we also show the
corresponding image patches."

:class:`TopActivations` is an analyzer for :func:`interpret.scan`: per channel it keeps
the ``k`` strongest activations (each image at most once, at its strongest location, as
in the paper) with their dataset index and location, in memory that does not grow with
the dataset. :func:`project_top` then projects exactly those units and crops each
projection and its image patch to the unit's receptive field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from interpret.core.accumulators import TopK
from interpret.core.analyzer import Batch
from interpret.core.results import Result
from interpret.deconvnet.gradient import RELU_FAMILY, FunctionalPolicy
from interpret.deconvnet.patches import crop_windows, receptive_windows, support_windows
from interpret.deconvnet.project import Route, _compute, choose_route

__all__ = ["TopActivations", "TopActivationsResult", "TopProjectionsResult", "project_top"]


@dataclass(frozen=True)
class TopActivationsResult(Result):
    """The ``k`` strongest activations per channel of one site over a dataset.

    Attributes
    ----------
    values:
        ``(C, k)`` activations, descending; ``-inf`` in slots never filled (fewer than
        ``k`` images).
    index:
        ``(C, k)`` int64 dataset index of each (``-1`` when unfilled).
    y, x:
        ``(C, k)`` int64 location in the site's map.
    map_size:
        ``(h, w)`` of the site's maps (``(1, 1)`` for ``(N, C)`` features).
    site, k, distinct_images:
        The analyzer's parameters. Ties go to the lower dataset index, then the lower
        location, so a sharded scan merges to exactly the single-pass result.
    images_seen:
        Number of images scanned.
    """

    values: Tensor
    index: Tensor
    y: Tensor
    x: Tensor
    map_size: tuple[int, int]
    site: str
    k: int
    distinct_images: bool
    images_seen: int


class TopActivations:
    """Analyzer: the ``k`` strongest activations per channel of ``site``.

    Parameters
    ----------
    site:
        Qualified module name (``"features.6"``); its output is ``(N, C, h, w)`` or
        ``(N, C)``.
    k:
        How many per channel (the paper shows 9).
    distinct_images:
        Each image contributes at most its strongest location per channel (the paper's
        choice); ``False`` ranks every location.

    Example
    -------
    >>> import torch
    >>> from interpret import scan
    >>> from interpret.testing import chain_cnn
    >>> data = torch.utils.data.TensorDataset(torch.randn(20, 3, 23, 31))
    >>> (top,) = scan(chain_cnn(), data, [TopActivations("features.5", k=3)], progress=False)
    >>> tuple(top.values.shape)
    (8, 3)
    """

    def __init__(self, site: str, k: int = 9, distinct_images: bool = True) -> None:
        if not isinstance(site, str) or not site:
            raise TypeError("site must be a module name such as 'features.6'.")
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}.")
        self.site = site
        self.sites = (site,)
        self.k = k
        self.distinct_images = bool(distinct_images)
        self.map_size: tuple[int, int] | None = None
        self.images_seen = 0
        self._top: TopK | None = None
        self._pending: list[tuple[Tensor, Tensor, Tensor]] = []
        self._pending_width = 0
        self._threshold: tuple[Tensor, Tensor] | None = None

    def update(self, activations: Mapping[str, Tensor], batch: Batch) -> None:
        acts = activations[self.site]
        if acts.ndim == 2:
            acts = acts[:, :, None, None]
        if acts.ndim != 4:
            raise ValueError(
                f"TopActivations needs (N, C, h, w) or (N, C) activations at {self.site!r}, "
                f"got {tuple(acts.shape)}."
            )
        size = (int(acts.shape[2]), int(acts.shape[3]))
        if self.map_size is None:
            self.map_size = size
            self._top = TopK(int(acts.shape[1]), self.k, self.distinct_images)
        elif size != self.map_size:
            raise ValueError(
                f"The maps at {self.site!r} changed size from {self.map_size} to {size}; "
                "locations would not be comparable. Resize the images to one size."
            )
        top = self._top
        assert top is not None
        self.images_seen += int(acts.shape[0])
        # Only activations beating their channel's current k-th entry can enter. A cheap
        # max over the maps picks them out; those few are kept aside and ranked together
        # now and then, so after the first batches the scan costs little more than the
        # forward pass. (The k-th entry used to filter may lag: more candidates, same result.)
        flat = acts.detach().flatten(2)
        best = flat.amax(-1)  # (N, C)
        if self._threshold is None or self._threshold[0].device != best.device:
            kth_index = top.index[:, -1]
            kth_index = torch.where(kth_index < 0, torch.iinfo(torch.int64).max, kth_index)
            self._threshold = (top.values[:, -1].to(best.device), kth_index.to(best.device))
        kth, kth_index = self._threshold
        index = batch.index.to(best.device)
        # a tie with the k-th value enters only with a lower dataset index (TopK's order);
        # this keeps dead (all-zero) channels from qualifying every image forever
        mask = (best > kth) | ((best == kth) & (index.view(-1, 1) < kth_index))
        if not self.distinct_images:
            keep = mask.any(1)
            if bool(keep.any()):
                top.update(acts[keep], index[keep])
                self._threshold = None
            return
        pairs = mask.nonzero()  # (m, 2): (image row, channel)
        count = len(pairs)
        if count == 0:
            return
        channels = flat.shape[1]
        if count <= 8 * channels:  # the usual case: one column per candidate
            rows, chans = pairs[:, 0], pairs[:, 1]
            columns = torch.arange(count, device=flat.device)
            values = torch.full((channels, count), float("-inf"), device=flat.device)
            images = torch.full((channels, count), -1, dtype=torch.long, device=flat.device)
            location = torch.zeros((channels, count), dtype=torch.long, device=flat.device)
            values[chans, columns] = best[rows, chans].float()
            images[chans, columns] = index[rows]
            location[chans, columns] = flat[rows, chans].argmax(-1)  # first maximum
        else:  # early batches: most images qualify; per channel, padded to the widest
            count = int(mask.sum(0).max())
            flags = mask.T.to(torch.uint8)
            order = torch.sort(flags, dim=1, descending=True, stable=True).indices
            order = order[:, :count]  # (C, count), dataset order
            valid = mask.T.gather(1, order)
            location = flat.argmax(-1).T.gather(1, order)  # first maximum
            values = torch.where(valid, best.T.gather(1, order), float("-inf"))
            images = torch.where(valid, index[order], -1)
        self._pending.append((values.float().cpu(), images.cpu(), location.cpu()))
        self._pending_width += count
        if self._pending_width >= max(256, 4 * self.k):
            self._flush()

    def _flush(self) -> None:
        """Rank the kept-aside candidates into the top-k."""
        if self._pending and self._top is not None:
            values, images, location = (torch.cat(parts, 1) for parts in zip(*self._pending))
            self._top._absorb(values, images, location)
        self._pending, self._pending_width, self._threshold = [], 0, None

    def __getstate__(self) -> dict[str, Any]:
        self._flush()  # pickled states (checkpoints, other ranks) hold plain top-k tensors
        return dict(self.__dict__)

    def merge(self, other: Any) -> None:
        if not isinstance(other, TopActivations):
            raise TypeError(f"Cannot merge a {type(other).__name__} into TopActivations.")
        if (other.site, other.k, other.distinct_images) != (
            self.site,
            self.k,
            self.distinct_images,
        ):
            raise ValueError("Cannot merge TopActivations with different site, k or mode.")
        self._flush()
        other._flush()
        if other._top is None:
            return
        if self._top is None:
            self.map_size, self._top = (
                other.map_size,
                TopK(other._top.channels, self.k, self.distinct_images),
            )
        elif other.map_size != self.map_size:
            raise ValueError(f"Map sizes differ: {self.map_size} vs {other.map_size}.")
        self._top.merge(other._top)
        self.images_seen += other.images_seen

    def result(self) -> TopActivationsResult:
        self._flush()
        if self._top is None or self.map_size is None:
            raise ValueError("TopActivations has seen no images; run scan first.")
        width = self.map_size[1]
        loc = self._top.location
        return TopActivationsResult(
            values=self._top.values.clone(),
            index=self._top.index.clone(),
            y=loc // width,
            x=loc % width,
            map_size=self.map_size,
            site=self.site,
            k=self.k,
            distinct_images=self.distinct_images,
            images_seen=self.images_seen,
        )


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
    values, index, y, x:
        ``(n, k)`` from the :class:`TopActivationsResult` (dataset index; map location).
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
    """

    channels: Tensor
    values: Tensor
    index: Tensor
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
    route, rectifiers, functional, batch_size:
        As for :func:`interpret.deconvnet.project`. Each unit is seeded with its own
        activation.
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
    values, index = top.values[chans], top.index[chans]
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
    chosen = choose_route(model, top.site, route)
    n, k = index.shape
    if chosen == "reverse":  # exact receptive fields; the walk computes only those
        windows, kind = receptive_windows(model, top.site, units[:, 2], units[:, 3]), "receptive"
        _check_size(windows, n, k, stack, max_bytes)
        proj_crops, info, functional_count = _compute(
            model, stack, top.site, units, "units", chosen, rectifiers, functional,
            "activation", batch_size, boxes=windows,
        )  # fmt: skip
    else:
        full, info, functional_count = _compute(
            model, stack, top.site, units, "units", chosen, rectifiers, functional,
            "activation", batch_size,
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
        index=index,
        y=ys,
        x=xs,
        boxes=boxes,
        projections=projections,
        patches=patches,
        inside=inside_all,
        site=top.site,
        route=chosen,
        window=kind,
        rectifiers=tuple(r.__name__ for r in rectifiers),
        functional_rectifiers=functional_count,
        input_size=(int(height), int(width)),
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
