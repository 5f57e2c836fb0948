"""Filter health of a convolution: RMS, dominating, dead and aliasing filters.

Zeiler & Fergus (2013), Sec. 4.2 and Fig. 6: without *feature scale clipping* a few
first-layer filters grow to dominate (a); Krizhevsky et al.'s first layer (stride 4,
11x11) has many dead filters and a mix of extremely high and low frequencies, and its
second layer shows aliasing artifacts (b, d). :func:`filter_health` measures each:

- **RMS** of each filter, ``sqrt(mean(w ** 2))`` over ``(in_channels, kh, kw)`` (what the
  clipping of :mod:`interpret.filters.clipping` bounds).
- **Dominating**: ``rms > dominating_factor * median(rms)``.
- **Dead**: never active over a dataset, i.e. ``max activation <= threshold`` at the
  site (see :class:`~interpret.filters.activity.FilterActivity`).
- **Aliasing** (first-layer filters by default): the fraction of a filter's spectral
  energy that the convolution's stride folds back. Each input channel of the filter has
  its mean removed (the DC term carries no frequency), is zero-padded to ``n x n`` and
  Fourier transformed; the power ``|W(f_y, f_x)|^2`` summed over input channels is the
  filter's spectrum on a grid of ``f`` in cycles/pixel, ``[-1/2, 1/2)``. A stride ``s``
  samples the output every ``s`` pixels, whose Nyquist frequency is ``1 / (2 s)``: energy
  at ``|f_y| > 1 / (2 s_y)`` or ``|f_x| > 1 / (2 s_x)`` aliases. The measure is that
  energy over the total (0 for a stride of 1, near 1 for a checkerboard filter at stride 2;
  0 for a filter without AC energy). ``cutoff`` overrides ``1 / (2 s)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from interpret.core import Result, get_module, scan
from interpret.core.frames import column, make_frame
from interpret.filters.activity import FilterActivity, FilterActivityResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FilterHealthResult", "aliasing_fraction", "filter_health", "filter_rms"]


def filter_rms(weight: Tensor) -> Tensor:
    """``(F, C, kh, kw)`` -> ``(F,)`` float64 root mean square of each filter."""
    return weight.detach().double().flatten(1).pow(2).mean(dim=1).sqrt().cpu()


def aliasing_fraction(
    weight: Tensor,
    cutoff: tuple[float, float],
    fft_size: int | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Fraction of each filter's (mean-removed) spectral energy above ``cutoff``.

    Parameters
    ----------
    weight:
        ``(F, C, kh, kw)`` filters.
    cutoff:
        ``(c_y, c_x)`` in cycles/pixel; energy at ``|f_y| > c_y`` or ``|f_x| > c_x``
        counts (``1 / (2 * stride)`` is the Nyquist frequency of a strided output).
    fft_size:
        Zero-padded transform size ``n`` (default ``max(32, 8 * max(kh, kw))``, even):
        finer sampling of the filter's continuous spectrum.

    Returns
    -------
    fraction:
        ``(F,)`` float64 in [0, 1].
    spectra:
        ``(F, n, n)`` float64 power summed over input channels, zero frequency centred
        (``torch.fft.fftshift``).
    frequencies:
        ``(n,)`` float64 the centred frequency of each row/column, cycles/pixel.
    """
    if weight.ndim != 4:
        raise ValueError(f"weight must be (F, C, kh, kw), got {tuple(weight.shape)}.")
    if min(cutoff) < 0:
        raise ValueError(f"cutoff must be non-negative cycles/pixel, got {cutoff}.")
    k = max(weight.shape[-2:])
    n = fft_size if fft_size is not None else max(32, 8 * k)
    if n < k:
        raise ValueError(f"fft_size must be at least the kernel size {k}, got {n}.")
    n += n % 2
    raw = weight.detach().double().cpu()
    w = raw - raw.mean(dim=(2, 3), keepdim=True)
    power = torch.fft.fft2(w, s=(n, n)).abs().pow(2).sum(dim=1)  # (F, n, n)
    freq = torch.fft.fftfreq(n, dtype=torch.float64)
    high = (freq.abs() > cutoff[0]).view(n, 1) | (freq.abs() > cutoff[1]).view(1, n)
    total = power.flatten(1).sum(dim=1)  # == n^2 * sum(w^2) (Parseval)
    above = (power * high).flatten(1).sum(dim=1)
    # no AC energy (a constant or zero filter; rounding left after removing the mean): 0
    floor = 1e-20 * n * n * raw.flatten(1).pow(2).sum(dim=1)
    has_ac = (total > floor) & (total > 0)
    fraction = torch.where(has_ac, above / total.clamp_min(1e-300), torch.zeros_like(total))
    spectra = torch.fft.fftshift(power, dim=(-2, -1))
    return fraction, spectra, torch.fft.fftshift(freq)


