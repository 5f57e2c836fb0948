"""``UnitCorrelation``: a streaming, mergeable correlation of units across sites.

Each unit (a channel of a site's ``(N, C, h, w)`` maps) is summarised per image by its
spatial mean; over the data the analyzer accumulates the count, the sum and the
matrix of cross products of the concatenated ``(N, D)`` vectors (``D`` = the units of
every site together) in float64 on the scan's device. Shards merge by adding the three,
so a sharded scan gives the single-pass result (up to float rounding).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from interpret.core.analyzer import Batch
from interpret.core.results import Result

__all__ = ["CorrelationResult", "UnitCorrelation"]


@dataclass(frozen=True)
class CorrelationResult(Result):
    """Pearson correlation over images of the spatially averaged units of several sites.

    Attributes
    ----------
    sites:
        The sites, in the order their units are concatenated.
    sizes:
        Units per site; site ``s`` holds rows ``offsets[s] : offsets[s] + sizes[s]``.
    count:
        Images seen.
    mean:
        ``(D,)`` float64 mean of each unit's per-image spatial mean.
    corr:
        ``(D, D)`` float64 correlation; ``NaN`` in rows and columns of constant units
        (a dead unit correlates with nothing).
    """

    sites: tuple[str, ...]
    sizes: tuple[int, ...]
    count: int
    mean: Tensor
    corr: Tensor

    @property
    def offsets(self) -> tuple[int, ...]:
        """Start row of each site's units."""
        out, start = [], 0
        for size in self.sizes:
            out.append(start)
            start += size
        return tuple(out)

    def block(self, site: str, other: str) -> Tensor:
        """``(C_site, C_other)`` correlations of the units of ``site`` with those of ``other``."""
        for name in (site, other):
            if name not in self.sites:
                raise ValueError(f"No site {name!r} in this result; sites: {list(self.sites)}.")
        i, j = self.sites.index(site), self.sites.index(other)
        a, b = self.offsets[i], self.offsets[j]
        return self.corr[a : a + self.sizes[i], b : b + self.sizes[j]]

    def most_correlated(
        self, site: str, unit: int, other: str, n: int = 5
    ) -> list[tuple[int, float]]:
        """The ``n`` units of ``other`` most correlated with ``site:unit`` (itself left out).

        Returns ``(unit, correlation)`` pairs, highest first; units with an undefined
        (NaN) correlation are left out.
        """
        row = self.block(site, other)[unit].clone()
        if other == site:
            row[unit] = float("nan")
        valid = (~torch.isnan(row)).nonzero().flatten()
        order = valid[torch.argsort(row[valid], descending=True, stable=True)][:n]
        return [(int(u), float(row[u])) for u in order]


class UnitCorrelation:
    """Analyzer for :func:`interpret.scan`: correlations between all units of ``sites``.

    Parameters
    ----------
    sites:
        Site names whose outputs are ``(N, C, h, w)`` or ``(N, C)``.

    Memory is ``D x D`` float64 for ``D`` units in all (512 units: 2 MiB).

    Example
    -------
    >>> import torch
    >>> from interpret import scan
    >>> from interpret.testing import chain_cnn
    >>> data = torch.utils.data.TensorDataset(torch.randn(12, 3, 16, 16))
    >>> (c,) = scan(chain_cnn(), data, [UnitCorrelation(["features.1", "features.4"])],
    ...             progress=False)
    >>> tuple(c.corr.shape)
    (16, 16)
    """

    def __init__(self, sites: str | Sequence[str]) -> None:
        self.sites = (sites,) if isinstance(sites, str) else tuple(sites)
        if not self.sites:
            raise ValueError("UnitCorrelation needs at least one site.")
        self.sizes: tuple[int, ...] | None = None
        self.count = 0
        self.total: Tensor | None = None
        self.products: Tensor | None = None

    def update(self, activations: Mapping[str, Tensor], batch: Batch) -> None:
        parts = []
        for site in self.sites:
            act = activations[site]
            if act.ndim < 2:
                raise ValueError(f"Site {site!r} gives shape {tuple(act.shape)}: no channel axis.")
            parts.append(act.detach().flatten(2).mean(-1) if act.ndim > 2 else act.detach())
        values = torch.cat(parts, 1).to(torch.float64)  # (N, D)
        sizes = tuple(int(p.shape[1]) for p in parts)
        if self.sizes is None:
            self.sizes = sizes
            dim = sum(sizes)
            self.total = values.new_zeros(dim)
            self.products = values.new_zeros((dim, dim))
        elif sizes != self.sizes:
            raise ValueError(f"Unit counts changed from {self.sizes} to {sizes}.")
        assert self.total is not None and self.products is not None
        self.total += values.sum(0)
        self.products += values.T @ values
        self.count += int(values.shape[0])

    def merge(self, other: Any) -> None:
        if not isinstance(other, UnitCorrelation) or other.sites != self.sites:
            raise ValueError("Can only merge a UnitCorrelation over the same sites.")
        if other.sizes is None:
            return
        if self.sizes is None:
            self.sizes, self.count = other.sizes, other.count
            self.total, self.products = other.total.clone(), other.products.clone()
            return
        if other.sizes != self.sizes:
            raise ValueError(f"Unit counts differ: {self.sizes} vs {other.sizes}.")
        self.total += other.total.to(self.total.device)
        self.products += other.products.to(self.products.device)
        self.count += other.count

    def result(self) -> CorrelationResult:
        if self.sizes is None or self.total is None or self.products is None:
            raise ValueError("UnitCorrelation has seen no images; run it through interpret.scan.")
        n = max(self.count, 1)
        mean = (self.total / n).cpu()
        cov = (self.products.cpu() / n) - torch.outer(mean, mean)
        std = cov.diagonal().clamp_min(0).sqrt()
        scale = torch.outer(std, std)
        corr = torch.where(scale > 1e-12 * scale.max().clamp_min(1e-300), cov / scale, torch.nan)
        return CorrelationResult(self.sites, self.sizes, self.count, mean, corr.clamp(-1, 1))
