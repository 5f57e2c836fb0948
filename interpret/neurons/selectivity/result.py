"""What :class:`~interpret.neurons.Selectivity` returns, and its Markdown summary.

``SelectivityResult`` holds per-neuron statistics over all images, the sparsity counts,
and for classes and for binary attributes a :class:`GroupSelectivity`: per (group,
neuron) histograms of the group's images and of the rest, moments, activity, the best
one-neuron classifier and the excitatory / inhibitory / uncertain labels.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from interpret.core.frames import column, grid_keys, import_pandas, make_frame, name_column
from interpret.core.naming import renamed
from interpret.core.results import Result
from interpret.neurons.selectivity._tables import GroupTable
from interpret.neurons.selectivity.binary_codes import VectorSample
from interpret.neurons.selectivity.sparseness import SparsityResult
from interpret.neurons.selectivity.stats import (
    LabelRule,
    PercentileLabels,
    ThresholdClassifier,
    best_threshold,
    label,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "GroupSelectivity",
    "SelectivityResult",
    "attribute_selectivity",
    "class_selectivity",
    "group_selectivity",
    "selectivity_summary",
]


@dataclass(frozen=True)
class GroupSelectivity(Result):
    """Selectivity of ``D`` neurons for ``G`` groups (classes or attribute values).

    For a class the *rest* is every other labelled image; for an attribute, the group
    is the images with the attribute (value 1) and the rest the images without it
    (value 0). ``B`` bins, edges in the parent :class:`SelectivityResult`.

    Attributes
    ----------
    names:
        ``G`` group names.
    kind:
        ``"class"`` or ``"attribute"``.
    count, rest_count:
        ``(G,)`` int64 numbers of images.
    hist, rest_hist:
        ``(G, D, B + 2)`` int64 histogram counts over the parent's ``edges``: bin ``0``
        is the underflow (values below the first edge), bin ``B + 1`` the overflow (at or
        above the last edge); ``underflow`` / ``overflow`` read them as ``(G, D)``.
    mean, std, rest_mean, rest_std:
        ``(G, D)`` float64 (population std); NaN for an empty group.
    min, max:
        ``(G, D)`` float64 over the group's images (``+inf`` / ``-inf`` when empty).
    active_fraction, rest_active_fraction:
        ``(G, D)`` share of the images with the neuron active (``> active_threshold``).
    classifier:
        The best one-neuron threshold classifier (``(G, D)`` fields).
    labels:
        Excitatory (+1) / inhibitory (-1) / uncertain (0) by ``rule`` (``(G, D)`` fields;
        the label itself is ``labels.sign``).
    rule:
        The :class:`LabelRule` behind ``labels``.
    """

    names: tuple[str, ...]
    kind: str
    count: Tensor
    rest_count: Tensor
    hist: Tensor
    rest_hist: Tensor
    mean: Tensor
    std: Tensor
    rest_mean: Tensor
    rest_std: Tensor
    min: Tensor
    max: Tensor
    active_fraction: Tensor
    rest_active_fraction: Tensor
    classifier: ThresholdClassifier
    labels: PercentileLabels
    rule: LabelRule

    @property
    def underflow(self) -> Tensor:
        """``(G, D)`` counts of the group's values below the first edge (bin 0 of ``hist``)."""
        return self.hist[..., 0]

    @property
    def overflow(self) -> Tensor:
        """``(G, D)`` counts of the group's values at or above the last edge (last bin)."""
        return self.hist[..., -1]

    def to_frame(self) -> pd.DataFrame:
        """One row per (group, neuron): the long form of every ``(G, D)`` statistic.

        Columns: ``kind``, ``group_index``, ``group`` (the class or attribute name),
        ``neuron``, ``count`` / ``rest_count`` (images), ``mean``, ``std``, ``rest_mean``,
        ``rest_std``, ``min``, ``max``, ``active_fraction``, ``rest_active_fraction``, the
        best one-neuron classifier (``balanced_accuracy``, ``accuracy``, ``threshold``,
        ``direction``) and the label (``label``: +1 excitatory, -1 inhibitory, 0
        uncertain; ``high_threshold``, ``low_threshold``, ``fraction_above``,
        ``fraction_below``).
        """
        g, d = self.mean.shape
        keys = grid_keys((g, d), ("group_index", "neuron"))
        columns: dict[str, Any] = {"kind": self.kind, **keys}
        columns["group"] = name_column(keys["group_index"], self.names)
        columns["count"] = column(self.count)[keys["group_index"]]
        columns["rest_count"] = column(self.rest_count)[keys["group_index"]]
        for name in _GROUP_STATS:
            columns[name] = column(getattr(self, name))
        for name in ("balanced_accuracy", "accuracy", "threshold", "direction"):
            columns[name] = column(getattr(self.classifier, name))
        columns["label"] = column(self.labels.sign)
        for name in ("high_threshold", "low_threshold", "fraction_above", "fraction_below"):
            columns[name] = column(getattr(self.labels, name))
        return make_frame(columns, g * d)

    def group_index(self, group: int | str) -> int:
        """Position of a group given by position or name."""
        if isinstance(group, str):
            if group not in self.names:
                raise ValueError(f"No {self.kind} named {group!r}; known: {list(self.names)}.")
            return self.names.index(group)
        if not -len(self.names) <= int(group) < len(self.names):
            raise ValueError(f"{self.kind} {group} out of range (there are {len(self.names)}).")
        return int(group) % len(self.names)

    def best(self, group: int | str, n: int = 5) -> tuple[Tensor, Tensor]:
        """The ``n`` neurons with the highest single-neuron balanced accuracy for ``group``.

        Returns ``(neurons, balanced_accuracy)``, both ``(n,)``, best first (ties: lower
        neuron index first).
        """
        g = self.group_index(group)
        acc = self.classifier.balanced_accuracy[g].nan_to_num(-1.0)
        order = torch.sort(acc, descending=True, stable=True).indices[:n]
        return order, self.classifier.balanced_accuracy[g, order]

    def label_counts(self) -> Tensor:
        """``(G, 3)`` numbers of excitatory, uncertain and inhibitory neurons per group."""
        lab = self.labels.sign
        return torch.stack([(lab == 1).sum(1), (lab == 0).sum(1), (lab == -1).sum(1)], 1)

    def with_rule(self, rule: LabelRule, edges: Tensor) -> GroupSelectivity:
        """The same statistics labelled by another rule (``edges`` from the parent)."""
        return dataclasses.replace(
            self, labels=label(self.hist, self.rest_hist, edges, rule), rule=rule
        )


