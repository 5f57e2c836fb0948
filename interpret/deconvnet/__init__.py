"""Zeiler & Fergus (2013) deconvnet: switches, projections, top-k search and figures.

"Visualizing and Understanding Convolutional Networks", ECCV 2014 (arXiv:1311.2901).
To examine one activation, every other activation of its layer is set to zero and the
maps are passed down through a deconvnet attached to the convnet: unpool with the
switches recorded during pooling, rectify, filter with the transposed filters; repeat to
pixel space.

- :func:`record_switches`, :func:`unpool`: pooling switches (hooks; the model is unchanged).
- :func:`project`: projections of units, strongest units, whole maps or a chosen set,
  batched; ``route="reverse"`` (explicit walk, chain CNNs, each unit walked within its
  receptive field) or ``"gradient"`` (autograd with rectified backward signals, any graph);
  ``rule="deconvnet"`` (the paper) or ``"guided"`` (guided backpropagation, Springenberg
  et al. 2015; ``route="guided"`` for short), on either route.
- :func:`plan_projection`: the route, rule and chain of a site, resolved once
  (:class:`ProjectionPlan`).
- :func:`image_specificity`: how much a unit's top-k projections belong to their own
  images (own-crop minus other-crop agreement, the projection read as a template).
- :class:`TopActivations` (an analyzer for :func:`interpret.scan`) and
  :func:`project_top`: the top-9 per channel over a dataset with projections and patches.
- :func:`evolution`, :func:`layer_filters`: Fig. 4 and Fig. 6 from training checkpoints.
- Figures: :mod:`interpret.deconvnet.plot`.

Conventions
-----------
- Sign: a projection is the gradient of the seeded activations with respect to the
  input, except that every rectifier passes ``relu`` of the signal it receives; it equals
  Captum's ``Deconvolution``/``NeuronDeconvolution`` (which rectify ``nn.ReLU`` modules
  only; pass ``rectifiers=(nn.ReLU,)`` to match Captum on models with ReLU6). Guided:
  every rectifier passes ``relu`` of its gradient (Captum's ``GuidedBackprop``); for
  ReLU6 that gradient carries the mask ``0 < x < 6``.
- Seed: the activation's own value (the paper: the layer with all other activations
  zeroed), *unlike Captum*, whose neuron methods seed with 1; ``seed="one"`` gives
  Captum's unit gradient. Biases are never used.
- Overlapping pools: where windows share a maximum, unpooling adds their contributions
  (as the gradient of max pooling does).
- Non-rectifier layers (batch norm, contrast normalisation, sigmoid, SiLU, additions)
  pass the signal back as their gradient; functional rectifiers (``F.relu``) are found in
  the autograd graph and refused unless ``functional="rectify"`` or ``"gradient"``.
- A module called twice: ``"name"`` is its first call and ``"name#1"`` its second (Captum
  uses the last call).
- Windows and boxes are ``(top, left, bottom, right)`` in input pixels, half-open, not
  clipped to the image.
"""

from interpret.deconvnet.evolution import (
    EvolutionResult,
    FiltersResult,
    evolution,
    layer_filters,
    load_checkpoint,
)
from interpret.deconvnet.gradient import RELU_FAMILY, GradientPass, find_rectifier_nodes
from interpret.deconvnet.patches import crop_windows, receptive_windows, support_windows
from interpret.deconvnet.plan import ProjectionPlan, plan_projection
from interpret.deconvnet.project import ProjectionResult, choose_route, project, project_units
from interpret.deconvnet.reverse import ReverseRecord, record_chain, reverse_walk
from interpret.deconvnet.specificity import image_specificity, specificity_matrix
from interpret.deconvnet.switches import Switches, SwitchRecord, record_switches, unpool
from interpret.deconvnet.top import TopActivations, TopActivationsResult
from interpret.deconvnet.top_projections import TopProjectionsResult, project_top

__all__ = [
    "RELU_FAMILY",
    "EvolutionResult",
    "FiltersResult",
    "GradientPass",
    "ProjectionPlan",
    "ProjectionResult",
    "ReverseRecord",
    "SwitchRecord",
    "Switches",
    "TopActivations",
    "TopActivationsResult",
    "TopProjectionsResult",
    "choose_route",
    "crop_windows",
    "evolution",
    "find_rectifier_nodes",
    "image_specificity",
    "layer_filters",
    "load_checkpoint",
    "plan_projection",
    "project",
    "project_top",
    "project_units",
    "receptive_windows",
    "record_chain",
    "record_switches",
    "reverse_walk",
    "specificity_matrix",
    "support_windows",
    "unpool",
]
