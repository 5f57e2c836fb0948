"""``OcclusionResult``: everything one occlusion sweep measured, per occluder position."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from torch import Tensor

from interpret.core import Result
from interpret.core.frames import column, grid_keys, make_frame, name_column
from interpret.occlusion.windows import average_over_windows, grid_boxes, window_coverage

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["OcclusionResult"]

_QUANTITIES = {
    "target_prob": ("target_prob", "clean_target_prob"),
    "target_logit": ("target_logit", "clean_target_logit"),
    "feature_total": ("feature_total", "clean_feature_total"),
}


@dataclass(frozen=True)
class OcclusionResult(Result):
    """Occlusion sensitivity maps (Zeiler & Fergus 2013, Fig. 7) on a grid of positions.

    Position ``(i, j)`` is the occluder with top-left corner ``(tops[i], lefts[j])``
    (cut off at the image border). ``N`` images, ``K`` classes.

    Attributes
    ----------
    tops, lefts:
        ``(Ph,)``, ``(Pw,)`` int64: first row / column of each window row / column.
    window, stride, padding, fill, image_size:
        The occluder and the image ``(H, W)`` it was slid over.
    target:
        ``(N,)`` int64, the class whose probability is mapped (d).
    clean_logits:
        ``(N, K)`` logits of the unoccluded images.
    clean_target_prob, clean_target_logit:
        ``(N,)`` the target's probability / logit without occlusion.
    target_prob, target_logit:
        ``(N, Ph, Pw)``: Fig. 7 (d), the target's probability for each occluder position,
        and its logit.
    top_label, top_prob:
        ``(N, Ph, Pw)``: Fig. 7 (e), the most probable class and its probability.
    feature_site, feature_channel, feature_total, clean_feature_total:
        Fig. 7 (b): the site (capture key), ``(N,)`` channel, ``(N, Ph, Pw)`` total
        activation of that feature map per position and ``(N,)`` unoccluded; ``None`` when
        no site was read.
    topn_labels, topn_probs:
        ``(N, Ph, Pw, n)`` the n most probable classes per position, or ``None``.
    logits:
        ``(N, Ph, Pw, K)`` every logit per position if kept, else ``None``.
    probabilities:
        How logits became probabilities: ``"softmax"``, ``"sigmoid"`` or ``"identity"``.
    incremental_sites:
        The layers recomputed incrementally (empty for a full sweep).
    approximation_tau, approximation_drill_down:
        The approximate mode's projective-field threshold and drill-down fraction
        (``None``: exact, and every position computed).
    approximation_error, approximation_checks:
        The approximate mode's own measured error: the largest absolute error of
        ``target_prob`` against exact full forwards at ``approximation_checks`` positions
        per image (``None`` if not measured).
    """

    tops: Tensor
    lefts: Tensor
    window: tuple[int, int]
    stride: tuple[int, int]
    padding: str
    fill: str
    image_size: tuple[int, int]
    target: Tensor
    clean_logits: Tensor
    clean_target_prob: Tensor
    clean_target_logit: Tensor
    target_prob: Tensor
    target_logit: Tensor
    top_label: Tensor
    top_prob: Tensor
    feature_site: str | None = None
    feature_channel: Tensor | None = None
    feature_total: Tensor | None = None
    clean_feature_total: Tensor | None = None
    topn_labels: Tensor | None = None
    topn_probs: Tensor | None = None
    logits: Tensor | None = None
    probabilities: str = "softmax"
    incremental_sites: tuple[str, ...] = ()
    approximation_tau: float | None = None
    approximation_error: float | None = None
    approximation_checks: int = 0
    approximation_drill_down: float | None = None

    @property
    def grid_shape(self) -> tuple[int, int]:
        return len(self.tops), len(self.lefts)

    def to_frame(
        self,
        image_names: Sequence[str] | None = None,
        class_names: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """One row per (image, occluder position): the occlusion grid in long form.

        Columns: ``image_index`` (position in the images given; ``image_name`` from
        ``image_names``), ``grid_row``, ``grid_col``, ``top``, ``left`` (the occluder's
        first pixel row / column), ``target`` (``target_name`` from ``class_names``),
        ``target_prob``, ``target_logit``, ``top_label`` (``top_label_name``),
        ``top_prob``, ``feature_total`` where a feature site was read, and the unoccluded
        ``clean_target_prob``, ``clean_target_logit`` (``clean_feature_total``).
        """
        n, ph, pw = self.target_prob.shape
        keys = grid_keys((n, ph, pw), ("image_index", "grid_row", "grid_col"))
        image = keys["image_index"]
        target = column(self.target).astype(np.int64)[image]
        top_label = column(self.top_label).astype(np.int64)
        feature, clean_feature = self.feature_total, self.clean_feature_total
        columns: dict[str, Any] = {
            **keys,
            "image_name": name_column(image, image_names),
            "top": column(self.tops).astype(np.int64)[keys["grid_row"]],
            "left": column(self.lefts).astype(np.int64)[keys["grid_col"]],
            "target": target,
            "target_name": name_column(target, class_names),
            "target_prob": column(self.target_prob),
            "target_logit": column(self.target_logit),
            "top_label": top_label,
            "top_label_name": name_column(top_label, class_names),
            "top_prob": column(self.top_prob),
            "feature_total": None if feature is None else column(feature),
            "clean_target_prob": column(self.clean_target_prob)[image],
            "clean_target_logit": column(self.clean_target_logit)[image],
            "clean_feature_total": None if clean_feature is None else column(clean_feature)[image],
        }
        return make_frame(columns, n * ph * pw)

    def boxes(self) -> Tensor:
        """``(Ph, Pw, 4)`` int64 ``(top, left, bottom, right)`` of every occluder, clipped."""
        boxes = grid_boxes(self.tops, self.lefts, self.window, self.image_size)
        return boxes.view(*self.grid_shape, 4)

    def coverage(self) -> Tensor:
        """``(H, W)`` int64: how many occluder positions cover each pixel."""
        return window_coverage(self.tops, self.lefts, self.window, self.image_size)

    def to_pixels(self, quantity: str = "target_prob", difference: bool = True) -> Tensor:
        """A per-pixel map ``(N, H, W)`` with Captum's ``Occlusion`` averaging.

        Each pixel gets the mean, over the occluder positions covering it, of
        ``clean - occluded`` (``difference=True``; positive where covering the pixel lowers
        the quantity, Captum's sign) or of the occluded value itself. ``quantity`` is
        ``"target_prob"``, ``"target_logit"`` or ``"feature_total"``. Uncovered pixels are
        NaN. With ``target_logit`` this equals ``Occlusion(model).attribute(images,
        sliding_window_shapes=(C, kh, kw), strides=(C, sh, sw), target=target,
        baselines=fill)`` for ``padding="cover"``.
        """
        if quantity not in _QUANTITIES:
            raise ValueError(f"quantity must be one of {sorted(_QUANTITIES)}, not {quantity!r}.")
        name, clean_name = _QUANTITIES[quantity]
        grid, clean = getattr(self, name), getattr(self, clean_name)
        if grid is None:
            raise ValueError(f"This result holds no {quantity}: no feature site was read.")
        values = clean[:, None, None] - grid if difference else grid
        return average_over_windows(values, self.tops, self.lefts, self.window, self.image_size)