_GROUP_STATS = (
    "mean",
    "std",
    "rest_mean",
    "rest_std",
    "min",
    "max",
    "active_fraction",
    "rest_active_fraction",
)


def _std(m2: Tensor, count: Tensor) -> Tensor:
    n = count.to(torch.float64).unsqueeze(1)
    return torch.where(n > 0, (m2.clamp(min=0) / n.clamp(min=1)).sqrt(), torch.nan)


def group_selectivity(
    names: tuple[str, ...],
    kind: str,
    pos: dict[str, Tensor],
    neg: dict[str, Tensor],
    edges: Tensor,
    rule: LabelRule,
) -> GroupSelectivity:
    """Build a :class:`GroupSelectivity` from raw group and rest statistics.

    ``pos`` / ``neg`` hold ``hist`` ``(G, D, B+2)``, ``count`` ``(G,)``, ``mean``,
    ``m2``, ``active`` ``(G, D)`` (and ``min``, ``max`` for ``pos``).
    """
    n_pos = pos["count"].to(torch.float64).unsqueeze(1)
    n_neg = neg["count"].to(torch.float64).unsqueeze(1)
    empty_p, empty_n = n_pos == 0, n_neg == 0
    return GroupSelectivity(
        names=tuple(names),
        kind=kind,
        count=pos["count"].clone(),
        rest_count=neg["count"].clone(),
        hist=pos["hist"],
        rest_hist=neg["hist"],
        mean=torch.where(empty_p, torch.nan, pos["mean"]),
        std=_std(pos["m2"], pos["count"]),
        rest_mean=torch.where(empty_n, torch.nan, neg["mean"]),
        rest_std=_std(neg["m2"], neg["count"]),
        min=pos["min"],
        max=pos["max"],
        active_fraction=pos["active"] / n_pos,
        rest_active_fraction=neg["active"] / n_neg,
        classifier=best_threshold(pos["hist"], neg["hist"], edges),
        labels=label(pos["hist"], neg["hist"], edges, rule),
        rule=rule,
    )


