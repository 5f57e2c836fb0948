"""Which feature maps of a site matter for a region: reconstruct a foreground mask.

FCNT (L. Wang, W. Ouyang, X. Wang, H. Lu, "Visual Tracking with Fully Convolutional
Networks", ICCV 2015, Sec. 4.1) selects the feature maps relevant to a target by
regressing its foreground mask on the maps and ranking each map by its *significance*:
the change of the reconstruction loss when the map is removed, from a second-order
Taylor expansion of the loss. Here the model is linear and the loss quadratic, so that
expansion is exact, and everything follows from streamed sufficient statistics.

Model, over every spatial position of every image (``F`` the site's ``C`` maps, ``M``
the mask averaged down to the map's size):

* ``z_c = (F_c - mean_c) / std_c`` (standardised channels; constant channels dropped),
* ``M ~ mean_M + sum_c w_c z_c``, fitted by minimising
  ``L(w) = 1/(2P) * sum_positions (M - mean_M - z.w)^2 + l2/2 |w|^2 + l1 |w|_1``
  (``P`` positions; ``l1 > 0`` gives FCNT's sparse coefficients, by coordinate descent),
* significance ``s_c = L_data(w with w_c = 0) - L_data(w)`` where ``L_data`` is the
  first term: the loss added by removing (mean-filling) map ``c``. Ranking is by ``s``.

Also given: ``correlation`` (each map's Pearson correlation with the mask, alone) and the
fit's ``r2``. Memory is ``C x C`` (the Gram matrix), whatever the number of images.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from interpret.core.analyzer import Batch
from interpret.core.frames import column, make_frame
from interpret.core.results import Result

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ChannelRelevance", "ChannelRelevanceResult", "predict_mask"]


@dataclass(frozen=True)
class ChannelRelevanceResult(Result):
    """Ranking of a site's ``C`` feature maps by how they reconstruct a mask.

    ``significance``, ``correlation``, ``weights`` (standardised coefficients, mask
    units per channel std), ``mean``, ``std``: ``(C,)`` float64; ``order``: ``(C,)``
    channels by significance, highest first; ``r2``: share of the mask variance the fit
    explains; ``mask_mean``, ``mask_var``: of the resized mask over all positions.
    """

    site: str
    channel_dim: int
    l2: float
    l1: float
    num_images: int
    num_positions: int
    significance: Tensor
    correlation: Tensor
    weights: Tensor
    order: Tensor
    r2: float
    mean: Tensor
    std: Tensor
    mask_mean: float
    mask_var: float

    def top(self, n: int = 10) -> Tensor:
        """The ``n`` most significant channels."""
        return self.order[:n]

    def to_frame(self) -> pd.DataFrame:
        """One row per channel, most significant first: ``site``, ``rank``, ``channel``,
        ``significance``, ``correlation``, ``weight``, ``mean``, ``std``."""
        order = column(self.order).astype(np.int64)
        columns: dict[str, Any] = {"site": self.site, "rank": np.arange(len(order))}
        columns["channel"] = order
        columns["significance"] = column(self.significance)[order]
        columns["correlation"] = column(self.correlation)[order]
        columns["weight"] = column(self.weights)[order]
        columns["mean"] = column(self.mean)[order]
        columns["std"] = column(self.std)[order]
        return make_frame(columns, len(order))


def predict_mask(
    result: ChannelRelevanceResult, activation: Tensor, channels: Tensor | None = None
) -> Tensor:
    """The mask the fitted coefficients predict from ``activation`` ``(N, C, h, w)``.

    ``channels`` keeps only those maps (the others set to their mean), as FCNT does
    when it applies the selection fitted on the first frame to later frames.
    Returns ``(N, h, w)`` float64.
    """
    x = activation.detach().to("cpu", torch.float64).movedim(result.channel_dim, 1)
    z = (x - result.mean.view(1, -1, 1, 1)) / result.std.clamp(min=1e-300).view(1, -1, 1, 1)
    w = result.weights.clone()
    if channels is not None:
        keep = torch.zeros_like(w, dtype=torch.bool)
        keep[torch.as_tensor(channels, dtype=torch.long)] = True
        w = torch.where(keep, w, 0.0)
    return result.mask_mean + torch.einsum("nchw,c->nhw", z, w)


class ChannelRelevance:
    """Streams the statistics to rank feature maps by mask reconstruction (an analyzer).

    Parameters
    ----------
    site:
        A convolutional site: its output must have spatial axes ``(N, C, h, w)``.
    masks:
        ``(num_images, H, W)`` foreground masks (0/1 or soft) indexed by dataset position;
        default: the batch field ``mask_key`` (a dataset yielding dicts with ``"mask"``).
        Masks are averaged down to the map's ``(h, w)`` (adaptive average pooling).
    mask_key:
        Where to find masks in ``batch.meta`` when ``masks`` is not given.
    channel_dim:
        Axis of the channels (1 for NCHW).
    l2, l1:
        Ridge and lasso penalties on the standardised coefficients (see the module).
    """

    def __init__(
        self,
        site: str,
        *,
        masks: Tensor | None = None,
        mask_key: str = "mask",
        channel_dim: int = 1,
        l2: float = 1e-3,
        l1: float = 0.0,
    ) -> None:
        if l2 < 0 or l1 < 0 or (l1 == 0 and l2 == 0):
            raise ValueError(f"l1, l2 must be >= 0 with at least one > 0, got l1={l1}, l2={l2}.")
        if masks is not None:
            masks = torch.as_tensor(masks).cpu()
            if masks.ndim == 4 and masks.shape[1] == 1:
                masks = masks[:, 0]
            if masks.ndim != 3:
                raise ValueError(f"masks must be (num_images, H, W), got {tuple(masks.shape)}.")
        self.site, self.sites = site, (site,)
        self.masks, self.mask_key, self.channel_dim = masks, mask_key, channel_dim
        self.l2, self.l1 = float(l2), float(l1)
        self.channels: int | None = None
        self.images = 0
        self.positions = 0
        empty = torch.zeros(0, dtype=torch.float64)  # sized at the first batch
        self.sum_f: Tensor = empty
        self.gram: Tensor = empty
        self.cross: Tensor = empty
        self.sum_m = 0.0
        self.sum_mm = 0.0

    def _masks(self, batch: Batch, n: int) -> Tensor:
        if self.masks is not None:
            index = batch.index.cpu()
            if int(index.max()) >= self.masks.shape[0]:
                raise ValueError(
                    f"masks has {self.masks.shape[0]} entries but the dataset has an image at "
                    f"position {int(index.max())}: give one mask per dataset image."
                )
            masks = self.masks[index]
        elif self.mask_key in batch.meta:
            masks = torch.as_tensor(batch.meta[self.mask_key]).cpu()
        else:
            raise ValueError(
                f"No masks: pass masks=... or yield dict items with a {self.mask_key!r} entry "
                f"(the batch has {sorted(batch.meta)})."
            )
        if masks.ndim == 4 and masks.shape[1] == 1:
            masks = masks[:, 0]
        if masks.ndim != 3 or masks.shape[0] != n:
            raise ValueError(f"Expected {n} masks (N, H, W), got shape {tuple(masks.shape)}.")
        return masks.to(torch.float64)

    def update(self, activations: Mapping[str, Tensor], batch: Batch) -> None:
        """Add one batch (called by :func:`interpret.scan`)."""
        act = activations[self.site]
        if act.ndim != 4:
            raise ValueError(
                f"Site {self.site!r} gives shape {tuple(act.shape)}; ChannelRelevance needs "
                "feature maps (N, C, h, w) with a channel axis and two spatial axes."
            )
        x = act.detach().movedim(self.channel_dim, 1).to(torch.float64)
        n, c, h, w = x.shape
        masks = self._masks(batch, n).to(x.device)
        small = F.adaptive_avg_pool2d(masks.unsqueeze(1), (h, w))  # (N, 1, h, w)
        feats = x.permute(0, 2, 3, 1).reshape(-1, c)
        m = small.reshape(-1)
        if self.channels is None:
            self.channels = c
            self.sum_f = torch.zeros(c, dtype=torch.float64, device=x.device)
            self.gram = torch.zeros((c, c), dtype=torch.float64, device=x.device)
            self.cross = torch.zeros(c, dtype=torch.float64, device=x.device)
        elif c != self.channels:
            raise ValueError(f"Site {self.site!r} changed from {self.channels} to {c} channels.")
        self.sum_f += feats.sum(0)
        self.gram += feats.T @ feats
        self.cross += feats.T @ m
        self.sum_m += float(m.sum())
        self.sum_mm += float((m * m).sum())
        self.images += n
        self.positions += m.numel()

    def merge(self, other: ChannelRelevance) -> None:
        """Fold in another instance's sums (exact up to float64 rounding)."""
        if (other.site, other.l1, other.l2, other.channel_dim) != (
            self.site,
            self.l1,
            self.l2,
            self.channel_dim,
        ):
            raise ValueError("Can only merge a ChannelRelevance built with the same parameters.")
        if other.channels is None:
            return
        if self.channels is None:
            self.channels = other.channels
            self.sum_f, self.gram, self.cross = (
                other.sum_f.clone(),
                other.gram.clone(),
                other.cross.clone(),
            )
        else:
            dev = self.gram.device
            self.sum_f += other.sum_f.to(dev)
            self.gram += other.gram.to(dev)
            self.cross += other.cross.to(dev)
        self.sum_m += other.sum_m
        self.sum_mm += other.sum_mm
        self.images += other.images
        self.positions += other.positions

    def result(self) -> ChannelRelevanceResult:
        """Fit the reconstruction and rank the channels."""
        if self.channels is None:
            raise ValueError("ChannelRelevance has seen no images; run it through interpret.scan.")
        p = self.positions
        mean = self.sum_f.cpu() / p
        cov = self.gram.cpu() / p - torch.outer(mean, mean)
        mask_mean = self.sum_m / p
        mask_var = max(self.sum_mm / p - mask_mean**2, 0.0)
        if mask_var <= 0:
            raise ValueError("The masks are constant over all positions: nothing to reconstruct.")
        std = cov.diagonal().clamp(min=0).sqrt()
        live = std > 1e-12 * std.max().clamp(min=1e-300)
        cross = (self.cross.cpu() / p - mean * mask_mean) / torch.where(live, std, 1.0)
        corr = cov / torch.outer(torch.where(live, std, 1.0), torch.where(live, std, 1.0))
        corr = torch.where(live.unsqueeze(0) & live.unsqueeze(1), corr, 0.0)
        cross = torch.where(live, cross, 0.0)
        weights = _fit(corr, cross, live, self.l2, self.l1)
        cw = corr @ weights
        significance = weights * (cross - cw) + 0.5 * weights**2 * corr.diagonal()
        loss = 0.5 * (mask_var - 2 * float(weights @ cross) + float(weights @ cw))
        return ChannelRelevanceResult(
            site=self.site,
            channel_dim=self.channel_dim,
            l2=self.l2,
            l1=self.l1,
            num_images=self.images,
            num_positions=p,
            significance=significance,
            correlation=cross / mask_var**0.5,
            weights=weights,
            order=torch.sort(significance, descending=True, stable=True).indices,
            r2=1.0 - 2.0 * loss / mask_var,
            mean=mean,
            std=torch.where(live, std, 0.0),
            mask_mean=mask_mean,
            mask_var=mask_var,
        )


