"""Neuron selectiveness over a dataset, as in DeepID2+ (Sun, Wang & Tang, CVPR 2015).

:class:`Selectivity` is an analyzer for :func:`interpret.scan`. Per neuron (a channel
pooled over space, or a unit of a fully connected layer) and per class / binary
attribute it streams fixed-edge histograms, moments and activity counts; its result
gives the best single-neuron classifier per (neuron, class), excitatory / inhibitory /
uncertain labels by a documented :class:`~interpret.neurons.selectivity.stats.LabelRule`,
the sparsity of the layer and, optionally, a sample of image vectors for binary codes.
Memory is ``neurons x (classes + 2 x attributes + 1) x (bins + 2)`` counts, independent
of the number of images.

Histogram edges, per neuron, are either

* **adaptive** (default, ``edges=None``): ``bins`` consecutive cells of a power-of-two
  grid just wide enough for every value seen (see ``interpret/neurons/_grid.py``). The
  grid coarsens by whole powers of two as the range grows and counts are re-binned
  exactly, so the final histogram is the one its final edges would have given from the
  start; it depends only on the min and max of the data, never on the order of the
  images (class-sorted datasets are fine) or on sharding, and shards merge exactly.
  Nothing falls outside; the data spans more than ``bins / 2 - 1`` bins; or
* **given**: ``edges=`` a ``(B + 1,)`` or ``(D, B + 1)`` tensor, or a ``(low, high)`` range
  split into ``bins``; values outside go to under/overflow bins (kept, and reported by
  ``SelectivityResult.outside_fraction``). Shards merge only with equal edges
  (:func:`calibrate_edges` makes per-neuron edges from a first look at the data).

Single-neuron thresholds and the label rule's quantiles are restricted to the bin edges:
exact for that threshold set (see :mod:`interpret.neurons.selectivity.stats`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from interpret.core.accumulators import Reservoir
from interpret.core.analyzer import Batch
from interpret.core.device import DeferredCheck
from interpret.core.validate import check_finite_number
from interpret.neurons.selectivity._grid import DyadicGrid, apply_map
from interpret.neurons.selectivity._labels import check_attributes, check_labels
from interpret.neurons.selectivity._tables import GroupTable, bin_index
from interpret.neurons.selectivity.binary_codes import VectorSample
from interpret.neurons.selectivity.edges import as_edges, calibrate_edges, edges_from_values
from interpret.neurons.selectivity.result import (
    SelectivityResult,
    attribute_selectivity,
    class_selectivity,
)
from interpret.neurons.selectivity.sparseness import SparsityResult
from interpret.neurons.selectivity.stats import LabelRule
from interpret.neurons.selectivity.units import check_reduction, neuron_values

__all__ = ["Selectivity", "calibrate_edges", "edges_from_values"]


class Selectivity:
    """Per-neuron, per-class histograms and statistics for one site (an analyzer).

    Parameters
    ----------
    site:
        The site whose neurons are studied.
    labels:
        ``(num_images,)`` int class of each dataset image, indexed by the dataset
        position (``batch.index``); default: the labels the dataset yields. Labels
        ``< 0`` mark unlabelled images (left out of the class statistics).
    attributes:
        ``(num_images, A)`` binary attributes (0/1; -1 unknown), or a dict
        ``name -> (num_images,)``. Each attribute is studied as "with vs without".
    classes:
        Number of classes or their names. Default: from ``labels``, or growing with the
        largest label seen.
    reduction, channel_dim:
        How a site's output becomes one value per neuron; see
        :func:`~interpret.neurons.selectivity.units.neuron_values` (default: spatial mean for maps).
    edges:
        Histogram edges: ``None`` (adaptive, see the module docstring), ``(B + 1,)``
        shared or ``(D, B + 1)`` per neuron, or a ``(low, high)`` range split into ``bins``.
    bins:
        Number of bins for adaptive edges or a range. Memory: ``8 x (bins + 2)`` bytes per
        neuron and group (groups: classes + 2 x attributes + 1).
    active_threshold:
        A neuron is active on an image when its value is ``> active_threshold``.
    rule:
        The excitatory / inhibitory :class:`LabelRule` (can be changed on the result).
    allow_empty:
        Let classes (or attribute values) without images through with NaN statistics
        instead of raising at :meth:`result`.
    sample, seed:
        Keep a uniform sample of up to ``sample`` image vectors (for
        :func:`~interpret.neurons.selectivity.binary_codes.compare_codes`); 0 keeps none.

    Example
    -------
    >>> import torch
    >>> from torch.utils.data import TensorDataset
    >>> from interpret import scan
    >>> from interpret.testing import chain_cnn
    >>> data = TensorDataset(torch.randn(40, 3, 16, 16), torch.arange(40) % 4)
    >>> result, = scan(chain_cnn(), data, [Selectivity("features.4")], progress=False)
    >>> tuple(result.per_class.classifier.balanced_accuracy.shape)  # (classes, neurons)
    (4, 8)
    """

    def __init__(
        self,
        site: str,
        *,
        labels: Tensor | Sequence[int] | None = None,
        attributes: Tensor | Mapping[str, Tensor] | None = None,
        classes: int | Sequence[str] | None = None,
        reduction: str | None = None,
        channel_dim: int = 1,
        edges: Tensor | tuple[float, float] | None = None,
        bins: int = 64,
        active_threshold: float = 0.0,
        rule: LabelRule | None = None,
        allow_empty: bool = False,
        sample: int = 0,
        seed: int = 0,
    ) -> None:
        if not isinstance(site, str):
            raise TypeError(f"site must be a site name (str), not {type(site).__name__}.")
        check_reduction(reduction)
        check_finite_number(active_threshold, "active_threshold")
        if isinstance(bins, bool) or not isinstance(bins, int):
            raise TypeError(f"bins must be an int, got {type(bins).__name__}.")
        if bins < 1:
            raise ValueError(f"bins must be at least 1, got {bins}.")
        if sample < 0:
            raise ValueError(f"sample must be >= 0, got {sample}.")
        self.site = site
        self.sites = (site,)
        self.reduction, self.channel_dim = reduction, channel_dim
        self.bins = bins
        self.edges, self.edges_source = as_edges(edges, bins)
        if self.edges is not None:
            self.bins = self.edges.shape[-1] - 1
        self.active_threshold = float(active_threshold)
        self.rule = rule if rule is not None else LabelRule()
        self.allow_empty = allow_empty
        self.labels = check_labels(labels)
        self.attributes, self.attribute_names = check_attributes(attributes)
        self.class_names: tuple[str, ...] | None = None
        self.num_classes: int | None = None
        if isinstance(classes, int):
            if classes < 1:
                raise ValueError(f"classes must be at least 1, got {classes}.")
            self.num_classes = classes
        elif classes is not None:
            self.class_names = tuple(str(c) for c in classes)
            self.num_classes = len(self.class_names)
        if self.labels is not None and self.num_classes is None and self.labels.numel():
            self.num_classes = int(self.labels.max()) + 1
        self.sample_size, self.seed = int(sample), int(seed)
        self.seen = 0
        self.neurons: int | None = None
        self.tables: dict[str, GroupTable] = {}
        self.neurons_per_image = torch.zeros(0, dtype=torch.int64)  # sized at the first batch
        self.reservoirs: tuple[Reservoir, Reservoir] | None = None
        self.grid: DyadicGrid | None = None

    # -- streaming -------------------------------------------------------------------

    def _table(self, name: str, device: torch.device) -> Tensor:
        """``self.labels`` or ``self.attributes`` on ``device`` (copied once)."""
        cache = self.__dict__.setdefault("_on_device", {})
        table = getattr(self, name)
        if name not in cache or cache[name].device != device:
            cache[name] = table.to(device)
        return cache[name]

    def _batch_labels(self, batch: Batch, n: int, device: torch.device) -> Tensor | None:
        """The batch's labels on ``device``. Range checks are recorded on the device (the
        largest index and label seen) and read in ``result()``: nothing waits per batch."""
        index = batch.index.to(device, torch.int64)
        sizes = [t.shape[0] for t in (self.labels, self.attributes) if t is not None]
        if n and sizes:
            top = index.max()
            self._track_first("_index_over", top, top >= min(sizes))
        if self.labels is not None:
            table = self._table("labels", device)
            return table[index.clamp(0, max(table.shape[0] - 1, 0))]
        if batch.labels is None:
            if self.attributes is None:
                raise ValueError(
                    "The dataset yields no labels; pass labels=... (one per image) or "
                    "attributes=... to Selectivity."
                )
            return None
        labels = batch.labels.to(device).long()
        if labels.shape != (n,):
            raise ValueError(f"Expected {n} labels for the batch, got {tuple(labels.shape)}.")
        return labels

    def _track_first(self, name: str, value: Tensor, bad: Tensor) -> None:
        """Remember on the device the first ``value`` (0-d int) for which ``bad`` held."""
        current = self.__dict__.get(name)
        if current is None:
            current = torch.full((), -1, dtype=torch.int64, device=value.device)
        current = current.to(value.device)
        self.__dict__[name] = torch.where(bad & (current < 0), value.to(torch.int64), current)

    def _check_ranges(self) -> None:
        """Raise for the range errors recorded during the scan (one host read each)."""
        index_over = self.__dict__.get("_index_over")
        top = int(index_over) if index_over is not None else -1
        if top >= 0:
            for name in ("labels", "attributes"):
                table = getattr(self, name)
                if table is not None and top >= table.shape[0]:
                    raise ValueError(
                        f"{name} has {table.shape[0]} entries but the dataset has an image at "
                        f"position {top}: give one entry per dataset image, in dataset order."
                    )
        label_over = self.__dict__.get("_label_over")
        if label_over is not None and self.num_classes is not None:
            top = int(label_over)
            if top >= 0:
                raise ValueError(
                    f"Label {top} is out of range for {self.num_classes} classes; pass "
                    "classes= with every class, or fix the labels."
                )
        if self.__dict__.get("_nonfinite") is not None and self._nonfinite.failed() is not None:
            raise ValueError(
                f"Site {self.site!r} produced NaN or infinite activations; check the model "
                "and its inputs (selectivity needs finite values)."
            )

    def _start(self, values: Tensor) -> None:
        d = values.shape[1]
        if self.edges is None:
            self.grid = DyadicGrid(d, self.bins, values.device)
        elif self.edges.ndim == 1:
            self.edges = self.edges.expand(d, -1).contiguous()
        elif self.edges.shape[0] != d:
            raise ValueError(
                f"edges give {self.edges.shape[0]} neurons but site {self.site!r} has {d}."
            )
        self.neurons = d
        dev = values.device
        # group 0: images without a class (unlabelled); group 1 + c: class c
        self.tables["class"] = GroupTable(1 + (self.num_classes or 0), d, self.bins, dev)
        if self.attributes is not None:
            self.tables["attribute"] = GroupTable(2 * self.attributes.shape[1], d, self.bins, dev)
        self.neurons_per_image = torch.zeros(d + 1, dtype=torch.int64, device=dev)
        if self.sample_size:
            self.reservoirs = (
                Reservoir(self.sample_size, self.seed),
                Reservoir(self.sample_size, self.seed),
            )

    def update(self, activations: Mapping[str, Tensor], batch: Batch) -> None:
        """Add one batch (called by :func:`interpret.scan`)."""
        if self.site not in activations:
            raise KeyError(f"No activation for site {self.site!r}; captured: {list(activations)}.")
        values = neuron_values(activations[self.site], self.reduction, self.channel_dim, self.site)
        values = values.detach().to(torch.float64)
        n = values.shape[0]
        dev = values.device
        labels = self._batch_labels(batch, n, dev)
        if self.neurons is None:
            self._start(values)
            spatial = activations[self.site].ndim > 2
            self.effective_reduction = (self.reduction or "mean") if spatial else "none"
        elif values.shape[1] != self.neurons:
            raise ValueError(
                f"Site {self.site!r} changed from {self.neurons} to {values.shape[1]} neurons."
            )
        if n == 0:
            return
        # NaN/inf: recorded on the device, raised in result() (no host read per batch)
        low, high = values.amin(0), values.amax(0)  # NaN propagates
        if self.__dict__.get("_nonfinite") is None:
            self._nonfinite = DeferredCheck()
        self._nonfinite.record(~(torch.isfinite(low).all() & torch.isfinite(high).all()), 1)
        if self.grid is not None:
            self._rebin(self.grid.extend(low, high))
            bins = self.grid.bin(values)
        else:
            if _fixed(self.edges).device != dev:
                self.edges = _fixed(self.edges).to(dev)
            bins = bin_index(values, _fixed(self.edges))
        active = values > self.active_threshold
        table = self.tables["class"]
        if labels is None:
            member = torch.zeros((n, 1), dtype=torch.int64, device=dev)
        else:
            if self.num_classes is None:  # classes unknown: the table grows (a host read)
                table.grow(int(labels.max()) + 2)
            else:  # checked in result(); out-of-range rows are left out meanwhile
                top = labels.max()
                self._track_first("_label_over", top, top >= self.num_classes)
                labels = torch.where(labels < self.num_classes, labels, -1)
            member = (labels.clamp(min=-1) + 1).unsqueeze(1)
        table.update(values, bins, active, member)
        if self.attributes is not None:
            table_a = self._table("attributes", dev)
            attrs = table_a[batch.index.to(dev).clamp(0, max(table_a.shape[0] - 1, 0))]
            offsets = 2 * torch.arange(attrs.shape[1], device=dev)
            groups = torch.where(attrs >= 0, offsets + attrs, -1)
            self.tables["attribute"].update(values, bins, active, groups)
        counts = active.sum(1)
        self.neurons_per_image.index_add_(0, counts, torch.ones_like(counts))
        if self.reservoirs is not None:
            ids = batch.index.to(dev, torch.int64)
            lab = labels if labels is not None else torch.full_like(ids, -1)
            self.reservoirs[0].update(values.float(), ids)
            self.reservoirs[1].update(lab.unsqueeze(1), ids)
        self.seen += n

    def _rebin(self, mapping: Tensor | None, tables: dict[str, GroupTable] | None = None) -> None:
        if mapping is not None:
            for table in (self.tables if tables is None else tables).values():
                table.hist = apply_map(table.hist, mapping)

    def _signature(self) -> tuple:
        return (
            self.site,
            self.reduction,
            self.channel_dim,
            self.bins,
            self.active_threshold,
            self.sample_size,
            self.seed,
            self.num_classes,
            self.attribute_names,
            self.edges_source,
        )

    def merge(self, other: Selectivity) -> None:
        """Fold in the state of another ``Selectivity`` with the same parameters."""
        if not isinstance(other, Selectivity) or other._signature() != self._signature():
            raise ValueError("Can only merge a Selectivity built with the same parameters.")
        if other.neurons is None:
            return
        if self.neurons is None:
            state = copy.deepcopy(other.__dict__)
            state["seen"] += self.seen
            self.__dict__.update(state)
            return
        others = other.tables
        if self.grid is not None:  # re-bin both sides to the grid of the union of ranges
            assert other.grid is not None  # same signature: same edges_source
            self._rebin(
                self.grid.extend(
                    other.grid.lo.to(self.grid.lo.device), other.grid.hi.to(self.grid.lo.device)
                )
            )
            theirs = copy.deepcopy(other.grid).to(self.grid.lo.device)
            others = {k: copy.copy(t) for k, t in other.tables.items()}
            self._rebin(theirs.extend(self.grid.lo, self.grid.hi), others)
        elif not torch.equal(_fixed(self.edges).cpu(), _fixed(other.edges).cpu()):
            raise ValueError(
                "Cannot merge Selectivity states with different histogram edges; pass the "
                "same edges= to every shard (or leave edges=None for adaptive edges)."
            )
        for key, table in others.items():
            self.tables[key].merge(table)
        self.neurons_per_image += other.neurons_per_image.to(self.neurons_per_image.device)
        if self.reservoirs is not None and other.reservoirs is not None:
            self.reservoirs[0].merge(other.reservoirs[0])
            self.reservoirs[1].merge(other.reservoirs[1])
        self.seen += other.seen
        for name in ("_index_over", "_label_over"):
            if other.__dict__.get(name) is not None:
                theirs = other.__dict__[name].to(self.neurons_per_image.device)
                self._track_first(name, theirs, theirs >= 0)
        if other.__dict__.get("_nonfinite") is not None and other._nonfinite.failed():
            self._nonfinite = other._nonfinite

    # -- result ----------------------------------------------------------------------

    def _check_complete(self, table: Tensor | None) -> None:
        if table is not None and self.seen != table.shape[0]:
            raise ValueError(
                f"labels/attributes have {table.shape[0]} entries but the scan saw "
                f"{self.seen} images; give one entry per dataset image, in dataset order."
            )

    def result(self) -> SelectivityResult:
        """The :class:`SelectivityResult` of everything seen so far (CPU tensors)."""
        if self.neurons is None:
            raise ValueError("Selectivity has seen no images; run it through interpret.scan first.")
        self._check_ranges()
        self._check_complete(self.labels)
        self._check_complete(self.attributes)
        edges = self.grid.edges().cpu() if self.grid is not None else _fixed(self.edges).cpu()
        tables = {k: copy.deepcopy(t).to(torch.device("cpu")) for k, t in self.tables.items()}
        everything = tables["class"].total()
        classes = attributes = None
        if tables["class"].groups > 1:
            labelled = tables["class"].rows(slice(1, None))  # group 0: unlabelled images
            classes = class_selectivity(
                labelled, self.class_names, edges, self.rule, self.allow_empty
            )
        if "attribute" in tables:
            attributes = attribute_selectivity(
                tables["attribute"], self.attribute_names, edges, self.rule, self.allow_empty
            )
        sample = None
        if self.reservoirs is not None and self.reservoirs[0].items is not None:
            vec, lab = (copy.deepcopy(r) for r in self.reservoirs)
            for r in (vec, lab):
                assert r.items is not None  # the two reservoirs fill together
                r.items, r.ids, r.keys = r.items.cpu(), r.ids.cpu(), r.keys.cpu()
            assert vec.items is not None and lab.items is not None
            has_labels = bool((lab.items >= 0).any()) if lab.items.numel() else False
            sample = VectorSample(
                vectors=vec.items.clone(),
                image_index=vec.ids.clone(),
                labels=lab.items[:, 0].clone() if has_labels else None,
                capacity=vec.capacity,
                seen=vec.seen,
                seed=vec.seed,
            )
        return SelectivityResult(
            site=self.site,
            reduction=self.effective_reduction,
            channel_dim=self.channel_dim,
            active_threshold=self.active_threshold,
            num_images=self.seen,
            num_neurons=self.neurons,
            edges=edges,
            edges_source=self.edges_source,
            hist=everything.hist[0],
            mean=everything.mean[0],
            std=(everything.m2[0] / max(self.seen, 1)).sqrt(),
            min=everything.min[0],
            max=everything.max[0],
            sparsity=SparsityResult(
                neurons_per_image=self.neurons_per_image.cpu().clone(),
                images_per_neuron=everything.active[0].clone(),
                active_threshold=self.active_threshold,
                num_images=self.seen,
                num_neurons=self.neurons,
            ),
            per_class=classes,
            per_attribute=attributes,
            sample=sample,
        )


def _fixed(edges: Tensor | None) -> Tensor:
    """The fixed edges of a started ``Selectivity`` without a dyadic grid (never ``None``
    there: ``edges=None`` starts the grid instead)."""
    assert edges is not None
    return edges