@dataclass(frozen=True)
class SelectivityResult(Result):
    """Selectivity of the neurons at one site over a dataset (DeepID2+, Sec. 5).

    Attributes
    ----------
    site, reduction, channel_dim:
        Where and how neuron values were taken (see
        :func:`~interpret.neurons.selectivity.units.neuron_values`).
    active_threshold:
        A neuron is active on an image when its value is ``> active_threshold``.
    num_images, num_neurons:
        ``N`` images scanned (labelled or not), ``D`` neurons.
    edges:
        ``(D, B + 1)`` float64 histogram edges per neuron (see ``edges_source``).
    edges_source:
        ``"given"`` (by the user) or ``"adaptive"`` (power-of-two grid fitted to the
        range of the data, exact; see :mod:`interpret.neurons.selectivity.analyzer`).
    hist:
        ``(D, B + 2)`` int64 counts over all images: bin ``0`` is the underflow (below
        ``edges[:, 0]``), bin ``B + 1`` the overflow (at or above ``edges[:, -1]``);
        ``underflow`` / ``overflow`` read them as ``(D,)`` and ``outside_fraction`` their
        share.
    mean, std, min, max:
        ``(D,)`` over all images.
    sparsity:
        Active neurons per image and images per neuron.
    per_class, per_attribute:
        Per-class and per-attribute statistics (:class:`GroupSelectivity`), or ``None``
        without labels / attributes. (``classes`` / ``attributes`` are deprecated aliases,
        for one release.)
    sample:
        A uniform sample of the images' neuron vectors (``Selectivity(sample=...)``), for
        :func:`~interpret.neurons.selectivity.binary_codes.compare_codes`; ``None`` when not
        asked for.
    """

    site: str
    reduction: str
    channel_dim: int
    active_threshold: float
    num_images: int
    num_neurons: int
    edges: Tensor
    edges_source: str
    hist: Tensor
    mean: Tensor
    std: Tensor
    min: Tensor
    max: Tensor
    sparsity: SparsityResult
    per_class: GroupSelectivity | None
    per_attribute: GroupSelectivity | None
    sample: VectorSample | None

    renamed_fields: ClassVar[dict[str, str]] = {
        "classes": "per_class",
        "attributes": "per_attribute",
    }
    classes = renamed("classes", "per_class")
    attributes = renamed("attributes", "per_attribute")
    overflow_fraction = renamed("overflow_fraction", "outside_fraction")

    @property
    def underflow(self) -> Tensor:
        """``(D,)`` counts of values below the first edge (bin 0 of ``hist``)."""
        return self.hist[:, 0]

    @property
    def overflow(self) -> Tensor:
        """``(D,)`` counts of values at or above the last edge (the last bin of ``hist``)."""
        return self.hist[:, -1]

    @property
    def outside_fraction(self) -> Tensor:
        """``(D,)`` share of the values outside the edges (underflow plus overflow).

        Large values mean the edges were too narrow: thresholds beyond them are lost.
        """
        out = self.underflow + self.overflow
        return out.to(torch.float64) / max(self.num_images, 1)

    def to_frame(self) -> pd.DataFrame:
        """Selectivity per neuron and group, long form (one row per group and neuron).

        The rows of :meth:`GroupSelectivity.to_frame` for ``per_class`` then
        ``per_attribute`` (column ``kind``: ``"class"`` / ``"attribute"``; the class names
        are those given to ``Selectivity(classes=...)``), after one row per neuron over
        all images (``kind="all"``, ``group`` empty: ``count``, ``mean``, ``std``, ``min``,
        ``max``, ``active_fraction`` and ``outside_fraction``). Columns a kind does not
        have are NaN.
        """
        pd = import_pandas()
        d = self.num_neurons
        active = self.sparsity.images_per_neuron.to(torch.float64) / max(self.num_images, 1)
        overall = make_frame(
            {
                "kind": "all",
                "group_index": -1,
                "group": None,
                "neuron": np.arange(d),
                "count": self.num_images,
                "mean": column(self.mean),
                "std": column(self.std),
                "min": column(self.min),
                "max": column(self.max),
                "active_fraction": column(active),
                "outside_fraction": column(self.outside_fraction),
            },
            d,
        )
        groups = (self.per_class, self.per_attribute)
        parts = [overall] + [g.to_frame() for g in groups if g is not None]
        return pd.concat(parts, ignore_index=True)

    def with_rule(self, rule: LabelRule) -> SelectivityResult:
        """The same result with labels recomputed by another :class:`LabelRule`."""
        return dataclasses.replace(
            self,
            per_class=None
            if self.per_class is None
            else self.per_class.with_rule(rule, self.edges),
            per_attribute=None
            if self.per_attribute is None
            else self.per_attribute.with_rule(rule, self.edges),
        )

    def summary(self, n: int = 3) -> str:
        """Markdown report: sparsity, the ``n`` best neurons per class / attribute, labels."""
        return selectivity_summary(self, n)

    def group(self, kind: str = "class") -> GroupSelectivity:
        """``self.per_class`` (``kind="class"``) or ``self.per_attribute``, with a clear error."""
        if kind not in ("class", "attribute"):
            raise ValueError(f"kind must be 'class' or 'attribute', not {kind!r}.")
        found = self.per_class if kind == "class" else self.per_attribute
        if found is None:
            hint = "labels" if kind == "class" else "attributes=..."
            raise ValueError(f"This result has no {kind} statistics; scan with {hint}.")
        return found


