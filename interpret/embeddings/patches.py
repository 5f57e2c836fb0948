"""Local activation vectors as embeddings of image patches, with their provenance.

"Semantics are not manifested in individual neurons but in local retinotopic
neighbourhoods": the ``C``-vector of a conv site at one position (or the ``C x k x k``
vector of a ``k x k`` neighbourhood) describes the image patch under its receptive
field. :class:`PatchEmbeddings` samples such vectors during a :func:`interpret.scan`, in
bounded memory, and records for each the image, the position and the receptive-field box
in the input (Szegedy et al. 2014, "Intriguing properties"; Zeiler & Fergus 2014).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from interpret.core import Batch, Result, Site, uniform_keys
from interpret.core.frames import column, image_columns, make_frame
from interpret.core.receptive import ReceptiveField, receptive_field
from interpret.embeddings._select import BestRows, score_order
from interpret.embeddings.fields import (
    FieldGrid,
    _map_size,
    chain_fields,
    input_channels,
    site_fields,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PatchEmbeddings", "PatchEmbeddingsResult", "crop_fields"]

_SAMPLINGS = ("reservoir", "stratified", "top")
_MAX_SIDE = 1 << 12  # positions are packed into ids as image << 24 | y << 12 | x


@dataclass(frozen=True)
class PatchEmbeddingsResult(Result):
    """Sampled patch vectors of one site and where each came from.

    Attributes
    ----------
    vectors:
        ``(M, C * k * k)``: the site's activations over the ``k x k`` neighbourhood, in
        ``(channel, dy, dx)`` order (as ``F.unfold``), raw (no normalisation).
    image_index:
        ``(M,)`` int64 dataset index of the image.
    positions:
        ``(M, 2)`` int64 ``(y, x)`` of the neighbourhood's anchor in the site's map: it
        covers rows ``y - (k - 1) // 2`` to ``y + k // 2`` (the centre for odd ``k``).
    boxes:
        ``(M, 4)`` int64 ``(top, left, bottom, right)``, half-open input pixels: the
        receptive field of the neighbourhood clipped to the image (the pixels that can
        change the vector), or ``None`` when no field was given.
    labels:
        ``(M,)`` int64 labels of the images (``-1`` where the dataset has none), or None.
    scores:
        ``(M,)`` float64, what the sample was ranked by: the unit's activation for
        ``sampling="top"``; minus the random key for the reservoir samplings.
    thumbnails:
        ``(M, C_in, s, s)`` float16 crops of the model input over each unclipped field
        (zeros, the network's padding, outside the image), or ``None``.
    seen:
        Candidate positions offered (after the per-image cap); ``images_seen``: images.
    """

    vectors: Tensor
    image_index: Tensor
    positions: Tensor
    boxes: Tensor | None
    labels: Tensor | None
    scores: Tensor
    thumbnails: Tensor | None
    site: str
    neighbourhood: int
    sampling: str
    unit: int | None
    per_image: int | None
    max_patches: int
    seed: int
    channels: int
    map_size: tuple[int, int]
    input_size: tuple[int, int]
    seen: int
    images_seen: int
    field_method: str | None

    def __len__(self) -> int:
        return int(self.image_index.numel())

    def to_frame(
        self, image_names: Sequence[str] | None = None, class_names: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """One row per sampled patch (``row``: its row of ``vectors``): ``image_index``
        (``image_name``), ``y``, ``x`` (the anchor in the site's map), ``top``, ``left``,
        ``bottom``, ``right`` (its field, when known), ``class_index`` (``class_name``;
        ``-1``: unlabelled) and ``score``."""
        m = len(self)
        cols = {"row": np.arange(m), **image_columns(self.image_index, self.labels,
                image_names, class_names)}  # fmt: skip
        cols["y"], cols["x"] = column(self.positions[:, 0]), column(self.positions[:, 1])
        for j, side in enumerate(
            ("top", "left", "bottom", "right") if self.boxes is not None else ()
        ):
            cols[side] = column(self.boxes[:, j])  # type: ignore[index]
        cols["score"] = column(self.scores)
        return make_frame(cols, m)


def crop_fields(
    images: Tensor, image_rows: Tensor, boxes: Tensor, size: int, chunk: int = 256
) -> Tensor:
    """Crop equal-size boxes (may extend past the border: zero padded) and resize.

    Parameters
    ----------
    images:
        ``(N, C, H, W)``.
    image_rows:
        ``(M,)`` row of ``images`` for each box.
    boxes:
        ``(M, 4)`` unclipped ``(top, left, bottom, right)``, all of one height and width.

    Returns
    -------
    Tensor
        ``(M, C, size, size)`` float16 (bilinear, antialiased when shrinking).
    """
    m = boxes.shape[0]
    out = torch.empty(m, images.shape[1], size, size, dtype=torch.float16)
    if m == 0:
        return out
    h = int(boxes[0, 2] - boxes[0, 0])
    w = int(boxes[0, 3] - boxes[0, 1])
    pad_t = max(0, -int(boxes[:, 0].min()))
    pad_l = max(0, -int(boxes[:, 1].min()))
    pad_b = max(0, int(boxes[:, 2].max()) - images.shape[2])
    pad_r = max(0, int(boxes[:, 3].max()) - images.shape[3])
    padded = F.pad(images.float(), (pad_l, pad_r, pad_t, pad_b))
    where = list(
        zip(image_rows.tolist(), (boxes[:, 0] + pad_t).tolist(), (boxes[:, 1] + pad_l).tolist())
    )
    antialias = h > size or w > size
    for s in range(0, m, chunk):
        # equal-size slices (views), stacked: much cheaper than an element-wise gather
        crops = torch.stack(
            [padded[n, :, t : t + h, x : x + w] for n, t, x in where[s : s + chunk]]
        )
        crops = F.interpolate(crops, (size, size), mode="bilinear", antialias=antialias)
        out[s : s + chunk] = crops.to("cpu", torch.float16)
    return out


class PatchEmbeddings:
    """Sample local activation vectors of a conv site during a scan (an Analyzer).

    Parameters
    ----------
    site:
        A site with ``(N, C, H', W')`` activations (``H' * W' > 1``).
    neighbourhood:
        ``k``: each vector is the ``C x k x k`` block at a position, concatenated; only
        positions whose whole block lies in the map are used (no padding enters).
    max_patches:
        Vectors kept (memory ``max_patches * C * k * k`` values, plus thumbnails).
    sampling:
        ``"reservoir"``: uniform over all (image, position) pairs; ``"stratified"``:
        ``per_image`` positions drawn uniformly in each image (default 8), so large images
        and many-position maps do not dominate, then uniform over those; ``"top"``: the
        positions where channel ``unit`` is highest (ties to the lower image, then
        position), at most ``per_image`` per image (``1``: distinct images, Zeiler &
        Fergus). The sample depends only on the data and ``seed``: exact under sharding.
    unit:
        Channel ranked by ``sampling="top"``.
    model, input_size:
        To attach receptive-field boxes. A chain CNN gets its exact field for any input
        size (``input_size`` not needed); any other model gets gradient support measured
        once now for ``input_size`` (see :mod:`interpret.embeddings.fields`).
    field:
        Instead of ``model``: a :class:`~interpret.core.receptive.ReceptiveField` or a
        :class:`~interpret.embeddings.fields.FieldGrid`.
    thumbnail_size:
        Side of the stored input crops of each field (needs a field); ``None``: none.
    dtype:
        Storage dtype of the vectors (``torch.float16`` halves memory).
    seed:
        Seed of the reservoir keys.

    Example
    -------
    >>> import torch
    >>> from interpret import scan
    >>> from interpret.testing import chain_cnn
    >>> net = chain_cnn()
    >>> data = torch.utils.data.TensorDataset(torch.randn(6, 3, 32, 32))
    >>> pe = PatchEmbeddings("features.5", neighbourhood=3, max_patches=20, model=net)
    >>> res = scan(net, data, [pe], progress=False)[0]
    >>> tuple(res.vectors.shape), tuple(res.boxes.shape)
    ((20, 72), (20, 4))
    """

    def __init__(
        self,
        site: str,
        neighbourhood: int = 1,
        max_patches: int = 10_000,
        sampling: str = "reservoir",
        *,
        unit: int | None = None,
        per_image: int | None = None,
        model: nn.Module | None = None,
        input_size: tuple[int, int] | None = None,
        field: ReceptiveField | FieldGrid | None = None,
        thumbnail_size: int | None = 32,
        dtype: torch.dtype = torch.float32,
        seed: int = 0,
    ) -> None:
        if not isinstance(site, str):
            raise TypeError(f"site must be a site name (str), not {type(site).__name__}.")
        if not isinstance(neighbourhood, int) or neighbourhood < 1:
            raise ValueError(f"neighbourhood must be a positive int, got {neighbourhood!r}.")
        if not isinstance(max_patches, int) or max_patches < 1:
            raise ValueError(f"max_patches must be a positive int, got {max_patches!r}.")
        if sampling not in _SAMPLINGS:
            raise ValueError(f"sampling must be one of {_SAMPLINGS}, not {sampling!r}.")
        if sampling == "top" and unit is None:
            raise ValueError("sampling='top' ranks positions by one channel: pass unit=<index>.")
        if sampling != "top" and unit is not None:
            raise ValueError(f"unit={unit} is used only with sampling='top'.")
        if sampling == "reservoir" and per_image is not None:
            raise ValueError("per_image caps positions per image: use sampling='stratified'.")
        if sampling == "stratified" and per_image is None:
            per_image = 8
        if per_image is not None and (not isinstance(per_image, int) or per_image < 1):
            raise ValueError(f"per_image must be a positive int, got {per_image!r}.")
        if thumbnail_size is not None and thumbnail_size < 1:
            raise ValueError(f"thumbnail_size must be positive or None, got {thumbnail_size}.")
        self.sites = (site,)
        self.site = site
        self.neighbourhood = neighbourhood
        self.max_patches = max_patches
        self.sampling = sampling
        self.unit = unit
        self.per_image = per_image
        self.thumbnail_size = thumbnail_size
        self.dtype = dtype
        self.seed = seed
        if field is None and model is not None:
            field = self._field_for(model, site, input_size)
        if field is not None and not isinstance(field, (ReceptiveField, FieldGrid)):
            raise TypeError(f"field must be a ReceptiveField or FieldGrid, not {type(field)}.")
        self.field = field
        self._grids: dict[tuple[int, ...], FieldGrid] = {}
        self._kept = BestRows(max_patches)
        self.seen = 0
        self.images_seen = 0
        self.channels: int | None = None
        self.map_size: tuple[int, int] | None = None
        self.input_size: tuple[int, int] | None = None

    @staticmethod
    def _field_for(
        model: nn.Module, site: str, input_size: tuple[int, int] | None
    ) -> ReceptiveField | FieldGrid:
        if any(ch in site for ch in "*?["):
            raise ValueError(
                f"With model= the receptive fields are measured when PatchEmbeddings is "
                f"built, so give one concrete site, not the pattern {site!r}: "
                "interpret.expand_sites(model, pattern, example) lists its sites."
            )
        try:
            return receptive_field(model, Site.parse(site).module)
        except ValueError as err:
            if input_size is None:
                raise ValueError(
                    f"The model is not a chain CNN up to {site!r} ({err}); its receptive "
                    "fields are measured by gradient support for one input size: pass "
                    "input_size=(H, W), or model=None for no boxes."
                ) from err
        # fails early, with a clear message, for sites without spatial extent
        _map_size(model, site, tuple(input_size), input_channels(model))
        return site_fields(model, site, tuple(input_size), method="gradient")

    def _grid(self, input_hw: tuple[int, int], map_hw: tuple[int, int]) -> FieldGrid | None:
        if self.field is None:
            return None
        if isinstance(self.field, FieldGrid):
            if self.field.input_size != input_hw or self.field.map_size != map_hw:
                raise ValueError(
                    f"The field grid was measured for inputs {self.field.input_size} (map "
                    f"{self.field.map_size}) but the scan gives {input_hw} (map {map_hw}); "
                    "make the grid for this size or resize the images to one size."
                )
            return self.field
        key = (*input_hw, *map_hw)
        if key not in self._grids:
            self._grids[key] = chain_fields(self.field, map_hw, input_hw)
        return self._grids[key]

    def _check(self, act: Tensor) -> None:
        if act.ndim != 4 or act.shape[2] * act.shape[3] <= 1:
            raise ValueError(
                f"Site {self.site!r} gives activations of shape {tuple(act.shape)}: no spatial "
                "extent, so there are no patches. Pick a conv site with an (N, C, H, W) map "
                "larger than 1x1, or use ImageEmbeddings for one vector per image."
            )
        k = self.neighbourhood
        if act.shape[2] < k or act.shape[3] < k:
            raise ValueError(
                f"neighbourhood={k} does not fit the {act.shape[2]}x{act.shape[3]} map of "
                f"{self.site!r}; use a smaller neighbourhood or an earlier site."
            )
        if max(act.shape[2], act.shape[3]) > _MAX_SIDE:
            raise ValueError(f"Maps larger than {_MAX_SIDE} positions per side are not supported.")
        if self.unit is not None and not 0 <= self.unit < act.shape[1]:
            raise ValueError(
                f"unit={self.unit} is not a channel of {self.site!r} ({act.shape[1]})."
            )
        if self.channels is not None and act.shape[1] != self.channels:
            raise ValueError(
                f"{self.site!r} changed from {self.channels} to {act.shape[1]} channels."
            )

    def update(self, activations: Mapping[str, Tensor], batch: Batch) -> None:
        act = activations[self.site]
        self._check(act)
        n, c, h, w = act.shape
        k, r = self.neighbourhood, (self.neighbourhood - 1) // 2
        hv, wv = h - k + 1, w - k + 1
        dev = act.device
        self.channels, self.map_size = c, (h, w)
        self.input_size = (int(batch.inputs.shape[-2]), int(batch.inputs.shape[-1]))
        grid = self._grid(self.input_size, (h, w))
        ys = torch.arange(hv, device=dev) + r
        xs = torch.arange(wv, device=dev) + r
        image = batch.index.to(dev, torch.int64)
        ids = (image[:, None, None] << 24) + (ys[None, :, None] << 12) + xs[None, None, :]
        ids = ids.reshape(n, hv * wv)
        if self.sampling == "top":
            scores = act[:, self.unit, r : r + hv, r : r + wv].reshape(n, -1).double()
            scores = scores.nan_to_num(nan=float("-inf"))
        else:
            scores = -uniform_keys(ids, self.seed)
        local = torch.arange(hv * wv, device=dev).expand(n, -1)
        if self.per_image is not None and self.per_image < hv * wv:
            # ids grow along a row, so a stable sort sends ties to the lower position
            top = torch.sort(scores, dim=1, descending=True, stable=True).indices
            top = top[:, : self.per_image]
            scores, ids, local = scores.gather(1, top), ids.gather(1, top), local.gather(1, top)
        rows = torch.arange(n, device=dev)[:, None].expand_as(local)
        scores, ids, local, rows = (t.reshape(-1) for t in (scores, ids, local, rows))
        self.seen += int(scores.numel())
        self.images_seen += n
        # no pre-filter by the kept minimum: a boolean mask would wait for the device
        if scores.numel() > self.max_patches:
            best = score_order(scores, ids)[: self.max_patches]
            scores, ids, local, rows = scores[best], ids[best], local[best], rows[best]
        y0, x0 = local // wv, local % wv
        dk = torch.arange(k, device=dev)
        block = act[
            rows[:, None, None], :, (y0[:, None] + dk)[:, :, None], (x0[:, None] + dk)[:, None, :]
        ]  # (S, k, k, C)
        vectors = block.permute(0, 3, 1, 2).reshape(len(rows), c * k * k)
        columns: dict[str, Tensor] = {
            "vectors": vectors.to(self.dtype),
            "image_index": image[rows],
            "positions": torch.stack([y0 + r, x0 + r], 1),
            "labels": (
                batch.labels.to(dev)[rows] if batch.labels is not None else torch.full_like(ids, -1)
            ),
        }
        if grid is not None:
            y1, x1 = y0 + k - 1, x0 + k - 1
            columns["boxes"] = grid.boxes(y0, x0, y1, x1)
            if self.thumbnail_size is not None:
                full = grid.full_boxes(y0, x0, y1, x1)
                inputs = batch.inputs
                columns["thumbnails"] = crop_fields(inputs, rows, full, self.thumbnail_size)
        self._kept.offer(scores, ids, columns)

    def merge(self, other: PatchEmbeddings) -> None:
        mine = (self.site, self.neighbourhood, self.max_patches, self.sampling, self.unit)
        theirs = (other.site, other.neighbourhood, other.max_patches, other.sampling, other.unit)
        if mine != theirs or (self.per_image, self.seed) != (other.per_image, other.seed):
            raise ValueError("Cannot merge PatchEmbeddings built with different parameters.")
        self._kept.merge(other._kept)
        self.seen += other.seen
        self.images_seen += other.images_seen
        for attr in ("channels", "map_size", "input_size"):
            if getattr(self, attr) is None:
                setattr(self, attr, getattr(other, attr))

    def result(self) -> PatchEmbeddingsResult:
        if self.channels is None or self.map_size is None or self.input_size is None:
            raise ValueError("PatchEmbeddings saw no batch; run it through interpret.scan first.")
        cols = self._kept.to(torch.device("cpu")).columns
        labels = cols["labels"]
        field_method = None
        if self.field is not None:
            field_method = self.field.method if isinstance(self.field, FieldGrid) else "chain"
        return PatchEmbeddingsResult(
            vectors=cols["vectors"],
            image_index=cols["image_index"],
            positions=cols["positions"],
            boxes=cols.get("boxes"),
            labels=None if bool((labels < 0).all()) else labels,
            scores=self._kept.scores,
            thumbnails=cols.get("thumbnails"),
            site=self.site,
            neighbourhood=self.neighbourhood,
            sampling=self.sampling,
            unit=self.unit,
            per_image=self.per_image,
            max_patches=self.max_patches,
            seed=self.seed,
            channels=self.channels,
            map_size=self.map_size,
            input_size=self.input_size,
            seen=self.seen,
            images_seen=self.images_seen,
            field_method=field_method,
        )
