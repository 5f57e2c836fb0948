"""Regularizers for activation maximization: penalties and Yosinski's step operators.

- **Penalties**: differentiable costs of the image in ``[0, 1]``, subtracted from the
  objective: ``penalty(images) -> (B,)``. :class:`L2Penalty`, :class:`TotalVariation`
  (Mahendran & Vedaldi 2015).
- **Step regularizers** (Yosinski et al., "Understanding Neural Networks Through Deep
  Visualization", 2015: the operator ``r_theta`` applied after each gradient step
  ``x <- r_theta(x + lr * grad)``): they change the raw pixels -- grey-centred, see
  ``PixelImage(output="clip")`` -- in place, ``regularizer(pixels, ascent_grad, step)``.
  :class:`L2Decay`, :class:`GaussianBlur` (every k steps), :class:`ClipSmallNorm`,
  :class:`ClipSmallContribution`: the paper's four. Every operation is per element.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "ClipSmallContribution",
    "ClipSmallNorm",
    "GaussianBlur",
    "L2Decay",
    "L2Penalty",
    "Penalty",
    "StepRegularizer",
    "TotalVariation",
    "gaussian_blur",
]


class Penalty(Protocol):
    description: str

    def __call__(self, images: Tensor) -> Tensor: ...


class StepRegularizer(Protocol):
    description: str

    def __call__(self, pixels: Tensor, ascent_grad: Tensor, step: int) -> None: ...


# ---- penalties -------------------------------------------------------------------------


@dataclass(frozen=True)
class L2Penalty:
    """``weight * mean((image - 0.5)^2)`` per element: keeps pixels near grey."""

    weight: float

    @property
    def description(self) -> str:
        return f"{self.weight:g} * l2"

    def __call__(self, images: Tensor) -> Tensor:
        return self.weight * (images - 0.5).pow(2).flatten(1).mean(1)


@dataclass(frozen=True)
class TotalVariation:
    """``weight * mean_{c,y,x} ((x[y+1,x] - x[y,x])^2 + (x[y,x+1] - x[y,x])^2) ^ (beta/2)``
    per element (Mahendran & Vedaldi 2015; ``beta=1`` is the usual isotropic TV)."""

    weight: float
    beta: float = 2.0

    @property
    def description(self) -> str:
        return f"{self.weight:g} * tv(beta={self.beta:g})"

    def __call__(self, images: Tensor) -> Tensor:
        dy = images[:, :, 1:, :-1] - images[:, :, :-1, :-1]
        dx = images[:, :, :-1, 1:] - images[:, :, :-1, :-1]
        sq = dy * dy + dx * dx
        tv = sq if self.beta == 2.0 else (sq + 1e-8).pow(self.beta / 2)
        return self.weight * tv.flatten(1).mean(1)


# ---- Yosinski's step regularizers -----------------------------------------------------


@dataclass(frozen=True)
class L2Decay:
    """``x <- (1 - rate) * x`` each step (``theta_decay``): pulls pixels towards grey."""

    rate: float

    def __post_init__(self) -> None:
        if not 0 <= self.rate < 1:
            raise ValueError(f"L2Decay rate must be in [0, 1), got {self.rate}.")

    @property
    def description(self) -> str:
        return f"l2_decay({self.rate:g})"

    def __call__(self, pixels: Tensor, ascent_grad: Tensor, step: int) -> None:
        pixels.mul_(1.0 - self.rate)


def gaussian_blur(images: Tensor, sigma: float, truncate: float = 4.0) -> Tensor:
    """Blur each channel with a Gaussian of ``sigma`` pixels, ``(B, C, H, W)``.

    The same filter as ``scipy.ndimage.gaussian_filter(x, sigma, mode="reflect",
    truncate=4.0)`` over the two spatial axes (radius ``int(truncate * sigma + 0.5)``,
    edges reflected with the edge pixel repeated).
    """
    radius = int(truncate * sigma + 0.5)
    if radius == 0:
        return images
    h, w = images.shape[2:]
    if radius > min(h, w):
        raise ValueError(f"A blur of sigma {sigma} is too wide for a {h}x{w} image.")
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = (kernel / kernel.sum()).to(device=images.device, dtype=images.dtype)
    c = images.shape[1]
    x = torch.cat([images[..., :radius].flip(-1), images, images[..., -radius:].flip(-1)], -1)
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    x = torch.cat([x[..., :radius, :].flip(-2), x, x[..., -radius:, :].flip(-2)], -2)
    return F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


@dataclass(frozen=True)
class GaussianBlur:
    """Blur the pixels with ``sigma`` (``theta_b_width``) at every ``every``-th step
    (``theta_b_every``; steps 0, k, 2k, ...). Yosinski et al.: sigma below 0.3 works poorly."""

    sigma: float
    every: int = 1

    def __post_init__(self) -> None:
        if self.sigma <= 0 or self.every < 1:
            raise ValueError(f"GaussianBlur needs sigma > 0 and every >= 1, got {self}.")

    @property
    def description(self) -> str:
        return f"blur(sigma={self.sigma:g}, every={self.every})"

    def __call__(self, pixels: Tensor, ascent_grad: Tensor, step: int) -> None:
        if step % self.every == 0:
            pixels.copy_(gaussian_blur(pixels, self.sigma))


def _below_percentile(score: Tensor, percentile: float) -> Tensor:
    """Mask ``(B, H, W)`` of entries strictly below each element's percentile (linear
    interpolation, as ``numpy.percentile``)."""
    flat = score.flatten(1)
    cut = torch.quantile(flat.double(), percentile / 100.0, dim=1).to(score.dtype)
    return score < cut[:, None, None]


@dataclass(frozen=True)
class ClipSmallNorm:
    """Zero every pixel whose colour-vector norm is below the ``percentile``-th percentile
    of its image (``theta_n_pct``)."""

    percentile: float

    def __post_init__(self) -> None:
        if not 0 <= self.percentile <= 100:
            raise ValueError(f"percentile must be in [0, 100], got {self.percentile}.")

    @property
    def description(self) -> str:
        return f"clip_small_norm({self.percentile:g}%)"

    def __call__(self, pixels: Tensor, ascent_grad: Tensor, step: int) -> None:
        if self.percentile > 0:
            small = _below_percentile(pixels.norm(dim=1), self.percentile)
            pixels.masked_fill_(small[:, None], 0.0)


@dataclass(frozen=True)
class ClipSmallContribution:
    """Zero every pixel whose contribution ``|sum_c x * (-grad)|`` -- the linear estimate of
    how much the objective changes when the pixel is set to zero -- is below the
    ``percentile``-th percentile of its image (``theta_c_pct``; the toolbox's
    ``px_abs_benefit_percentile``)."""

    percentile: float

    def __post_init__(self) -> None:
        if not 0 <= self.percentile <= 100:
            raise ValueError(f"percentile must be in [0, 100], got {self.percentile}.")

    @property
    def description(self) -> str:
        return f"clip_small_contribution({self.percentile:g}%)"

    def __call__(self, pixels: Tensor, ascent_grad: Tensor, step: int) -> None:
        if self.percentile > 0:
            contribution = (ascent_grad * -pixels).sum(1).abs()
            small = _below_percentile(contribution, self.percentile)
            pixels.masked_fill_(small[:, None], 0.0)