def _check_groups(
    names: tuple[str, ...], count: Tensor, rest: Tensor, kind: str, allow_empty: bool
) -> None:
    if allow_empty:
        return
    empty = [names[i] for i in torch.nonzero((count == 0) | (rest == 0)).flatten().tolist()]
    if empty:
        what = "class" if kind == "class" else "attribute value (with and without)"
        raise ValueError(
            f"No images (or no other images) for {what} {empty[:10]}: one-vs-rest "
            "statistics need both. Remap the labels to the classes present, pass "
            "classes= with only those, or Selectivity(..., allow_empty=True) for NaN."
        )


def class_selectivity(
    t: GroupTable,
    names: tuple[str, ...] | None,
    edges: Tensor,
    rule: LabelRule,
    allow_empty: bool,
) -> GroupSelectivity:
    """Class statistics from a table of ``K`` classes (``names``: ``K`` or ``None``)."""
    k = max(t.groups, len(names) if names else 0)
    t.grow(k)
    names = names or tuple(str(i) for i in range(k))
    n, count = t.count.sum(), t.count
    rest_n = n - count
    total = (t.count.unsqueeze(1) * t.mean).sum(0)  # sum of all labelled values
    rest_mean = (total - count.unsqueeze(1) * t.mean) / rest_n.clamp(min=1).unsqueeze(1)
    grand = total / n.clamp(min=1)
    m2_all = (t.m2 + count.unsqueeze(1) * (t.mean - grand) ** 2).sum(0)
    nk, nr = count.unsqueeze(1).double(), rest_n.unsqueeze(1).double()
    between = nk * nr / n.clamp(min=1) * (t.mean - rest_mean) ** 2
    rest_m2 = (m2_all - t.m2 - between).clamp(min=0)
    _check_groups(names, count, rest_n, "class", allow_empty)
    pos = {
        "hist": t.hist,
        "count": count,
        "mean": t.mean,
        "m2": t.m2,
        "active": t.active,
        "min": t.min,
        "max": t.max,
    }
    neg = {
        "hist": t.hist.sum(0, keepdim=True) - t.hist,
        "count": rest_n,
        "mean": rest_mean,
        "m2": rest_m2,
        "active": t.active.sum(0, keepdim=True) - t.active,
    }
    return group_selectivity(names, "class", pos, neg, edges, rule)


