"""Single-neuron classifiers and excitatory / inhibitory labels, from histograms.

Everything here works on per-neuron histograms with fixed edges (as kept by
:class:`~interpret.neurons.selectivity.Selectivity`): counts of shape ``(..., D, B + 2)``
over edges ``(D, B + 1)``, bin ``0`` holding values below ``edges[:, 0]``, bin ``j``
(``1 <= j <= B``) the half-open interval ``[edges[:, j-1], edges[:, j])`` and bin
``B + 1`` the values at or above ``edges[:, B]``. So for every edge ``e_i``

* ``#{x >= e_i} = counts[..., i + 1:].sum(-1)`` and ``#{x < e_i} = counts[..., : i + 1].sum(-1)``

exactly. Thresholds are therefore *restricted to the bin edges*: the accuracies and
labels below are exact for that threshold set (with fine bins, close to the continuum).

Reference: Y. Sun, X. Wang, X. Tang, "Deeply learned face representations are sparse,
selective, and robust", CVPR 2015 (DeepID2+), Sec. 5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from interpret.core.naming import renamed
from interpret.core.results import Result

__all__ = ["LabelRule", "ThresholdClassifier", "PercentileLabels", "best_threshold", "label"]

EXCITATORY, UNCERTAIN, INHIBITORY = 1, 0, -1


@dataclass(frozen=True)
class LabelRule(Result):
    """The rule labelling a (neuron, class) pair excitatory, inhibitory or uncertain.

    With ``p = percentile`` and ``q = fraction``, over the images of the class ("class")
    and all other labelled images ("rest"):

    * **excitatory** (+1) if at least ``q`` of the class images have ``x >= t_hi``,
      where ``t_hi`` is the smallest bin edge with ``#rest{x < t_hi} >= p * n_rest``
      (the rest's ``p``-quantile rounded *up* to an edge);
    * **inhibitory** (-1) if at least ``q`` of the class images have ``x < t_lo``,
      where ``t_lo`` is the largest bin edge with ``#rest{x < t_lo} <= (1 - p) * n_rest``
      (the rest's ``(1 - p)``-quantile rounded *down* to an edge);
    * **uncertain** (0) otherwise, and for classes without images.

    Rounding to edges only makes both labels harder to get. With ``p, q > 0.5`` a pair
    cannot be both. If no edge qualifies (the edges do not cover the rest's quantile),
    the label cannot be given (its threshold is ``+inf`` / ``-inf``).
    """

    percentile: float = 0.9
    fraction: float = 0.9

    def __post_init__(self) -> None:
        for name in ("percentile", "fraction"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.5 < float(value) <= 1.0:
                raise ValueError(f"LabelRule.{name} must be in (0.5, 1], got {value!r}.")


@dataclass(frozen=True)
class ThresholdClassifier(Result):
    """The best one-neuron, one-threshold classifier of a class against the rest.

    All fields ``(G, D)`` (groups x neurons). ``direction`` +1 predicts the class when
    ``x >= threshold``, -1 when ``x < threshold``. ``balanced_accuracy`` is the mean of
    the true positive and true negative rates at that threshold (maximised over both
    directions and every bin edge; ties go to direction +1, then the lowest edge);
    ``accuracy`` is the plain accuracy of the same classifier on the class and rest
    images. NaN (and direction 0) where the class or the rest has no images.
    """

    balanced_accuracy: Tensor
    accuracy: Tensor
    threshold: Tensor
    direction: Tensor


@dataclass(frozen=True)
class PercentileLabels(Result):
    """Labels by a :class:`LabelRule`; every field ``(G, D)``.

    ``sign``: int8, +1 excitatory, -1 inhibitory, 0 uncertain (``labels`` is its
    deprecated alias, for one release). ``high_threshold`` /
    ``low_threshold``: the edges ``t_hi`` / ``t_lo`` of the rule (``+inf`` / ``-inf``
    where none qualifies). ``fraction_above``: share of the class images with
    ``x >= t_hi``; ``fraction_below``: share with ``x < t_lo``.
    """

    sign: Tensor
    high_threshold: Tensor
    low_threshold: Tensor
    fraction_above: Tensor
    fraction_below: Tensor

    renamed_fields: ClassVar[dict[str, str]] = {"labels": "sign"}
    labels = renamed("labels", "sign")


def _check(pos: Tensor, neg: Tensor, edges: Tensor) -> None:
    if pos.shape != neg.shape:
        raise ValueError(f"Class and rest counts differ in shape: {pos.shape} vs {neg.shape}.")
    if edges.ndim != 2 or pos.shape[-2:] != (edges.shape[0], edges.shape[1] + 1):
        raise ValueError(
            f"Counts (..., D, B+2) = {tuple(pos.shape)} do not fit edges (D, B+1) = "
            f"{tuple(edges.shape)}."
        )


def _at_least(counts: Tensor) -> Tensor:
    """``#{x >= e_i}`` for every edge: ``(..., B + 1)`` from ``(..., B + 2)`` counts."""
    return counts.flip(-1).cumsum(-1).flip(-1)[..., 1:]


def _below(counts: Tensor) -> Tensor:
    """``#{x < e_i}`` for every edge: ``(..., B + 1)``."""
    return counts.cumsum(-1)[..., :-1]


def best_threshold(pos: Tensor, neg: Tensor, edges: Tensor) -> ThresholdClassifier:
    """Best balanced-accuracy threshold per (group, neuron), thresholds at bin edges.

    Parameters
    ----------
    pos, neg:
        ``(G, D, B + 2)`` histogram counts of the class images and of the rest.
    edges:
        ``(D, B + 1)`` bin edges per neuron.
    """
    _check(pos, neg, edges)
    pos, neg = pos.to(torch.float64), neg.to(torch.float64)
    n_pos, n_neg = pos.sum(-1, keepdim=True), neg.sum(-1, keepdim=True)  # (G, D, 1)
    tp, fp = _at_least(pos), _at_least(neg)  # (G, D, B+1): predicted "class" when x >= e_i
    with torch.no_grad():
        tpr = tp / n_pos
        tnr = 1.0 - fp / n_neg
        ba = (tpr + tnr) / 2
        scores = torch.cat([ba, 1.0 - ba], -1)  # direction +1 edges first, then -1
        best, arg = scores.nan_to_num(-1.0).max(-1)  # first maximum wins ties
    nedges = edges.shape[1]
    direction = torch.where(arg < nedges, 1, -1).to(torch.int8)
    edge = arg % nedges
    threshold = edges.expand(pos.shape[0], -1, -1).gather(-1, edge.unsqueeze(-1)).squeeze(-1)
    tp_at = tp.gather(-1, edge.unsqueeze(-1)).squeeze(-1)
    fp_at = fp.gather(-1, edge.unsqueeze(-1)).squeeze(-1)
    n_p, n_n = n_pos.squeeze(-1), n_neg.squeeze(-1)
    correct = torch.where(direction > 0, tp_at + (n_n - fp_at), (n_p - tp_at) + fp_at)
    accuracy = correct / (n_p + n_n)
    empty = (n_p == 0) | (n_n == 0)
    nan = torch.tensor(math.nan, dtype=torch.float64)
    return ThresholdClassifier(
        balanced_accuracy=torch.where(empty, nan, best),
        accuracy=torch.where(empty, nan, accuracy),
        threshold=torch.where(empty, nan, threshold),
        direction=torch.where(empty, torch.zeros_like(direction), direction),
    )


def label(pos: Tensor, neg: Tensor, edges: Tensor, rule: LabelRule) -> PercentileLabels:
    """Excitatory / inhibitory / uncertain labels per (group, neuron) by ``rule``.

    ``pos``, ``neg``: ``(G, D, B + 2)`` counts (class, rest); ``edges``: ``(D, B + 1)``.
    See :class:`LabelRule` for the rule.
    """
    _check(pos, neg, edges)
    pos, neg = pos.to(torch.float64), neg.to(torch.float64)
    n_pos, n_neg = pos.sum(-1), neg.sum(-1)  # (G, D)
    rest_below = _below(neg)  # (G, D, B+1), non-decreasing along edges
    p = float(rule.percentile)
    # integer-safe comparisons: #below >= p * n  and  #below <= (1 - p) * n
    hi_ok = rest_below >= p * n_neg.unsqueeze(-1) - 1e-9
    lo_ok = rest_below <= (1.0 - p) * n_neg.unsqueeze(-1) + 1e-9
    nedges = edges.shape[1]
    idx = torch.arange(nedges)
    hi_idx = torch.where(hi_ok, idx, nedges).amin(-1)  # first qualifying edge, or none
    lo_idx = torch.where(lo_ok, idx, -1).amax(-1)  # last qualifying edge, or none
    edges_g = edges.expand(pos.shape[0], -1, -1)
    inf = torch.tensor(math.inf, dtype=torch.float64)
    has_hi, has_lo = hi_idx < nedges, lo_idx >= 0
    high = torch.where(
        has_hi, edges_g.gather(-1, hi_idx.clamp(max=nedges - 1).unsqueeze(-1)).squeeze(-1), inf
    )
    low = torch.where(
        has_lo, edges_g.gather(-1, lo_idx.clamp(min=0).unsqueeze(-1)).squeeze(-1), -inf
    )
    above = _at_least(pos).gather(-1, hi_idx.clamp(max=nedges - 1).unsqueeze(-1)).squeeze(-1)
    below = _below(pos).gather(-1, lo_idx.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    above = torch.where(has_hi, above, 0.0) / n_pos
    below = torch.where(has_lo, below, 0.0) / n_pos
    q = float(rule.fraction)
    valid = (n_pos > 0) & (n_neg > 0)
    labels = torch.zeros(pos.shape[:-1], dtype=torch.int8)
    labels[valid & (above >= q - 1e-12)] = EXCITATORY
    labels[valid & (below >= q - 1e-12)] = INHIBITORY
    nan = torch.tensor(math.nan, dtype=torch.float64)
    return PercentileLabels(
        sign=labels,
        high_threshold=torch.where(valid, high, nan),
        low_threshold=torch.where(valid, low, nan),
        fraction_above=torch.where(valid, above, nan),
        fraction_below=torch.where(valid, below, nan),
    )