def _fit(
    corr: Tensor,
    cross: Tensor,
    live: Tensor,
    l2: float,
    l1: float,
    iters: int = 10000,
    tol: float = 1e-12,
) -> Tensor:
    """Minimise ``1/2 w'Cw - w'b + l2/2 |w|^2 + l1 |w|_1`` over the live channels."""
    c = corr.shape[0]
    idx = torch.nonzero(live).flatten()
    a, b = corr[idx][:, idx], cross[idx]
    if l1 == 0:
        sol = torch.linalg.solve(a + l2 * torch.eye(len(idx), dtype=a.dtype), b)
    else:  # coordinate descent (as scikit-learn's Lasso / ElasticNet), gradient kept up to date
        an, bn = a.numpy(), b.numpy()
        sol_np = np.zeros_like(bn)
        grad = np.zeros_like(bn)  # a @ sol
        diag = an.diagonal() + l2
        for _ in range(iters):
            biggest = 0.0
            for k in range(len(bn)):
                rho = bn[k] - grad[k] + an[k, k] * sol_np[k]
                new = np.sign(rho) * max(abs(rho) - l1, 0.0) / diag[k]
                step = new - sol_np[k]
                if step != 0.0:
                    grad += an[:, k] * step
                    sol_np[k] = new
                    biggest = max(biggest, abs(step))
            if biggest < tol:
                break
        sol = torch.from_numpy(sol_np)
    out = torch.zeros(c, dtype=corr.dtype)
    out[idx] = sol
    return out