def attribute_selectivity(
    t: GroupTable, names: tuple[str, ...], edges: Tensor, rule: LabelRule, allow_empty: bool
) -> GroupSelectivity:
    """Attribute statistics from a table of ``2A`` groups (without / with, per attribute)."""

    def take(rows: slice) -> dict[str, Tensor]:
        return {
            "hist": t.hist[rows],
            "count": t.count[rows],
            "mean": t.mean[rows],
            "m2": t.m2[rows],
            "active": t.active[rows],
            "min": t.min[rows],
            "max": t.max[rows],
        }

    pos, neg = take(slice(1, None, 2)), take(slice(0, None, 2))
    _check_groups(names, pos["count"], neg["count"], "attribute", allow_empty)
    return group_selectivity(names, "attribute", pos, neg, edges, rule)


# A report a person can read from a SelectivityResult (Markdown text).


def _group_table(group: GroupSelectivity, n: int) -> list[str]:
    title = "Class" if group.kind == "class" else "Attribute"
    lines = [
        f"| {title} | images | rest | best neurons (balanced accuracy) | excitatory | inhibitory |",
        "|---|---:|---:|---|---:|---:|",
    ]
    counts = group.label_counts()
    for g, name in enumerate(group.names):
        neurons, acc = group.best(g, n)
        best = ", ".join(
            f"#{int(j)} {float(a):.1%}{'+' if int(group.classifier.direction[g, j]) > 0 else '-'}"
            for j, a in zip(neurons, acc)
        )
        lines.append(
            f"| {name} | {int(group.count[g])} | {int(group.rest_count[g])} | {best} | "
            f"{int(counts[g, 0])} | {int(counts[g, 2])} |"
        )
    rule = group.rule
    lines.append("")
    lines.append(
        f"Best neurons: `+` fires for the {group.kind} (x >= threshold), `-` is silent for it. "
        f"Balanced accuracy: mean of the hit rates on the {group.kind} and on the rest, at the "
        "best threshold (bin edges). Labels: excitatory if "
        f">= {rule.fraction:.0%} of the {group.kind}'s images are above the "
        f"{rule.percentile:.0%} quantile of the rest (inhibitory: below the "
        f"{1 - rule.percentile:.0%} quantile), quantiles rounded outwards to bin edges."
    )
    return lines


def selectivity_summary(result: SelectivityResult, n: int = 3) -> str:
    """Markdown: the site, sparsity, then per class / attribute the ``n`` best neurons with
    their single-neuron balanced accuracy and the numbers of excitatory / inhibitory
    neurons; a warning when many values fell outside the histogram edges."""
    lines = [
        f"## Selectivity of `{result.site}`",
        "",
        f"{result.num_neurons} neurons (reduction: {result.reduction}) over "
        f"{result.num_images} images; {result.edges.shape[1] - 1} bins per neuron "
        f"({result.edges_source} edges).",
        "",
        f"Sparsity: {result.sparsity.summary()}.",
    ]
    outside = result.outside_fraction
    wide = int((outside > 0.05).sum())
    if wide:
        lines += [
            "",
            f"Warning: for {wide} neurons more than 5% of the values fell outside the "
            "histogram edges (thresholds there are lost); give wider edges.",
        ]
    for group in (result.per_class, result.per_attribute):
        if group is not None:
            lines += ["", *_group_table(group, n)]
    return "\n".join(lines) + "\n"
