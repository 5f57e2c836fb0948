"""Neurons: what single units respond to.

* Selectivity (DeepID2+, Sun, Wang & Tang 2015): per-class histograms, single-neuron
  accuracy, excitatory / inhibitory labels (:class:`Selectivity`), sparsity, binary
  codes (:func:`compare_codes`), channel relevance to a region (:class:`ChannelRelevance`,
  FCNT, Wang et al. 2015). Figures in :mod:`interpret.neurons.plot`.
* Activation maximization (:func:`maximize`, objectives, parameterizations, transforms,
  regularizers, presets). Figures in :mod:`interpret.neurons.plot_maximize`.
"""

from interpret.neurons.binary_codes import (
    CodeComparison,
    VectorSample,
    binarize,
    compare_codes,
    pairwise_distances,
    retrieval_accuracy,
    verification_accuracy,
)
from interpret.neurons.edges import calibrate_edges, edges_from_values
from interpret.neurons.maximize import (
    MaximizeConfig,
    MaximizeResult,
    count_channels,
    evaluate_objective,
    maximize,
)
from interpret.neurons.objectives import (
    Objective,
    batch_of,
    channel,
    class_logit,
    class_probability,
    direction,
    diversity,
    neuron,
)
from interpret.neurons.parameterization import (
    COLOR_CORRELATION_SVD_SQRT,
    FourierImage,
    PixelImage,
    decorrelate_colors,
    fourier_frequencies,
)
from interpret.neurons.plot_maximize import plot_maximize_curve, plot_maximize_grid
from interpret.neurons.presets import PRESETS, preset
from interpret.neurons.regularizers import (
    ClipSmallContribution,
    ClipSmallNorm,
    GaussianBlur,
    L2Decay,
    L2Penalty,
    Penalty,
    StepRegularizer,
    TotalVariation,
    gaussian_blur,
)
from interpret.neurons.relevance import ChannelRelevance, ChannelRelevanceResult, predict_mask
from interpret.neurons.selectivity import Selectivity
from interpret.neurons.selectivity_result import GroupSelectivity, SelectivityResult
from interpret.neurons.selectivity_stats import (
    LabelRule,
    PercentileLabels,
    ThresholdClassifier,
    best_threshold,
    label,
)
from interpret.neurons.sparsity import SparsityResult, sparsity
from interpret.neurons.summary import selectivity_summary
from interpret.neurons.transforms import (
    Jitter,
    Pad,
    RandomRotate,
    RandomScale,
    Resize,
    Transform,
    apply_transforms,
    lucid_transforms,
)
from interpret.neurons.units import neuron_values

__all__ = [
    # selectivity, sparsity, binary codes, relevance
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
    "predict_mask",
    "retrieval_accuracy",
    "selectivity_summary",
    "sparsity",
    "verification_accuracy",
    # activation maximization
    "COLOR_CORRELATION_SVD_SQRT",
    "ClipSmallContribution",
    "ClipSmallNorm",
    "FourierImage",
    "GaussianBlur",
    "Jitter",
    "L2Decay",
    "L2Penalty",
    "MaximizeConfig",
    "MaximizeResult",
    "Objective",
    "PRESETS",
    "Pad",
    "Penalty",
    "PixelImage",
    "RandomRotate",
    "RandomScale",
    "Resize",
    "StepRegularizer",
    "TotalVariation",
    "Transform",
    "apply_transforms",
    "batch_of",
    "channel",
    "class_logit",
    "class_probability",
    "count_channels",
    "decorrelate_colors",
    "direction",
    "diversity",
    "evaluate_objective",
    "fourier_frequencies",
    "gaussian_blur",
    "lucid_transforms",
    "maximize",
    "neuron",
    "plot_maximize_curve",
    "plot_maximize_grid",
    "preset",
]