@dataclass(frozen=True)
class FilterHealthResult(Result):
    """Health of the filters of one convolution.

    Attributes
    ----------
    site:
        The ``nn.Conv2d``.
    rms:
        ``(F,)`` float64 RMS per filter; ``median_rms`` their median.
    dominating:
        ``(F,)`` bool ``rms > dominating_factor * median_rms``.
    radius, over_radius:
        The clipping radius (Z&F: 0.1) and ``(F,)`` bool ``rms > radius`` (by more than
        a relative 1e-6, so filters clipped in float32 are not flagged).
    dead:
        ``(F,)`` bool never active over the scanned data (``None`` without data);
        ``activity`` the full :class:`FilterActivityResult`.
    weights:
        ``(F, C, kh, kw)`` float32 filters, kept for image-like filters (``C <= 4``) or
        when asked; else ``None``.
    aliasing:
        ``(F,)`` float64 aliasing fraction (module docstring), ``spectra`` ``(F, n, n)``
        their power spectra, ``frequencies`` ``(n,)`` cycles/pixel, ``cutoff``
        ``(c_y, c_x)``; all ``None`` when not measured.
    stride, kernel_size:
        Of the convolution.
    """

    site: str
    rms: Tensor
    median_rms: float
    dominating_factor: float
    dominating: Tensor
    radius: float
    over_radius: Tensor
    dead: Tensor | None
    activity: FilterActivityResult | None
    weights: Tensor | None
    aliasing: Tensor | None
    spectra: Tensor | None
    frequencies: Tensor | None
    cutoff: tuple[float, float] | None
    stride: tuple[int, int]
    kernel_size: tuple[int, int]

    def dead_filters(self) -> list[int] | None:
        """Indices of dead filters; ``None`` when not measured (no activity data), so that
        "no dead filters" (``[]``) and "not measured" never read the same."""
        return None if self.dead is None else self.dead.nonzero().flatten().tolist()

    def to_frame(self) -> pd.DataFrame:
        """One row per filter: ``site``, ``filter``, ``rms``, ``rms_over_median``, the flags
        ``dominating`` / ``over_radius`` / ``dead`` and, where measured, ``max_activation``,
        ``active_fraction`` and ``aliasing`` (columns not measured are left out, so a
        missing ``dead`` column means "not measured", never "none dead")."""
        n = self.rms.numel()
        act = self.activity
        columns: dict[str, Any] = {
            "site": self.site,
            "filter": np.arange(n),
            "rms": column(self.rms),
            "rms_over_median": column(self.rms) / max(self.median_rms, 1e-300),
            "dominating": column(self.dominating),
            "over_radius": column(self.over_radius),
            "dead": None if self.dead is None else column(self.dead),
            "max_activation": None if act is None else column(act.max_activation),
            "active_fraction": None if act is None else column(act.active_fraction),
            "aliasing": None if self.aliasing is None else column(self.aliasing),
        }
        return make_frame(columns, n)

    def dominating_filters(self) -> list[int]:
        """Indices of dominating filters."""
        return self.dominating.nonzero().flatten().tolist()

    def rows(self, only_flagged: bool = False) -> list[dict[str, Any]]:
        """One dict per filter (``only_flagged``: dead or dominating ones): index, RMS,
        RMS / median, activity, aliasing and flags."""
        out = []
        for f in range(self.rms.numel()):
            flags = []
            if self.dead is not None and bool(self.dead[f]):
                flags.append("dead")
            if bool(self.dominating[f]):
                flags.append("dominating")
            if only_flagged and not flags:  # dead or dominating; over-radius alone is common
                continue
            if bool(self.over_radius[f]):
                flags.append("over radius")
            act = self.activity
            out.append(
                {
                    "filter": f,
                    "rms": float(self.rms[f]),
                    "rms_over_median": float(self.rms[f]) / max(self.median_rms, 1e-300),
                    "max_activation": None if act is None else float(act.max_activation[f]),
                    "active_%": None if act is None else 100 * float(act.active_fraction[f]),
                    "aliasing": None if self.aliasing is None else float(self.aliasing[f]),
                    "flags": ", ".join(flags),
                }
            )
        return out

    def markdown(self, only_flagged: bool = True) -> str:
        """A summary line and a Markdown table (dead or dominating filters by default)."""
        n = self.rms.numel()
        found = self.dead_filters()
        dead = "not measured" if found is None else str(len(found))
        summary = (
            f"{self.site}: {n} filters {self.kernel_size[0]}x{self.kernel_size[1]} stride "
            f"{self.stride[0]}; median RMS {self.median_rms:.3g}; dominating (> "
            f"{self.dominating_factor:g} x median): {len(self.dominating_filters())}; dead: "
            f"{dead}; over radius {self.radius:g}: {int(self.over_radius.sum())}"
        )
        if self.aliasing is not None:
            summary += f"; mean aliasing fraction {float(self.aliasing.mean()):.3f}"
        rows = self.rows(only_flagged)
        if not rows:
            return summary + "."
        lines = [summary + ".", "", "| filter | RMS | RMS / median | max act. | active % | "
                 "aliasing | flags |", "|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip

        def fmt(value: float | None, spec: str) -> str:
            return "–" if value is None else format(value, spec)

        for r in rows:
            lines.append(
                f"| {r['filter']} | {r['rms']:.3g} | {r['rms_over_median']:.2f} | "
                f"{fmt(r['max_activation'], '.3g')} | {fmt(r['active_%'], '.1f')} | "
                f"{fmt(r['aliasing'], '.3f')} | {r['flags']} |"
            )
        return "\n".join(lines)


def _conv(model: nn.Module, site: str) -> nn.Conv2d:
    module = get_module(model, site)
    if not isinstance(module, nn.Conv2d):
        convs = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)][:8]
        raise ValueError(
            f"Site {site!r} is a {type(module).__name__}; filter health needs an nn.Conv2d "
            f"(convolutions of this model: {', '.join(convs) or 'none'})."
        )
    return module


