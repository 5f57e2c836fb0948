"""Selectivity of single neurons across classes (DeepID2+, Sun, Wang & Tang, CVPR 2015).

The room, one module per part:

* :mod:`~interpret.neurons.selectivity.analyzer` -- :class:`Selectivity`, the streaming
  analyzer (per-class histograms on a shared dyadic grid, ``update``/``merge``/``result``);
* :mod:`~interpret.neurons.selectivity.result` -- :class:`SelectivityResult`,
  :class:`GroupSelectivity` and the Markdown :func:`selectivity_summary`;
* :mod:`~interpret.neurons.selectivity.stats` -- the best one-neuron threshold classifier
  and the excitatory / inhibitory labels (:class:`LabelRule`);
* :mod:`~interpret.neurons.selectivity.units` (what a neuron is at a site),
  :mod:`~interpret.neurons.selectivity.edges` (fixed histogram edges),
  :mod:`~interpret.neurons.selectivity.sparseness` (:func:`sparsity`),
  :mod:`~interpret.neurons.selectivity.binary_codes` (:func:`compare_codes`),
  :mod:`~interpret.neurons.selectivity.relevance` (:class:`ChannelRelevance`, FCNT, Wang
  et al. 2015);
* :mod:`~interpret.neurons.selectivity.plot` -- figures from the results.

The public names are re-exported here and from :mod:`interpret.neurons`.
"""

from interpret.neurons.selectivity.analyzer import Selectivity
from interpret.neurons.selectivity.binary_codes import (
    CodeComparison,
    VectorSample,
    binarize,
    compare_codes,
    pairwise_distances,
    retrieval_accuracy,
    verification_accuracy,
)
from interpret.neurons.selectivity.edges import calibrate_edges, edges_from_values
from interpret.neurons.selectivity.plot import (
    plot_best_neurons,
    plot_class_means,
    plot_label_map,
    plot_neuron_histograms,
    plot_sparsity,
)
from interpret.neurons.selectivity.relevance import (
    ChannelRelevance,
    ChannelRelevanceResult,
    predict_mask,
)
from interpret.neurons.selectivity.result import (
    GroupSelectivity,
    SelectivityResult,
    selectivity_summary,
)
from interpret.neurons.selectivity.sparseness import SparsityResult, sparsity
from interpret.neurons.selectivity.stats import (
    LabelRule,
    PercentileLabels,
    ThresholdClassifier,
    best_threshold,
    label,
)
from interpret.neurons.selectivity.units import neuron_values

__all__ = [
    "ChannelRelevance",
    "ChannelRelevanceResult",
    "CodeComparison",
    "GroupSelectivity",
    "LabelRule",
    "PercentileLabels",
    "Selectivity",
    "SelectivityResult",
    "SparsityResult",
    "ThresholdClassifier",
    "VectorSample",
    "best_threshold",
    "binarize",
    "calibrate_edges",
    "compare_codes",
    "edges_from_values",
    "label",
    "neuron_values",
    "pairwise_distances",
    "plot_best_neurons",
    "plot_class_means",
    "plot_label_map",
    "plot_neuron_histograms",
    "plot_sparsity",
    "predict_mask",
    "retrieval_accuracy",
    "selectivity_summary",
    "sparsity",
    "verification_accuracy",
]