def filter_health(
    model: nn.Module,
    site: str,
    data: Dataset | DataLoader | None = None,
    *,
    activity: FilterActivityResult | None = None,
    activity_site: str | None = None,
    threshold: float = 0.0,
    dominating_factor: float = 3.0,
    radius: float = 0.1,
    aliasing: bool | None = None,
    cutoff: tuple[float, float] | None = None,
    fft_size: int | None = None,
    keep_weights: bool | None = None,
    batch_size: int = 64,
    device: str | Any = None,
    progress: bool = False,
) -> FilterHealthResult:
    """RMS, dominating, dead and aliasing filters of the convolution ``site``.

    Parameters
    ----------
    model:
        Any model; ``site`` names one of its ``nn.Conv2d``.
    data:
        Images to find dead filters with (one :func:`interpret.scan`); or pass
        ``activity`` from an earlier scan with :class:`FilterActivity`. Neither: ``dead``
        is ``None``.
    activity_site, threshold:
        Where activity is measured (default ``site``: the convolution's output, active if
        ``> threshold``; pass the rectifier after a BatchNorm) and the threshold.
    dominating_factor:
        A filter dominates when its RMS exceeds this multiple of the median RMS.
    radius:
        Clipping radius to flag (Zeiler & Fergus: 0.1).
    aliasing, cutoff, fft_size:
        Measure aliasing (default: when filters have at most 4 input channels, i.e. the
        first layer); ``cutoff`` in cycles/pixel (default ``1 / (2 * stride)``); see
        :func:`aliasing_fraction`.
    keep_weights:
        Store the filters in the result (default: when they have at most 4 input
        channels, so they can be drawn as images).
    batch_size, device, progress:
        For the scan.

    Returns
    -------
    FilterHealthResult

    Example
    -------
    >>> from interpret.testing import chain_cnn
    >>> health = filter_health(chain_cnn(), "features.0")
    >>> health.rms.shape, health.dead is None, health.aliasing is not None
    (torch.Size([6]), True, True)
    """
    conv = _conv(model, site)
    if dominating_factor <= 0 or radius <= 0:
        raise ValueError("dominating_factor and radius must be positive.")
    weight = conv.weight.detach()
    filters, in_channels = weight.shape[:2]
    rms = filter_rms(weight)
    median = float(rms.median())
    if activity is not None and data is not None:
        raise ValueError("Pass data or activity, not both.")
    if data is not None:
        analyzer = FilterActivity(activity_site or site, threshold)
        (scanned,) = scan(
            model, data, [analyzer], batch_size=batch_size, device=device, progress=progress
        )
        activity = cast(FilterActivityResult, scanned)
    if activity is not None:
        if not isinstance(activity, FilterActivityResult):
            raise TypeError("activity must be the FilterActivityResult of a FilterActivity scan.")
        if activity.max_activation.numel() != filters:
            raise ValueError(
                f"activity has {activity.max_activation.numel()} channels but {site!r} has "
                f"{filters} filters; measure activity at this convolution or its rectifier."
            )
    image_like = in_channels <= 4
    stride = (int(conv.stride[0]), int(conv.stride[1]))
    measure = image_like if aliasing is None else bool(aliasing)
    fraction = spectra = freqs = None
    used_cutoff = None
    if measure:
        used_cutoff = (
            (0.5 / stride[0], 0.5 / stride[1])
            if cutoff is None
            else (float(cutoff[0]), float(cutoff[1]))
        )
        fraction, spectra, freqs = aliasing_fraction(weight, used_cutoff, fft_size)
    keep = image_like if keep_weights is None else bool(keep_weights)
    return FilterHealthResult(
        site=site,
        rms=rms,
        median_rms=median,
        dominating_factor=float(dominating_factor),
        dominating=rms > dominating_factor * median,
        radius=float(radius),
        over_radius=rms > radius * (1 + 1e-6),  # beyond the rounding of clipped filters
        dead=None if activity is None else activity.dead,
        activity=activity,
        weights=weight.float().cpu().clone() if keep else None,
        aliasing=fraction,
        spectra=spectra,
        frequencies=freqs,
        cutoff=used_cutoff,
        stride=stride,
        kernel_size=(int(conv.kernel_size[0]), int(conv.kernel_size[1])),
    )
